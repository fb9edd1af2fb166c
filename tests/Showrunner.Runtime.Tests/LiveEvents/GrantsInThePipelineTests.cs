using Showrunner.Core.Actions;
using Showrunner.Core.Ledger;
using Showrunner.Core.LiveEvents;
using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.LiveEvents;
using Showrunner.Testing;

namespace Showrunner.Runtime.Tests.LiveEvents;

/// <summary>Actions flowing through the real pipeline advance players and grant tier rewards exactly once, durably with the action.</summary>
[Trait("Category", "Component")]
public sealed class GrantsInThePipelineTests
{
    internal static readonly string Source = ReleaseFixtures.Source("hunt-with-audience-and-together-goal");

    private static BatchItem Kill(string id, string player, string target = "dragon") =>
        LiveHarness.Action(id, player, "combat.kill", $$"""{"target":"{{target}}"}""");

    private static BatchItem Profile(string id, string player, int level) =>
        LiveHarness.Action(id, player, "player.profile", $$"""{"level":{{level}}}""");

    [Fact]
    public async Task Crossing_a_tier_grants_it_once_in_the_same_commit_and_the_audience_decides_who_counts()
    {
        await using var live = await LiveHarness.StartAsync(Source);
        // p-low is outside the hunt's audience (level < 10); p-1 joins it with its profile.
        await live.SubmitAsync(Profile("pr-1", "p-1", 12), Profile("pr-2", "p-low", 3));
        await live.SubmitAsync(Kill("k-1", "p-1"), Kill("k-2", "p-1"), Kill("k-3", "p-low"), Kill("k-4", "p-low"));
        var entries = live.Entries();
        var bronze = Assert.Single(entries, e => e.Rule == "tier:bronze");
        Assert.Equal(("p-1", "hunt", 0L, CauseKind.Action, "tier", "k-2"), (bronze.Player, bronze.EventId, bronze.Run, bronze.CauseKind, bronze.CauseId, bronze.ActionId));
        Assert.Equal([new RewardLine("gems", 50)], bronze.Rewards);
        Assert.Equal(live.ReleaseId, bronze.ReleaseId);
        Assert.DoesNotContain(entries, e => e.Player == "p-low" && e.EventId == "hunt");

        // A retry of the same batch is a duplicate: nothing more is granted.
        var again = await live.SubmitAsync(Kill("k-1", "p-1"), Kill("k-2", "p-1"));
        Assert.All(again, r => Assert.Equal(ActionStatus.Duplicate, r.Status));
        Assert.Equal(entries.Count, live.Entries().Count);

        // Two more kills reach silver; bronze is not paid again.
        await live.SubmitAsync(Kill("k-5", "p-1"), Kill("k-6", "p-1"), Kill("k-7", "p-1", target: "slime"));
        var tiers = live.Entries().Where(e => e.Player == "p-1" && e.EventId == "hunt").Select(e => e.Rule).ToList();
        Assert.Equal(["tier:bronze", "tier:silver"], tiers);
    }

    [Fact]
    public async Task After_a_restart_with_or_without_a_snapshot_progress_continues_and_no_tier_is_paid_twice()
    {
        await using var live = await LiveHarness.StartAsync(Source, options: new IngestOptions { PartitionCount = 4, ExecutorCount = 2, SnapshotEveryActions = 3 });
        await live.SubmitAsync(Profile("pr-1", "p-1", 12), Kill("k-1", "p-1"));
        await live.CrashRestartAsync();
        await live.SubmitAsync(Kill("k-2", "p-1"));
        Assert.Single(live.Entries(), e => e.Rule == "tier:bronze");
        await live.RestartAsync();
        Assert.Equal(0, live.Pipeline.LastLoad!.ReplayedActions);
        await live.SubmitAsync(Kill("k-3", "p-1"), Kill("k-4", "p-1"));
        await live.CrashRestartAsync();
        await live.SubmitAsync(Kill("k-5", "p-1"));
        Assert.Equal(["tier:bronze", "tier:silver"], live.Entries().Where(e => e.EventId == "hunt").Select(e => e.Rule));
        var points = await live.Pipeline.ReadPartitionAsync(live.Pipeline.Router.PartitionOf("p-1"),
            p => p.Live.FindPlayer("p-1")!.Find(new RunKey("hunt", 0))!.Total);
        Assert.Equal(25, points);
    }

    [Fact]
    public async Task The_community_goal_pays_every_participant_once_including_later_ones()
    {
        await using var live = await LiveHarness.StartAsync(Source);
        await live.SubmitAsync(Kill("k-1", "a"), Kill("k-2", "b"), Kill("k-3", "c"), Kill("k-4", "a"));
        await live.Coordinator.TickAsync();
        Assert.DoesNotContain(live.Entries(), e => e.Rule == "community_goal");
        await live.SubmitAsync(Kill("k-5", "b"));
        await live.Coordinator.TickAsync();
        Assert.Equal(["a", "b", "c"], live.Entries().Where(e => e.Rule == "community_goal").Select(e => e.Player).Order());
        Assert.NotNull(live.Coordinator.GoalOf("together", 0));

        // A player whose first points come after the goal is granted with that action.
        await live.SubmitAsync(Kill("k-6", "d"), Kill("k-7", "a"));
        var late = Assert.Single(live.Entries(), e => e.Rule == "community_goal" && e.Player == "d");
        Assert.Equal("k-6", late.ActionId);

        // A restart repeats the bulk step: nobody is paid twice.
        await live.CrashRestartAsync();
        await live.Coordinator.TickAsync();
        Assert.Equal(["a", "b", "c", "d"], live.Entries().Where(e => e.Rule == "community_goal").Select(e => e.Player).Order());
    }

    [Fact]
    public async Task Finalization_grants_prizes_by_rank_once_even_when_repeated()
    {
        await using var live = await LiveHarness.StartAsync(Source);
        await live.SubmitAsync(Profile("pr-1", "x", 20), Profile("pr-2", "y", 20), Profile("pr-3", "z", 20), Profile("pr-4", "w", 20));
        // x: 15 points, y: 10, z: 10 (reached later than y), w: 5.
        await live.SubmitAsync(Kill("k-1", "x"), Kill("k-2", "y"), Kill("k-3", "x"), Kill("k-4", "w"));
        live.Clock.Advance(TimeSpan.FromMinutes(1));
        await live.SubmitAsync(Kill("k-5", "y"), Kill("k-6", "x"));
        live.Clock.Advance(TimeSpan.FromMinutes(1));
        await live.SubmitAsync(Kill("k-7", "z"), Kill("k-8", "z"));
        live.Clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromHours(2));
        await live.Coordinator.TickAsync();
        var prizes = live.Entries().Where(e => e.Rule.StartsWith("prize:", StringComparison.Ordinal)).OrderBy(e => e.Rule).ThenBy(e => e.Player).ToList();
        Assert.Equal([("x", "prize:1-1"), ("y", "prize:2-3"), ("z", "prize:2-3")], prizes.Select(e => (e.Player, e.Rule)));
        Assert.All(prizes, e => Assert.Equal((CauseKind.Finalization, "finalization"), (e.CauseKind, e.CauseId)));
        Assert.Equal(RunPhase.Finalized, live.Coordinator.RecordedFor("hunt").Last().To);

        // An action for the finished run changes nothing; a repeated finalization would find every prize granted.
        await live.SubmitAsync(Kill("k-9", "w"), Kill("k-10", "w"));
        await live.Coordinator.TickAsync();
        Assert.Equal(3, live.Entries().Count(e => e.Rule.StartsWith("prize:", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_paused_run_counts_nothing_from_the_pause_on_and_the_restart_agrees()
    {
        await using var live = await LiveHarness.StartAsync(Source);
        await live.SubmitAsync(Profile("pr-1", "p-1", 12), Kill("k-1", "p-1"));
        await live.Coordinator.TickAsync();
        Assert.Null((await live.Coordinator.OperateAsync("hunt", 0, RunOperation.Pause)).Error);
        await live.SubmitAsync(Kill("k-2", "p-1"), Kill("k-3", "p-1"));
        Assert.DoesNotContain(live.Entries(), e => e.EventId == "hunt");
        Assert.Null((await live.Coordinator.OperateAsync("hunt", 0, RunOperation.Resume)).Error);
        await live.SubmitAsync(Kill("k-4", "p-1"));
        Assert.Single(live.Entries(), e => e.Rule == "tier:bronze" && e.ActionId == "k-4");
        await live.CrashRestartAsync();
        long total = await live.Pipeline.ReadPartitionAsync(live.Pipeline.Router.PartitionOf("p-1"),
            p => p.Live.FindPlayer("p-1")!.Find(new RunKey("hunt", 0))!.Total);
        Assert.Equal(10, total);
    }
}

/// <summary>Finalization interrupted half-way — a failed commit of some partitions' prizes, then a crash — resumes and pays every prize exactly once.</summary>
[Trait("Category", "Fault")]
public sealed class FinalizationFaultTests
{
    [Fact]
    [Trait("Category", "Fault")]
    public async Task A_finalization_that_failed_half_way_and_crashed_resumes_without_a_double_grant()
    {
        ControllableStore? faults = null;
        await using var live = await LiveHarness.StartAsync(GrantsInThePipelineTests.Source, partitions: 8,
            options: new IngestOptions { PartitionCount = 8, ExecutorCount = 2 }, wrap: s => faults = new ControllableStore(s));
        var players = Enumerable.Range(0, 12).Select(i => "player-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
        await live.SubmitAsync([.. players.Select((p, i) => LiveHarness.Action("pr-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), p, "player.profile", """{"level":50}"""))]);
        for (int round = 0; round < 4; round++)
        {
            // Player i ends with i+1 kills at most: distinct scores, so the prize order is known.
            await live.SubmitAsync([.. players.Select((p, i) => (p, i)).Where(x => x.i >= round * 3)
                .Select(x => LiveHarness.Action($"k-{round}-{x.i}", x.p, "combat.kill", """{"target":"dragon"}"""))]);
        }
        live.Clock.Advance(TimeSpan.FromDays(2));
        faults!.FailNextAppend();
        await Assert.ThrowsAnyAsync<Exception>(live.Coordinator.TickAsync);
        await live.Pipeline.RecoveryTask;
        Assert.NotEqual(RunPhase.Finalized, live.Coordinator.RecordedFor("hunt").Last().To);
        int prizesBefore = live.Entries().Count(e => e.Rule.StartsWith("prize:", StringComparison.Ordinal));
        Assert.True(prizesBefore < 3, $"{prizesBefore} prizes were committed before the failure");

        await live.CrashRestartAsync();
        await live.Coordinator.TickAsync();
        Assert.Equal(RunPhase.Finalized, live.Coordinator.RecordedFor("hunt").Last().To);
        var prizes = live.Entries().Where(e => e.Rule.StartsWith("prize:", StringComparison.Ordinal)).OrderBy(e => e.Rule).ThenBy(e => e.Player).ToList();
        Assert.Equal(new[] { ("player-10", "prize:2-3"), ("player-11", "prize:1-1"), ("player-9", "prize:2-3") },
            prizes.Select(e => (e.Player, e.Rule)).Order());
        await live.Coordinator.TickAsync();
        Assert.Equal(3, live.Entries().Count(e => e.Rule.StartsWith("prize:", StringComparison.Ordinal)));
    }
}
