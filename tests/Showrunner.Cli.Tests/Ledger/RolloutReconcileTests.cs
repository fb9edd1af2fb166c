using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Showrunner.Core.Actions;
using Showrunner.Core.Rollouts;
using Showrunner.Core.Rules.Bundle;
using Showrunner.Core.Rules.Syntax;
using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.LiveEvents;
using Showrunner.Runtime.Releases;
using Showrunner.Runtime.Rollouts;
using Showrunner.Storage.Sqlite;
using Showrunner.Testing;
using Xunit.Abstractions;

namespace Showrunner.Cli.Tests.Ledger;

/// <summary>
/// A rollout leaves a log that replays exactly: actions the candidate evaluated record it, a kill
/// switch is replayed from its stamp, and a reverse rollback's corrections are operator entries.
/// </summary>
[Trait("Category", "Component")]
public sealed class RolloutReconcileTests(ITestOutputHelper log)
{
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    private static string Source(int gems, bool keepEarned) => ReleaseFixtures.Source("rollout-hunt-three-tiers", ("gems", gems), ("keep_earned", keepEarned));

    private static BatchItem Kill(string id, string player) =>
        BatchItem.Valid(new ValidAction(id, player, "combat.kill", Start.UtcTicks, Encoding.UTF8.GetBytes("""{"target":"x"}""")));

    [Fact]
    public async Task Reconcile_finds_zero_differences_after_a_rollout_a_kill_switch_and_a_reverse_rollback()
    {
        using var directory = new TempDirectory("showrunner-rollout-reconcile");
        var clock = new ManualClock(Start);
        var runtime = RuntimeHarness.Create(new global::Showrunner.Runtime.RuntimeSettings
        {
            StoreProvider = new SqliteStoreProvider(),
            DataDirectory = directory.Path,
            ReadConnections = 2,
            Ingest = new IngestOptions { PartitionCount = 4, ExecutorCount = 2, SnapshotEveryActions = 7 },
        }, clock);
        await runtime.StartAsync();
        var pipeline = runtime.Pipeline;
        var register = runtime.Register;
        var rollouts = runtime.Rollouts;
        var coordinator = runtime.Coordinator;
        var flags = runtime.Get<FlagBoard>();
        try
        {
            async Task<string> Publish(string source)
            {
                var (bundle, diagnostics) = ReleaseBundle.Build([new SourceText("r.hcl", source)]);
                Assert.True(bundle is not null, string.Join("\n", diagnostics.Select(d => d.Format())));
                Assert.Equal(PublishStatus.Created, (await register.PublishAsync(bundle.CanonicalBytes, bundle.Id)).Status);
                return bundle.Id;
            }
            async Task Submit(string prefix, IEnumerable<string> players) =>
                Assert.Equal(SubmitStatus.Completed, (await pipeline.SubmitAsync([.. players.Select(p => Kill(prefix + "-" + p, p))])).Status);

            string baseline = await Publish(Source(10, keepEarned: false));
            Assert.Equal(ChangeStatus.Changed, (await register.ActivateAsync(baseline, null, null)).Status);
            string candidate = await Publish(Source(100, keepEarned: true));
            var players = Enumerable.Range(0, 40).Select(i => "p" + i).ToList();
            await Submit("a", players);
            var plan = new RolloutPlan([new RolloutStep(StepMode.Live, 5_000, TimeSpan.Zero), new RolloutStep(StepMode.Live, 10_000, TimeSpan.Zero)],
                new GateThresholds(MinActions: 1_000_000), AutoAdvance: false, RollbackPolicy.Reverse);
            Assert.Equal(RolloutStatus.Started, (await rollouts.StartAsync(candidate, plan, "s", null, "key:test", null)).Status);
            clock.Advance(TimeSpan.FromSeconds(1));
            await Submit("b", players);
            await flags.SetAsync("event", "hunt", false, "key:test", "exploit");
            clock.Advance(TimeSpan.FromSeconds(1));
            await Submit("c", players); // killed: counts nothing
            await flags.SetAsync("event", "hunt", true, "key:test", null);
            clock.Advance(TimeSpan.FromSeconds(1));
            await Submit("d", players);
            var rolledBack = await rollouts.RollbackAsync("key:test", "wrong reward");
            Assert.Equal(RolloutStatus.RolledBack, rolledBack.Status);
            Assert.Contains("reversed", rolledBack.Detail, StringComparison.Ordinal);
            await Submit("e", players.Select(p => p + "-new"));
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
}
