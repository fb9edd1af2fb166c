using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Showrunner.Core.Actions;
using Showrunner.Core.Rules.Bundle;
using Showrunner.Core.Rules.Syntax;
using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.LiveEvents;
using Showrunner.Runtime.Releases;
using Showrunner.Storage;
using Showrunner.Storage.Sqlite;
using Showrunner.Testing;
using Xunit.Abstractions;

namespace Showrunner.Cli.Tests.Ledger;

/// <summary>
/// Issue 12, item 6: a community goal recorded while commits fail (a full disk) is paid to every
/// participant of the committed log exactly once — on the next tick after the runtime recovered,
/// and again (as nothing) after a restart — and <c>reconcile</c> ends at 0 differences. The
/// participants' first points lie after the last snapshot, so the recovery replays them with the
/// goal already recorded (the path that once marked them paid without a grant: "reward granted
/// to 0 participants", then 400 missing grants in <c>reconcile</c>).
/// </summary>
[Trait("Category", "Fault")]
public sealed class CommunityGoalFaultTests(ITestOutputHelper log)
{
    private const int Partitions = 4;
    private const int Players = 41;
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    private static readonly string Source = ReleaseFixtures.Source("community-goal-41-kills");

    private static BatchItem Kill(int player, string id) =>
        BatchItem.Valid(new ValidAction(id, Player(player), "combat.kill", Start.UtcTicks, Encoding.UTF8.GetBytes("""{"target":"dragon"}""")));

    /// <summary>Publishes and activates the release, then every player but the last scores its one point (one short of the goal).</summary>
    private static async Task ActivateAndKillAllButOneAsync(Runtime runtime)
    {
        var bundle = Build();
        Assert.Equal(PublishStatus.Created, (await runtime.Register.PublishAsync(bundle.CanonicalBytes, bundle.Id)).Status);
        Assert.Equal(ChangeStatus.Changed, (await runtime.Register.ActivateAsync(bundle.Id, 0, null)).Status);
        await Submit(runtime, [.. Enumerable.Range(0, Players - 1).Select(i => Kill(i, "k-" + i.ToString(CultureInfo.InvariantCulture)))]);
    }

    private static string Player(int i) => "player-" + i.ToString("D3", CultureInfo.InvariantCulture);

    [Fact]
    public async Task A_goal_whose_bulk_grant_failed_to_commit_is_paid_in_full_after_recovery_and_once_after_a_restart()
    {
        using var directory = new TempDirectory("showrunner-goal-fault");
        var clock = new ManualClock(Start);
        var runtime = await Runtime.OpenAsync(directory.Path, clock);
        try
        {
            await ActivateAndKillAllButOneAsync(runtime);
            await runtime.Coordinator.TickAsync();
            Assert.Null(runtime.Coordinator.GoalOf("together", 0));
            await Submit(runtime, Kill(Players - 1, "k-last"));

            // The disk fills up: the goal is recorded, but the commit of the participants' grants fails.
            runtime.Faults.FailNextAppend();
            await Assert.ThrowsAnyAsync<Exception>(runtime.Coordinator.TickAsync);
            await runtime.Pipeline.RecoveryTask;
            Assert.NotNull(runtime.Coordinator.GoalOf("together", 0));
            Assert.Empty(GoalGrants(runtime.Store));

            // The next tick after recovery pays every participant, once.
            await runtime.Coordinator.TickAsync();
            Assert.Equal(Enumerable.Range(0, Players).Select(Player), GoalGrants(runtime.Store));
            await runtime.Coordinator.TickAsync();

            // A crash and a restart repeat the bulk step: nothing more is paid.
            runtime.Pipeline.SkipFinalSnapshotForTests = true;
            await runtime.DisposeAsync();
            runtime = await Runtime.OpenAsync(directory.Path, clock);
            await runtime.Coordinator.TickAsync();
            Assert.Equal(Enumerable.Range(0, Players).Select(Player), GoalGrants(runtime.Store));
        }
        finally
        {
            await runtime.DisposeAsync();
        }
        var (exitCode, output, errors) = LedgerVerifyCommandTests.Run("reconcile", "--data", directory.Path);
        log.WriteLine(output + errors);
        Assert.Equal((0, ""), (exitCode, errors));
        Assert.EndsWith("\n0 differences\n", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_goal_whose_last_points_never_committed_is_not_recorded_on_them()
    {
        using var directory = new TempDirectory("showrunner-goal-fault");
        var clock = new ManualClock(Start);
        var runtime = await Runtime.OpenAsync(directory.Path, clock);
        try
        {
            await ActivateAndKillAllButOneAsync(runtime);

            // The last point is applied in memory, but its commit is held (a slow disk) and then fails.
            runtime.Faults.Hold();
            var last = runtime.Pipeline.SubmitAsync([Kill(Players - 1, "k-last")]);
            int partition = runtime.Pipeline.Router.PartitionOf(Player(Players - 1));
            Assert.Equal(1, await runtime.Pipeline.ReadPartitionAsync(partition, p => p.Live.Slot(new Core.LiveEvents.RunKey("together", 0)))
                - CommittedSlot(runtime, partition));
            var tick = runtime.Coordinator.TickAsync();
            runtime.Faults.FailNextAppend();
            runtime.Faults.Release();
            Assert.NotEqual(SubmitStatus.Completed, (await last).Status);
            await Record.ExceptionAsync(() => tick);
            await runtime.Pipeline.RecoveryTask;
            await runtime.Coordinator.TickAsync();
            // 40 points are committed, the target is 41: no goal, no grant.
            Assert.Null(runtime.Coordinator.GoalOf("together", 0));
            Assert.Empty(GoalGrants(runtime.Store));

            // The point is sent again and commits: now the goal is reached and all 41 are paid.
            await Submit(runtime, Kill(Players - 1, "k-last"));
            await runtime.Coordinator.TickAsync();
            Assert.NotNull(runtime.Coordinator.GoalOf("together", 0));
            Assert.Equal(Enumerable.Range(0, Players).Select(Player), GoalGrants(runtime.Store));
        }
        finally
        {
            await runtime.DisposeAsync();
        }
        var (exitCode, output, errors) = LedgerVerifyCommandTests.Run("reconcile", "--data", directory.Path);
        log.WriteLine(output + errors);
        Assert.Equal((0, ""), (exitCode, errors));
    }

    /// <summary>The partition's slot as the store holds it (its committed actions: one point each).</summary>
    private static long CommittedSlot(Runtime runtime, int partition) =>
        runtime.Store.Ledger.ReadActionsAfter(0).Count(a => a.Action.Partition == partition);

    private static ReleaseBundle Build()
    {
        var (bundle, diagnostics) = ReleaseBundle.Build([new SourceText("r.hcl", Source)]);
        Assert.True(bundle is not null, string.Join("\n", diagnostics.Select(d => d.Format())));
        return bundle;
    }

    private static async Task Submit(Runtime runtime, params BatchItem[] items) =>
        Assert.Equal(SubmitStatus.Completed, (await runtime.Pipeline.SubmitAsync(items)).Status);

    /// <summary>The players holding a community-goal grant, one line per ledger entry, in order.</summary>
    private static List<string> GoalGrants(SqliteActionStore store)
    {
        var players = new List<string>();
        for (int p = 0; p < Partitions; p++)
        {
            foreach (var row in store.Ledger.ReadEntries(p, 0, int.MaxValue))
            {
                var (entry, error) = Core.Ledger.GrantEntry.Decode(row.Entry, row.PrevHash);
                Assert.True(entry is not null, error);
                if (entry.Rule == "community_goal")
                {
                    players.Add(entry.Player);
                }
            }
        }
        players.Sort(StringComparer.Ordinal);
        return players;
    }

    /// <summary>The server's parts over a store whose commits can be held or failed; snapshots far apart, so a recovery replays the log.</summary>
    private sealed record Runtime(RuntimeHarness Harness, SqliteActionStore Store, ControllableStore Faults, IngestPipeline Pipeline, ReleaseRegister Register,
        LifecycleCoordinator Coordinator) : IAsyncDisposable
    {
        public static async Task<Runtime> OpenAsync(string directory, ManualClock clock)
        {
            var harness = RuntimeHarness.Create(new global::Showrunner.Runtime.RuntimeSettings
            {
                StoreProvider = new SqliteStoreProvider(),
                DataDirectory = directory,
                ReadConnections = 2,
                Ingest = new IngestOptions { PartitionCount = Partitions, ExecutorCount = 2, SnapshotEveryActions = 1_000 },
            }, clock, inner => new ControllableStore(inner));
            harness.Open();
            await harness.Register.InitializeAsync(null);
            await harness.Pipeline.StartAsync();
            return new Runtime(harness, (SqliteActionStore)harness.InnerStore, (ControllableStore)harness.Store, harness.Pipeline, harness.Register,
                harness.Coordinator);
        }

        public ValueTask DisposeAsync() => Harness.DisposeAsync();
    }
}
