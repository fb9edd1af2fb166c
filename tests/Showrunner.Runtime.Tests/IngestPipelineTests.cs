using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Showrunner.Core.Actions;
using Showrunner.Core.Partitioning;
using Showrunner.Runtime;
using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.Partitions;
using Showrunner.Storage.Sqlite;
using Showrunner.Testing;

namespace Showrunner.Runtime.Tests;

[Trait("Category", "Component")]
public sealed class IngestPipelineTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _directory = new();
    private readonly ManualClock _clock = new(Start);
    private ControllableStore _store = null!;
    private IngestPipeline _pipeline = null!;
    private RuntimeHarness _runtime = null!;

    public Task InitializeAsync() => OpenAsync(new IngestOptions { PartitionCount = 8, ExecutorCount = 2 });

    private async Task OpenAsync(IngestOptions options)
    {
        _runtime = RuntimeHarness.Create(new RuntimeSettings
        {
            StoreProvider = new SqliteStoreProvider(),
            DataDirectory = _directory.Path,
            ReadConnections = 2,
            Ingest = options,
        }, _clock, inner => new ControllableStore(inner));
        _store = (ControllableStore)_runtime.Store;
        _runtime.Open();
        _pipeline = _runtime.Pipeline;
        await _pipeline.StartAsync();
    }

    private async Task RestartAsync(IngestOptions? options = null)
    {
        await _runtime.DisposeAsync();
        await OpenAsync(options ?? new IngestOptions { PartitionCount = 8, ExecutorCount = 2 });
    }

    public async Task DisposeAsync()
    {
        await _runtime.DisposeAsync();
        _directory.Dispose();
    }

    private static BatchItem Item(string id, string player = "p-1", string data = "{}") =>
        BatchItem.Valid(new ValidAction(id, player, "combat.kill", Start.UtcTicks, Encoding.UTF8.GetBytes(data)));

    private async Task<ActionResult[]> SubmitOk(params BatchItem[] items)
    {
        var outcome = await _pipeline.SubmitAsync(items);
        Assert.Equal(SubmitStatus.Completed, outcome.Status);
        return outcome.Results!;
    }

    [Fact]
    public async Task Accepted_actions_get_gapless_seqs_per_partition_in_request_order()
    {
        var results = await SubmitOk(Item("a", "p-1"), Item("b", "p-1"), Item("c", "p-2"), Item("d", "p-1"));
        Assert.All(results, r => Assert.Equal(ActionStatus.Accepted, r.Status));
        Assert.Equal(["a", "b", "c", "d"], results.Select(r => r.Id));
        var router = new PartitionRouter(8);
        Assert.Equal(router.PartitionOf("p-1"), results[0].Partition);
        Assert.Equal([1L, 2L, 3L], new[] { results[0], results[1], results[3] }.Select(r => r.Seq));
        var stored = _pipeline.Find("d")!;
        Assert.Equal(3, stored.Seq);
        Assert.Equal(Start.UtcTicks, stored.IngestedAtTicks);
        Assert.Equal(4, _pipeline.GetStats().Accepted);
    }

    [Fact]
    public async Task Rejected_items_pass_through_in_place()
    {
        var rejection = new ActionRejection(RejectionCodes.InvalidType, "bad", "type");
        var results = await SubmitOk(Item("a"), BatchItem.Rejected("x", rejection), Item("b"));
        Assert.Equal([ActionStatus.Accepted, ActionStatus.Rejected, ActionStatus.Accepted], results.Select(r => r.Status));
        Assert.Same(rejection, results[1].Rejection);
        var stats = _pipeline.GetStats();
        Assert.Equal(1, stats.Rejected);
        Assert.Equal(1, stats.RejectedByCode[RejectionCodes.InvalidType]);
    }

    [Fact]
    public async Task The_same_id_twice_in_one_batch_is_applied_once()
    {
        var results = await SubmitOk(Item("a"), Item("a"), Item("b"));
        Assert.Equal(ActionStatus.Accepted, results[0].Status);
        Assert.Equal(ActionStatus.Duplicate, results[1].Status);
        Assert.Equal(results[0].Seq, results[1].Seq);
        Assert.Equal(2, results[2].Seq);
        Assert.Equal(2, _pipeline.GetStats().Accepted);
        Assert.Equal(1, _pipeline.GetStats().Duplicates);
    }

    [Fact]
    public async Task A_repeat_after_a_restart_gets_the_original_seq()
    {
        var first = await SubmitOk(Item("a"), Item("b"));
        await RestartAsync();
        var again = await SubmitOk(Item("b"), Item("c"));
        Assert.Equal(ActionStatus.Duplicate, again[0].Status);
        Assert.Equal(first[1].Seq, again[0].Seq);
        Assert.Equal(first[1].Partition, again[0].Partition);
        Assert.Equal(3, again[1].Seq); // the partition's log continues without a gap
    }

    [Fact]
    public async Task The_same_id_with_different_content_is_a_conflict_stored_or_in_flight()
    {
        await SubmitOk(Item("a", data: "{\"n\":1}"));
        var stored = await SubmitOk(Item("a", data: "{\"n\":2}"));
        Assert.Equal(RejectionCodes.IdConflict, stored[0].Rejection!.Code);
        var inBatch = await SubmitOk(Item("b", "p-1"), Item("b", "p-9"));
        Assert.Equal(ActionStatus.Accepted, inBatch[0].Status);
        Assert.Equal(RejectionCodes.IdConflict, inBatch[1].Rejection!.Code);
        Assert.Equal("p-1", _pipeline.Find("b")!.Player);
        Assert.Equal(2, _pipeline.GetStats().Accepted);
    }

    [Fact]
    public async Task Concurrent_batches_sharing_ids_apply_each_id_once_and_agree_on_its_seq()
    {
        // 16 batches race over 40 ids, each in a different order.
        var ids = Enumerable.Range(0, 40).Select(i => "id-" + i).ToArray();
        var tasks = Enumerable.Range(0, 16).Select(k =>
        {
            var order = ids.ToArray();
            new Random(k).Shuffle(order); // seeded: the same interleavings every run
            return Task.Run(() => SubmitOk(order.Select(id => Item(id, "player-" + id)).ToArray()));
        }).ToArray();
        var all = (await Task.WhenAll(tasks)).SelectMany(r => r).ToList();
        Assert.Equal(40, all.Count(r => r.Status == ActionStatus.Accepted));
        Assert.Equal(16 * 40 - 40, all.Count(r => r.Status == ActionStatus.Duplicate));
        foreach (var group in all.GroupBy(r => r.Id))
        {
            Assert.Single(group.Select(r => (r.Partition, r.Seq)).Distinct());
            var stored = _pipeline.Find(group.Key!)!;
            Assert.Equal(group.First().Seq, stored.Seq);
        }
        Assert.Equal(40, _pipeline.GetStats().Accepted);
    }

    [Fact]
    public async Task A_batch_that_does_not_fit_an_inbox_is_refused_whole()
    {
        await RestartAsync(new IngestOptions { PartitionCount = 8, ExecutorCount = 1, PartitionInboxCapacity = 3 });
        var outcome = await _pipeline.SubmitAsync([Item("x", "other"), Item("a"), Item("b"), Item("c"), Item("d")]);
        Assert.Equal(SubmitStatus.Overloaded, outcome.Status);
        Assert.Equal(TimeSpan.FromSeconds(1), outcome.RetryAfter);
        Assert.Null(_pipeline.Find("x"));
        Assert.Null(_pipeline.Find("a"));
        // The failed reservation was undone: a batch that fits goes through.
        var results = await SubmitOk(Item("x", "other"), Item("a"), Item("b"), Item("c"));
        Assert.All(results, r => Assert.Equal(ActionStatus.Accepted, r.Status));
        Assert.Equal(1, _pipeline.GetStats().Overloaded);
    }

    [Fact]
    public async Task Actions_waiting_for_a_slow_commit_hold_their_inbox_room()
    {
        await RestartAsync(new IngestOptions { PartitionCount = 8, ExecutorCount = 1, PartitionInboxCapacity = 2 });
        _store.Hold();
        var slow = _pipeline.SubmitAsync([Item("a"), Item("b")]);
        await WaitUntil(() => _pipeline.GetPipelineGauges().InboxActions == 2);
        var refused = await _pipeline.SubmitAsync([Item("c")]);
        Assert.Equal(SubmitStatus.Overloaded, refused.Status);
        Assert.False(slow.IsCompleted, "the answer must wait for the durable commit");
        _store.Release();
        Assert.Equal(SubmitStatus.Completed, (await slow).Status);
        Assert.Equal(0, _pipeline.GetPipelineGauges().InboxActions);
        Assert.Null(_pipeline.Find("c"));
        Assert.Equal(ActionStatus.Accepted, (await SubmitOk(Item("c")))[0].Status);
    }

    [Fact]
    public async Task A_failed_commit_fails_its_batches_then_the_runtime_reloads_and_continues_without_gaps()
    {
        await SubmitOk(Item("a"), Item("b"));
        _store.FailNextAppend();
        var failed = await _pipeline.SubmitAsync([Item("c"), Item("d")]);
        Assert.Equal(SubmitStatus.StoreFailed, failed.Status);
        await _pipeline.RecoveryTask;
        Assert.Equal(RuntimeState.Ready, _pipeline.State);
        Assert.Equal(1, _store.Resets);
        Assert.Null(_pipeline.Find("c"));
        // The client retries the same batch: applied once, seqs continue from the durable head.
        var retried = await SubmitOk(Item("c"), Item("d"), Item("a"));
        Assert.Equal([3L, 4L, 1L], retried.Select(r => r.Seq));
        Assert.Equal([ActionStatus.Accepted, ActionStatus.Accepted, ActionStatus.Duplicate], retried.Select(r => r.Status));
        Assert.Equal(4, _pipeline.GetStats().Accepted);
    }

    [Fact]
    public async Task A_concurrent_twin_of_a_failed_commit_is_told_to_retry()
    {
        _store.Hold();
        _store.FailNextAppend();
        var owner = _pipeline.SubmitAsync([Item("a")]);
        await WaitUntil(() => _pipeline.GetPipelineGauges().InFlightIds == 1);
        var twin = _pipeline.SubmitAsync([Item("a")]);
        _store.Release();
        Assert.Equal(SubmitStatus.StoreFailed, (await owner).Status);
        Assert.Equal(SubmitStatus.StoreFailed, (await twin).Status);
        await _pipeline.RecoveryTask;
        Assert.Equal(ActionStatus.Accepted, (await SubmitOk(Item("a")))[0].Status);
    }

    [Fact]
    public async Task Nothing_is_accepted_before_start()
    {
        using var directory = new TempDirectory();
        await using var runtime = RuntimeHarness.Create(new RuntimeSettings
        {
            StoreProvider = new SqliteStoreProvider(),
            DataDirectory = directory.Path,
            Ingest = new IngestOptions { PartitionCount = 8 },
        }, _clock);
        runtime.Open();
        var outcome = await runtime.Pipeline.SubmitAsync([Item("a")]);
        Assert.Equal(SubmitStatus.NotReady, outcome.Status);
        Assert.Null(runtime.Store.Find("a"));
    }

    [Fact]
    public void Invalid_options_are_refused_naming_the_option()
    {
        var exception = Assert.Throws<ArgumentException>(() => new IngestPipeline(
            new IngestOptions { PartitionCount = 8, PartitionInboxCapacity = 0 }, _store, _clock, NullLogger<IngestPipeline>.Instance));
        Assert.Contains("PartitionInboxCapacity = 0", exception.Message, StringComparison.Ordinal);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached within 10 s");
            await Task.Delay(5);
        }
    }
}
