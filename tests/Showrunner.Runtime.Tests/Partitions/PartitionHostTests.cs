using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Showrunner.Core.Actions;
using Showrunner.Core.Partitioning;
using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.Partitions;
using Showrunner.Storage.Sqlite;
using Showrunner.Testing;

namespace Showrunner.Runtime.Tests.Partitions;

/// <summary>
/// The generic partition host with a module that only knows its public seam (the counter module):
/// entity-keyed routing by the documented hash, durability through the shared group commit,
/// restart by snapshot + replay of the module's own log, supervision (a throwing apply fail-stops
/// the host and reloads the module's partitions), and live events sharing one host with it.
/// </summary>
[Trait("Category", "Component")]
public sealed class PartitionHostTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private readonly TempDirectory _directory = new();
    private readonly ManualClock _clock = new(Start);

    public void Dispose() => _directory.Dispose();

    private SqliteActionStore OpenStore(int partitions)
    {
        var store = new SqliteActionStore(new SqliteStoreOptions { DataDirectory = _directory.Path, ReadConnections = 2 }, _clock);
        store.Open(partitions);
        return store;
    }

    private static PartitionHostOptions Options(int snapshotEvery = 4_096) =>
        new() { PartitionCount = 8, ExecutorCount = 2, SnapshotEveryItems = snapshotEvery };

    private static async Task WaitReadyAsync(PartitionHost host)
    {
        var deadline = DateTime.UtcNow + Bound;
        while (!host.CheckReadiness().IsReady)
        {
            Assert.True(DateTime.UtcNow < deadline, "not ready again within the bound: " + host.CheckReadiness().Detail);
            await Task.Delay(10);
        }
    }

    [Theory]
    [InlineData("live", "p-1", 14490199597715367267UL)]
    [InlineData("live", "player-42", 17182372009678694948UL)]
    [InlineData("counter", "p-1", 1628675218405623038UL)]
    [InlineData("counter", "k-7", 15631115288450986434UL)]
    [InlineData("chat", "p-1", 9873471469632724968UL)]
    public void Routing_is_the_documented_stable_hash_of_module_and_key(string module, string key, ulong expected)
    {
        // fmix64(FNV-1a-64(prefix(module) ‖ UTF-8(key))), prefix("live") empty, else name ‖ 0x00:
        // part of the on-disk contract, so pinned by value (docs/internals/runtime.md, "Routing").
        Assert.Equal(expected, EntityRouter.Hash(module, key));
        Assert.Equal((int)(expected % 256), new EntityRouter(256).PartitionOf(module, key));
    }

    [Fact]
    public void The_live_module_routes_players_exactly_as_the_player_router_did()
    {
        var router = new EntityRouter(256);
        var players = new PartitionRouter(256);
        for (int i = 0; i < 1_000; i++)
        {
            string player = "player-" + i;
            Assert.Equal(players.PartitionOf(player), router.PartitionOf("live", player));
        }
        // Other modules are salted with their name: the same key does not follow the player's partition everywhere.
        Assert.Contains(Enumerable.Range(0, 100), i => router.PartitionOf("counter", "player-" + i) != players.PartitionOf("player-" + i));
    }

    [Fact]
    public void A_module_name_outside_the_allowed_alphabet_or_taken_twice_is_refused()
    {
        using var store = OpenStore(8);
        var host = new PartitionHost(Options(), store, _clock, NullLogger.Instance);
        host.AddModule(new CounterModule(store, _clock));
        Assert.Throws<ArgumentException>(() => host.AddModule(new CounterModule(store, _clock)));
        Assert.False(EntityRouter.IsValidModuleName("Chat"));
        Assert.False(EntityRouter.IsValidModuleName("a\0b"));
        Assert.False(EntityRouter.IsValidModuleName(""));
        Assert.True(EntityRouter.IsValidModuleName("chat-v2_x"));
    }

    [Fact]
    public void The_seam_a_module_is_built_from_is_public()
    {
        // A module lives in its own assembly: everything it needs must be reachable without InternalsVisibleTo.
        Type[] seam = [typeof(IPartitionModule), typeof(IModulePartition), typeof(PartitionWork), typeof(CommitGroup), typeof(ICommitWrite),
            typeof(PartitionHost), typeof(PartitionHostOptions), typeof(Admission), typeof(EntityRouter), typeof(Storage.ModuleLogRow),
            typeof(Storage.ModuleSnapshotRow), typeof(Storage.IModuleLogStore), typeof(Storage.CommitBatch)];
        Assert.All(seam, type => Assert.True(type.IsPublic, type.Name + " is not public"));
        Assert.All(typeof(CounterModule).Assembly.GetTypes().Where(t => t.Namespace == typeof(CounterModule).Namespace && t.Name.StartsWith("Counter", StringComparison.Ordinal)),
            type => Assert.True(type.IsPublic || type.IsNested, type.Name + " is not public"));
    }

    [Fact]
    public async Task Counter_increments_are_routed_by_their_key_durable_and_survive_a_restart_by_snapshot_and_replay()
    {
        var expected = new Dictionary<string, long>();
        using (var store = OpenStore(8))
        {
            var counter = new CounterModule(store, _clock);
            var host = new PartitionHost(Options(snapshotEvery: 3), store, _clock, NullLogger.Instance);
            host.AddModule(counter);
            await host.StartAsync();
            var adds = new List<Task<long>>();
            for (int i = 0; i < 60; i++)
            {
                string key = "k-" + (i % 7);
                expected[key] = expected.GetValueOrDefault(key) + i;
                adds.Add(Counters.AddAsync(host, key, i, Bound));
            }
            await Task.WhenAll(adds).WaitAsync(Bound);
            foreach (var (key, total) in expected)
            {
                Assert.Equal(total, await Counters.ReadAsync(host, key));
            }
            // Each key's records are in its own partition's log, numbered without gaps.
            Assert.Equal(60, Enumerable.Range(0, 8).Sum(p => store.Modules.Head(CounterModule.ModuleName, p)));
            Assert.All(expected.Keys, key => Assert.Contains(store.Modules.ReadLog(CounterModule.ModuleName, host.PartitionOf("counter", key), 0, 100),
                r => Increment.Decode(r.Payload).Key == key));
            // A crash after some snapshots: the increments from here on, and the stop, write no
            // snapshot, so the restart must replay them from the module's log.
            counter.TakeSnapshots = false;
            for (int i = 0; i < 7; i++)
            {
                string key = "k-" + i;
                expected[key] += 100;
                Assert.Equal(expected[key], await Counters.AddAsync(host, key, 100, Bound));
            }
            await host.DisposeAsync();
        }
        using (var store = OpenStore(8))
        {
            var counter = new CounterModule(store, _clock);
            var host = new PartitionHost(Options(), store, _clock, NullLogger.Instance);
            host.AddModule(counter);
            await host.StartAsync();
            Assert.True(counter.RestoredPartitions > 0, "no partition was restored from a snapshot");
            Assert.True(counter.ReplayedRecords > 0, "no record was replayed after the snapshots");
            Assert.True(counter.ReplayedRecords is >= 7 and < 67, $"{counter.ReplayedRecords} records replayed: not the tail after the snapshots");
            foreach (var (key, total) in expected)
            {
                Assert.Equal(total, await Counters.ReadAsync(host, key));
            }
            Assert.Equal(expected["k-3"] + 1, await Counters.AddAsync(host, "k-3", 1, Bound));
            await host.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_throwing_apply_fails_its_sender_stops_the_host_and_reloads_the_modules_partitions_from_the_store()
    {
        using var store = OpenStore(8);
        var counter = new CounterModule(store, _clock);
        var host = new PartitionHost(Options(), store, _clock, NullLogger.Instance);
        host.AddModule(counter);
        await host.StartAsync();
        await using var _ = host;
        Assert.Equal(5, await Counters.AddAsync(host, "k-1", 5, Bound));
        Assert.Equal(1, counter.Loads);

        var poison = Counters.AddAsync(host, Increment.PoisonKey, 1, Bound);
        var fault = await Assert.ThrowsAsync<ExecutorFaultException>(() => poison);
        Assert.IsType<InvalidOperationException>(fault.InnerException);
        await WaitReadyAsync(host);

        // Every executor reloaded its partitions of the module from the store, and nothing of the poison was applied.
        Assert.Equal(1 + host.ExecutorCount, counter.Loads);
        Assert.Equal(0, store.Modules.Head(CounterModule.ModuleName, host.PartitionOf("counter", Increment.PoisonKey)));
        Assert.Equal(5, await Counters.ReadAsync(host, "k-1"));
        // The partition continues its log where the store's ends: no seq lost or repeated.
        int partition = host.PartitionOf("counter", "k-1");
        long head = store.Modules.Head(CounterModule.ModuleName, partition);
        Assert.Equal(7, await Counters.AddAsync(host, "k-1", 2, Bound));
        Assert.Equal(head + 1, store.Modules.Head(CounterModule.ModuleName, partition));
    }

    [Fact]
    public async Task Live_events_and_the_counter_share_one_host_its_group_commit_and_its_restart()
    {
        var ingest = new IngestOptions { PartitionCount = 8, ExecutorCount = 2 };
        using (var store = OpenStore(8))
        {
            var pipeline = new IngestPipeline(ingest, store, _clock, NullLogger<IngestPipeline>.Instance);
            var counter = new CounterModule(store, _clock);
            pipeline.Host.AddModule(counter);
            await pipeline.StartAsync();
            Assert.Equal(["live", "counter"], pipeline.Host.Modules.Select(m => m.Name));

            var live = Enumerable.Range(0, 20).Select(i => pipeline.SubmitAsync([BatchItem.Valid(
                new ValidAction("a-" + i, "p-" + (i % 5), "combat.kill", Start.UtcTicks, Encoding.UTF8.GetBytes("{}")))])).ToList();
            var counts = Enumerable.Range(0, 20).Select(i => Counters.AddAsync(pipeline.Host, "p-" + (i % 5), 1, Bound)).ToList();
            var outcomes = await Task.WhenAll(live).WaitAsync(Bound);
            await Task.WhenAll(counts).WaitAsync(Bound);
            Assert.All(outcomes, o => Assert.Equal(SubmitStatus.Completed, o.Status));
            Assert.All(outcomes, o => Assert.Equal(ActionStatus.Accepted, o.Results![0].Status));
            Assert.Equal(20, pipeline.GetStats().Accepted);
            Assert.Equal(4, await Counters.ReadAsync(pipeline.Host, "p-0"));
            Assert.True(pipeline.CheckReadiness().IsReady);
            await pipeline.DisposeAsync();
        }
        using (var store = OpenStore(8))
        {
            var pipeline = new IngestPipeline(ingest, store, _clock, NullLogger<IngestPipeline>.Instance);
            var counter = new CounterModule(store, _clock);
            pipeline.Host.AddModule(counter);
            await pipeline.StartAsync();
            await using var _ = pipeline;
            Assert.Equal(20, pipeline.GetStats().Accepted);
            Assert.All(Enumerable.Range(0, 5), i => Assert.Equal(4, Counters.ReadAsync(pipeline.Host, "p-" + i).Result));
            // A repeat of a live action is still a duplicate, and the counter continues from its durable total.
            var again = await pipeline.SubmitAsync([BatchItem.Valid(new ValidAction("a-3", "p-3", "combat.kill", Start.UtcTicks, Encoding.UTF8.GetBytes("{}")))]);
            Assert.Equal(ActionStatus.Duplicate, again.Results![0].Status);
            Assert.Equal(5, await Counters.AddAsync(pipeline.Host, "p-3", 1, Bound));
        }
    }

    [Fact]
    public async Task A_full_inbox_refuses_work_before_queueing_it_and_takes_work_again_once_answered()
    {
        using var store = OpenStore(8);
        var host = new PartitionHost(Options() with { PartitionInboxCapacity = 2 }, store, _clock, NullLogger.Instance);
        host.AddModule(new CounterModule(store, _clock));
        await host.StartAsync();
        await using var _ = host;
        using var entered = new ManualResetEventSlim(false);
        using var release = new ManualResetEventSlim(false);
        int partition = host.PartitionOf("counter", "k-1");
        var held = new Increment("k-1", 1, partition) { BeforeApply = () => { entered.Set(); release.Wait(Bound); } };
        Assert.Equal(Admission.Queued, host.TrySubmit(held));
        Assert.True(entered.Wait(Bound));
        var queued = new Increment("k-1", 2, partition);
        Assert.Equal(Admission.Queued, host.TrySubmit(queued));
        // Two items hold the partition's whole inbox: the third is refused, and nothing of it is applied.
        var refused = new Increment("k-1", 100, partition);
        Assert.Equal(Admission.Overloaded, host.TrySubmit(refused));
        Assert.Equal(2, host.InboxItems);
        release.Set();
        Assert.Equal(1, await held.Done.WaitAsync(Bound));
        Assert.Equal(3, await queued.Done.WaitAsync(Bound));
        Assert.False(refused.Done.IsCompleted);
        Assert.Equal(0, host.InboxItems);
        Assert.Equal(4, await Counters.AddAsync(host, "k-1", 1, Bound));
    }

    [Fact]
    public void The_store_refuses_a_second_module_record_at_a_taken_seq_and_writes_nothing_of_that_commit()
    {
        // Assert in pairs: the host numbers a module's log, and the store's key catches a second
        // writer (or a module that numbered wrong) instead of keeping both records.
        using var store = OpenStore(8);
        var first = new Storage.CommitBatch();
        first.ModuleLog.Add(new Storage.ModuleLogRow("counter", 3, 1, Increment.Encode("k", 1)));
        store.Commit(first);
        var second = new Storage.CommitBatch();
        second.ModuleLog.Add(new Storage.ModuleLogRow("counter", 3, 2, Increment.Encode("k", 2)));
        second.ModuleLog.Add(new Storage.ModuleLogRow("counter", 3, 1, Increment.Encode("k", 9)));
        Assert.ThrowsAny<Exception>(() => store.Commit(second));
        store.ResetWriter();
        Assert.Equal(1, store.Modules.Head("counter", 3));
        Assert.Equal(("k", 1L), Increment.Decode(Assert.Single(store.Modules.ReadLog("counter", 3, 0, 10)).Payload));
        Assert.Equal(0, store.Modules.Head("chat", 3));
    }
}
