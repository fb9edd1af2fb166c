using System.Text;
using Showrunner.Core.Ledger;
using Showrunner.Core.LiveEvents;
using Showrunner.Core.Partitioning;
using Showrunner.Core.Reconciliation;
using Showrunner.Core.Rules.Bundle;
using Showrunner.Core.Rules.Releases;
using Showrunner.Core.Rules.Syntax;
using Showrunner.Testing;

namespace Showrunner.Core.Tests.Reconciliation;

/// <summary>The replay derives tier, community-goal and prize grants from the log alone; the comparison names every difference with the ledger.</summary>
[Trait("Category", "Unit")]
public sealed class ReconciliationTests
{
    private static readonly string Source = ReleaseFixtures.Source("kills-by-n-tier-leaderboard-goal");

    private const int Partitions = 3;
    private static readonly long Day = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).UtcTicks;
    private static readonly Lazy<LiveRules> Rules = new(() =>
    {
        var (bundle, diagnostics) = ReleaseBundle.Build([new SourceText("r.hcl", Source)]);
        Assert.True(bundle is not null, string.Join("\n", diagnostics.Select(d => d.Format())));
        return LoadedRelease.From(bundle).Live;
    });

    private static readonly PartitionRouter Router = new(Partitions);

    /// <summary>Replays (player, points, minutes after the start) in order, sequenced per partition as the executor would.</summary>
    private static GrantReplay Replay(RunControls controls, params (string Player, int Points, int Minutes)[] actions)
    {
        var replay = new GrantReplay(Partitions, controls, releaseRef => releaseRef == 1 ? Rules.Value : throw new ReplayException(ReplayException.ReleaseUnknown, "none"));
        var seqs = new long[Partitions];
        int id = 0;
        foreach (var (player, points, minutes) in actions)
        {
            int partition = Router.PartitionOf(player);
            replay.Apply(new LoggedAction(partition, ++seqs[partition], $"a-{id++}", player, "kill", Day + TimeSpan.TicksPerMinute * minutes,
                Encoding.UTF8.GetBytes($$"""{"n":{{points}}}"""), 1));
        }
        return replay;
    }

    private static IEnumerable<(string Player, string Rule)> Grants(GrantReplay replay) =>
        replay.Expected.Values.Select(g => (g.Grant.Cause.Player, g.Grant.Cause.Rule)).Order();

    [Fact]
    public void The_replay_derives_tiers_from_the_log_then_goal_participants_and_prizes_from_the_end_state()
    {
        var replay = Replay(RunControls.None, ("a", 12, 1), ("b", 4, 2), ("c", 9, 3), ("c", 1, 4), ("d", 20, 5));
        Assert.Equal([("a", "tier:bronze"), ("c", "tier:bronze"), ("d", "tier:bronze")], Grants(replay));
        var tier = replay.Expected.Values.Single(g => g.Grant.Cause.Player == "c");
        Assert.Equal(("a-3", CauseKind.Action, "tier", Router.PartitionOf("c")), (tier.Grant.ActionId, tier.Grant.Cause.Kind, tier.Grant.Cause.CauseId, tier.Partition));
        Assert.Equal(Rules.Value.ReleaseId, tier.Grant.ReleaseId);

        replay.GoalReached("hunt", 0, 1, Day);
        replay.Finalized("hunt", 0, 1, Day + TimeSpan.TicksPerDay);
        var rules = replay.Expected.Values.Where(g => g.Grant.Cause.Kind != CauseKind.Action).Select(g => (g.Grant.Cause.Player, g.Grant.Cause.Rule)).Order();
        Assert.Equal([("a", "community_goal"), ("a", "prize:2-3"), ("b", "community_goal"), ("c", "community_goal"), ("c", "prize:2-3"),
            ("d", "community_goal"), ("d", "prize:1-1")], rules);
        Assert.All(replay.Expected.Values, g => Assert.Equal(Router.PartitionOf(g.Grant.Cause.Player), g.Partition));
        Assert.Equal(5, replay.ActionsReplayed);
    }

    [Fact]
    public void A_pause_in_the_recorded_transitions_keeps_actions_out_exactly_as_live()
    {
        var start = new DateTimeOffset(Day, TimeSpan.Zero);
        var controls = RunControls.From([
            new RunTransition("hunt", 0, 0, RunPhase.Scheduled, RunPhase.Active, start, TransitionCause.Schedule),
            new RunTransition("hunt", 0, 1, RunPhase.Active, RunPhase.Paused, start.AddMinutes(10), TransitionCause.Operator),
            new RunTransition("hunt", 0, 2, RunPhase.Paused, RunPhase.Active, start.AddMinutes(20), TransitionCause.Operator),
        ]);
        var replay = Replay(controls, ("a", 5, 1), ("a", 5, 15), ("b", 5, 1), ("b", 5, 25));
        Assert.Equal([("b", "tier:bronze")], Grants(replay));
    }

    [Fact]
    public void A_log_out_of_order_or_in_the_wrong_partition_stops_the_replay_with_a_code()
    {
        var replay = new GrantReplay(Partitions, RunControls.None, _ => Rules.Value);
        int partition = Router.PartitionOf("a");
        var data = Encoding.UTF8.GetBytes("""{"n":1}""");
        replay.Apply(new LoggedAction(partition, 1, "x", "a", "kill", Day, data, 1));
        Assert.Equal(ReplayException.ActionOutOfOrder,
            Assert.Throws<ReplayException>(() => replay.Apply(new LoggedAction(partition, 3, "y", "a", "kill", Day, data, 1))).Code);
        Assert.Equal(ReplayException.ActionMisplaced,
            Assert.Throws<ReplayException>(() => replay.Apply(new LoggedAction((partition + 1) % Partitions, 1, "z", "a", "kill", Day, data, 1))).Code);
        Assert.Equal(ReplayException.EventUnknown, Assert.Throws<ReplayException>(() => replay.Finalized("nope", 0, 1, Day)).Code);
    }

    private static GrantEntry Entry(ExpectedGrant expected, long index, IReadOnlyList<RewardLine>? rewards = null, string? release = null, CauseKind? kind = null)
    {
        var grant = expected.Grant;
        var cause = kind is { } k ? grant.Cause with { Kind = k } : grant.Cause;
        bool manual = cause.Kind is CauseKind.Operator or CauseKind.Correction;
        return GrantEntry.Create(cause, rewards ?? grant.Rewards, release ?? grant.ReleaseId, grant.TimeTicks, manual ? "ops" : null, manual ? "ticket" : null,
            expected.Partition, index, new byte[32], cause.Kind == CauseKind.Action ? grant.ActionId : null);
    }

    [Fact]
    public void The_comparison_names_missing_extra_and_different_grants_counts_all_and_lists_up_to_the_limit()
    {
        var replay = Replay(RunControls.None, ("a", 12, 1), ("c", 10, 3), ("d", 20, 5));
        replay.Finalized("hunt", 0, 1, Day);
        var expected = replay.Expected.Values.OrderBy(g => g.GrantId, StringComparer.Ordinal).ToList();
        Assert.Equal(6, expected.Count);

        var equal = new GrantComparison(replay.Expected, 100);
        foreach (var grant in expected)
        {
            equal.Add(Entry(grant, 0));
        }
        var clean = equal.Finish();
        Assert.Equal((0L, 6L, 6L), (clean.Differences, clean.Matched, clean.Recorded));

        var comparison = new GrantComparison(replay.Expected, 2);
        var tier = expected.First(g => g.Grant.Cause.Kind == CauseKind.Action);
        var prize = expected.First(g => g.Grant.Cause.Kind == CauseKind.Finalization);
        comparison.Add(Entry(tier, 0, release: new string('e', 64)));
        comparison.Add(Entry(prize, 0, rewards: [new RewardLine("gems", 1_000_000)]));
        comparison.Add(Entry(prize, 1));
        // An operator grant is counted, never compared; the others are left missing.
        comparison.Add(Entry(expected[^1], 2, kind: CauseKind.Operator));
        var report = comparison.Finish();
        Assert.Equal((4L, 2L, 1L, 1L, 2L, 1L, 0L), (report.Expected - 2, report.Different, report.Extra, report.OperatorEntries, report.Recorded - 1, report.Missing - 3, report.Matched));
        Assert.Equal(2, report.Listed.Count);
        Assert.Equal([DifferenceKind.Different, DifferenceKind.Different], report.Listed.Select(d => d.Kind));
        Assert.Equal("release", Assert.Single(report.Listed[0].Fields).Field);
        var rewards = Assert.Single(report.Listed[1].Fields);
        Assert.Equal(("rewards", GrantComparison.Rewards(prize.Grant.Rewards), "gems 1000000"), (rewards.Field, rewards.Expected, rewards.Recorded));

        var unlimited = new GrantComparison(replay.Expected, 100);
        unlimited.Add(Entry(prize, 1));
        unlimited.Add(Entry(prize, 2));
        var listed = unlimited.Finish().Listed;
        Assert.Equal([DifferenceKind.Extra, .. Enumerable.Repeat(DifferenceKind.Missing, 5)], listed.Select(d => d.Kind));
    }
}
