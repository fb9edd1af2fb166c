using Showrunner.Core.LiveEvents;
using Showrunner.Core.Rules.Evaluation;
using Showrunner.Core.Rules.Model;
using static Showrunner.Core.Tests.LiveEvents.LiveEventFixtures;

namespace Showrunner.Core.Tests.LiveEvents;

/// <summary>
/// Community goals: per-partition grow-only slots summed by a coordinator that records the goal
/// once per run, participants (progress &gt; 0) granted once whichever path grants them.
/// </summary>
[Trait("Category", "Unit")]
public sealed class CommunityGoalTests
{
    private static EventDefinition Goal() => Release("""
        start    = "2025-07-24T16:00:00Z"
        duration = "2h"
        """, OneObjective + "\n" + """
        community_goal {
          target = 100
          reward = { gems = 7 }
        }
        """).Events[0];

    [Fact]
    public void Slots_grow_only_and_saturate_instead_of_overflowing()
    {
        Assert.Equal(15, CommunityGoals.Add(10, 5));
        Assert.Equal(long.MaxValue, CommunityGoals.Add(long.MaxValue - 1, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => CommunityGoals.Add(10, -1));
        Assert.Equal(long.MaxValue, CommunityGoals.Sum([long.MaxValue, 1, 2]));
        Assert.Equal(6, CommunityGoals.Sum([1, 2, 3]));
    }

    [Fact]
    public void The_coordinator_records_the_goal_once_when_the_sum_reaches_the_target()
    {
        var definition = Goal();
        long[] slots = [30, 40, 0, 29];
        CommunityGoalReached? recorded = null;
        Assert.Null(CommunityGoals.Decide(definition, 0, RunPhase.Active, slots, recorded, At(1)));

        slots[2] = CommunityGoals.Add(slots[2], 1);
        recorded = CommunityGoals.Decide(definition, 0, RunPhase.Active, slots, recorded, At(1.5));
        Assert.Equal(new CommunityGoalReached("ev", 0, At(1.5), 100), recorded);

        // Asked again, later, with more progress: nothing new to record.
        slots[0] = CommunityGoals.Add(slots[0], 500);
        Assert.Null(CommunityGoals.Decide(definition, 0, RunPhase.Active, slots, recorded, At(1.6)));
        Assert.Null(CommunityGoals.Decide(definition, 0, RunPhase.Grace, slots, recorded, At(2.5)));
    }

    [Theory]
    [InlineData((int)RunPhase.Active, true)]
    [InlineData((int)RunPhase.Paused, true)]
    [InlineData((int)RunPhase.Grace, true)]
    [InlineData((int)RunPhase.Finalizing, true)]
    [InlineData((int)RunPhase.Scheduled, false)]
    [InlineData((int)RunPhase.Finalized, false)]
    [InlineData((int)RunPhase.Cancelled, false)]
    public void A_lagging_coordinator_still_records_a_goal_reached_during_the_run_but_not_after_cancel_or_finalization(int phase, bool records)
    {
        var decision = CommunityGoals.Decide(Goal(), 0, (RunPhase)phase, [100], null, At(2.5));
        Assert.Equal(records, decision is not null);
    }

    [Fact]
    public void An_event_without_a_goal_never_records_one()
    {
        Assert.Null(CommunityGoals.Decide(OneOff(), 0, RunPhase.Active, [long.MaxValue], null, At(1)));
    }

    [Fact]
    public void Participants_are_players_with_progress_in_the_run_each_granted_with_one_cause()
    {
        var definition = Goal();
        var rules = new ProgressRules(definition, 0, SafetyBounds.None);
        var run = new RunKey("ev", 0);
        var progress = new[] { "zed", "Alice", "bob", "idle" }.Select(p => new PlayerRunProgress(p, run, 1)).ToList();
        long seq = 0;
        foreach (var p in progress.Where(p => p.Player != "idle"))
        {
            rules.Apply(p, RunPhase.Active, new ProgressAction("a" + ++seq, At(1).UtcTicks, 0, seq), [new ObjectiveOutcome(0, 0, 10, EvaluationFailure.None)]);
        }
        var otherRun = new PlayerRunProgress("other-run", new RunKey("ev", 1), 1);

        var grants = CommunityGoals.Participants(definition, 0, [.. progress, otherRun]);
        Assert.Equal(["Alice", "bob", "zed"], grants.Select(g => g.Player));
        Assert.All(grants, g => Assert.Equal(("ev", 0L, "community_goal", "community_goal", 7L), (g.EventId, g.Run, g.Rule, g.CauseId, g.Reward.Lines[0].Amount)));

        // A player whose first points arrive after the goal was recorded is granted then, with the same cause.
        var idle = progress.Single(p => p.Player == "idle");
        var first = rules.Apply(idle, RunPhase.Active, new ProgressAction("late", At(1.9).UtcTicks, 0, ++seq), [new ObjectiveOutcome(0, 0, 1, EvaluationFailure.None)]);
        Assert.Equal(CommunityGoals.Cause(definition, 0, "idle"), CommunityGoals.OnProgress(definition, idle, first, goalReached: true));
        var second = rules.Apply(idle, RunPhase.Active, new ProgressAction("later", At(1.95).UtcTicks, 0, ++seq), [new ObjectiveOutcome(0, 0, 1, EvaluationFailure.None)]);
        Assert.Null(CommunityGoals.OnProgress(definition, idle, second, goalReached: true));
        Assert.Null(CommunityGoals.OnProgress(definition, idle, first, goalReached: false));
    }
}
