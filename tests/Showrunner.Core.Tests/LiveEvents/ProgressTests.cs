using Showrunner.Core.LiveEvents;
using Showrunner.Core.Rules.Evaluation;
using Showrunner.Core.Rules.Model;
using static Showrunner.Core.Tests.LiveEvents.LiveEventFixtures;

namespace Showrunner.Core.Tests.LiveEvents;

/// <summary>
/// Progress under caps: max_per_hour per UTC clock hour of the ingest time, the per-action safety
/// bound across objectives, checked totals, and tiers reached once per player per run.
/// </summary>
[Trait("Category", "Unit")]
public sealed class ProgressTests
{
    private const string Schedule = """
        start    = "2025-07-24T16:00:00Z"
        duration = "7d"
        """;

    private const string TwoObjectives = """
        objective "a" {
          on           = "score"
          points       = action.a
          max_per_hour = 60
        }
        objective "b" {
          on     = "score"
          points = action.b
        }
        tier "bronze" {
          at     = 100
          reward = { gems = 1 }
        }
        tier "silver" {
          at     = 150
          reward = { gems = 2 }
        }
        tier "gold" {
          at     = 1000
          reward = { gems = 3 }
        }
        """;

    private static (ProgressRules Rules, PlayerRunProgress Progress) Setup(string bounds = "")
    {
        var release = Release(Schedule, TwoObjectives, bounds);
        var definition = release.Events[0];
        return (new ProgressRules(definition, 0, release.Bounds), new PlayerRunProgress("p1", new RunKey("ev", 0), definition.Objectives.Count));
    }

    private long _seq;

    private ProgressAction ActionAt(DateTimeOffset at, string? id = null)
    {
        long s = ++_seq;
        return new ProgressAction(id ?? "act-" + s, at.UtcTicks, 3, s);
    }

    private static ObjectiveOutcome[] Outcomes(long? a, long? b)
    {
        var outcomes = new List<ObjectiveOutcome>();
        if (a is { } pa)
        {
            outcomes.Add(new ObjectiveOutcome(0, 0, pa, EvaluationFailure.None));
        }
        if (b is { } pb)
        {
            outcomes.Add(new ObjectiveOutcome(0, 1, pb, EvaluationFailure.None));
        }
        return [.. outcomes];
    }

    private static DateTimeOffset Utc(int hour, int minute, int second = 0) => new(2025, 7, 25, hour, minute, second, TimeSpan.Zero);

    [Fact]
    public void Max_per_hour_caps_an_objective_per_utc_clock_hour_of_the_ingest_time()
    {
        var (rules, progress) = Setup();
        Assert.Equal(50, rules.Apply(progress, RunPhase.Active, ActionAt(Utc(10, 0)), Outcomes(50, null)).Added);
        Assert.Equal(10, rules.Apply(progress, RunPhase.Active, ActionAt(Utc(10, 59, 59)), Outcomes(50, null)).Added);
        Assert.Equal(0, rules.Apply(progress, RunPhase.Active, ActionAt(Utc(10, 59, 59)), Outcomes(50, null)).Added);
        // A new clock hour is a new bucket, even one second later: not a sliding window.
        Assert.Equal(60, rules.Apply(progress, RunPhase.Active, ActionAt(Utc(11, 0)), Outcomes(70, null)).Added);
        // The uncapped objective is not limited.
        Assert.Equal(500, rules.Apply(progress, RunPhase.Active, ActionAt(Utc(11, 1)), Outcomes(5, 500)).Added);
        Assert.Equal([120L, 500L], progress.ObjectivePoints);
        Assert.Equal(620, progress.Total);
        // The ingest clock stepped back to 10:30: charged to the later, full 11:00 bucket.
        Assert.Equal(0, rules.Apply(progress, RunPhase.Active, ActionAt(Utc(10, 30)), Outcomes(5, null)).Added);
        Assert.Equal(60, rules.Apply(progress, RunPhase.Active, ActionAt(Utc(13, 30)), Outcomes(100, null)).Added);
    }

    [Fact]
    public void Max_points_per_action_caps_the_sum_over_objectives_in_declaration_order()
    {
        var (rules, progress) = Setup("""
            safety_bounds {
              max_points_per_action = 80
            }
            """);
        var result = rules.Apply(progress, RunPhase.Active, ActionAt(Utc(10, 0)), Outcomes(50, 50));
        Assert.Equal(80, result.Added);
        Assert.Equal([50L, 30L], progress.ObjectivePoints);
        // The hourly cap applies first, then the action's budget.
        result = rules.Apply(progress, RunPhase.Active, ActionAt(Utc(10, 1)), Outcomes(50, 500));
        Assert.Equal(80, result.Added);
        Assert.Equal([60L, 100L], progress.ObjectivePoints);
    }

    [Fact]
    public void Failed_zero_and_negative_outcomes_are_ignored_and_other_events_are_skipped()
    {
        var (rules, progress) = Setup();
        ObjectiveOutcome[] outcomes =
        [
            new(0, 0, -5, EvaluationFailure.None),
            new(0, 1, 0, EvaluationFailure.Overflow),
            new(1, 0, 40, EvaluationFailure.None),
        ];
        var result = rules.Apply(progress, RunPhase.Active, ActionAt(Utc(10, 0)), outcomes);
        Assert.Equal(ProgressStatus.Applied, result.Status);
        Assert.Equal(0, result.Added);
        Assert.Null(result.AchievedAt);
        Assert.False(result.BecameParticipant);
        Assert.Equal(0, progress.Total);
    }

    [Theory]
    [InlineData((int)RunPhase.Scheduled)]
    [InlineData((int)RunPhase.Paused)]
    [InlineData((int)RunPhase.Grace)]
    [InlineData((int)RunPhase.Finalizing)]
    [InlineData((int)RunPhase.Finalized)]
    [InlineData((int)RunPhase.Cancelled)]
    public void Progress_counts_only_while_the_run_is_active(int phaseValue)
    {
        var phase = (RunPhase)phaseValue;
        var (rules, progress) = Setup();
        var result = rules.Apply(progress, phase, ActionAt(Utc(10, 0)), Outcomes(50, 500));
        Assert.Equal(ProgressStatus.NotActive, result.Status);
        Assert.Equal(0, progress.Total);
        Assert.Empty(result.Grants);
    }

    [Fact]
    public void A_total_that_would_overflow_applies_nothing()
    {
        var (rules, progress) = Setup();
        Assert.Equal(long.MaxValue - 10, rules.Apply(progress, RunPhase.Active, ActionAt(Utc(10, 0)), Outcomes(null, long.MaxValue - 10)).Added);
        var achieved = progress.AchievedAt;
        var overflow = rules.Apply(progress, RunPhase.Active, ActionAt(Utc(10, 1)), Outcomes(5, 11));
        Assert.Equal(ProgressStatus.Overflow, overflow.Status);
        Assert.Equal(long.MaxValue - 10, progress.Total);
        Assert.Equal([0L, long.MaxValue - 10], progress.ObjectivePoints);
        Assert.Equal(achieved, progress.AchievedAt);
        // The sum of one action's objectives overflowing is refused too.
        var (rules2, fresh) = Setup();
        Assert.Equal(ProgressStatus.Overflow, rules2.Apply(fresh, RunPhase.Active, ActionAt(Utc(10, 0)), Outcomes(60, long.MaxValue)).Status);
        Assert.Equal(0, fresh.Total);
        // Exactly long.MaxValue is fine.
        Assert.Equal(ProgressStatus.Applied, rules.Apply(progress, RunPhase.Active, ActionAt(Utc(10, 2)), Outcomes(10, null)).Status);
        Assert.Equal(long.MaxValue, progress.Total);
    }

    [Fact]
    public void Tiers_are_reached_once_in_at_order_with_a_fixed_cause_id_and_the_crossing_action_recorded()
    {
        var (rules, progress) = Setup();
        var first = rules.Apply(progress, RunPhase.Active, ActionAt(Utc(10, 0), "a1"), Outcomes(null, 90));
        Assert.Empty(first.TiersReached);
        Assert.True(first.BecameParticipant);

        var crossing = rules.Apply(progress, RunPhase.Active, ActionAt(Utc(10, 1), "a2"), Outcomes(null, 70));
        Assert.Equal(["bronze", "silver"], crossing.TiersReached.Select(t => t.Name));
        Assert.Equal(
            [("ev", 0L, "p1", "tier:bronze", "tier", "a2", 1L), ("ev", 0L, "p1", "tier:silver", "tier", "a2", 2L)],
            crossing.Grants.Select(g => (g.EventId, g.Run, g.Player, g.Rule, g.CauseId, g.ActionId, g.Reward.Lines[0].Amount)));
        Assert.False(crossing.BecameParticipant);

        // The same total again (points all capped, or zero points) reaches nothing new.
        Assert.Empty(rules.Apply(progress, RunPhase.Active, ActionAt(Utc(10, 2), "a3"), Outcomes(0, 0)).TiersReached);
        Assert.Empty(rules.Apply(progress, RunPhase.Active, ActionAt(Utc(10, 3), "a4"), Outcomes(60, null)).TiersReached);
        Assert.Empty(rules.Apply(progress, RunPhase.Active, ActionAt(Utc(10, 4), "a5"), Outcomes(60, null)).TiersReached);
        Assert.Equal(["bronze", "silver"], progress.TiersReached);

        // Restored progress remembers its tiers.
        var restored = PlayerRunProgress.Restore("p1", progress.Run, progress.ObjectivePoints, progress.Total, progress.AchievedAt, progress.HourBuckets, progress.HourPoints, progress.TiersReached);
        Assert.Empty(rules.Apply(restored, RunPhase.Active, ActionAt(Utc(10, 5)), Outcomes(0, 1)).TiersReached);
        Assert.Equal(["gold"], rules.Apply(restored, RunPhase.Active, ActionAt(Utc(10, 6)), Outcomes(0, 1000)).TiersReached.Select(t => t.Name));
    }

    [Fact]
    public void Achieved_at_moves_only_when_points_are_added()
    {
        var (rules, progress) = Setup();
        var first = ActionAt(Utc(10, 0));
        rules.Apply(progress, RunPhase.Active, first, Outcomes(60, null));
        Assert.Equal(first.AchievedAt, progress.AchievedAt);
        rules.Apply(progress, RunPhase.Active, ActionAt(Utc(10, 5)), Outcomes(60, null)); // capped to 0
        Assert.Equal(first.AchievedAt, progress.AchievedAt);
        var later = ActionAt(Utc(10, 6));
        var result = rules.Apply(progress, RunPhase.Active, later, Outcomes(null, 1));
        Assert.Equal(later.AchievedAt, result.AchievedAt);
        Assert.Equal(later.AchievedAt, progress.AchievedAt);
    }

    [Fact]
    public void Seeded_random_actions_never_exceed_a_cap_and_the_total_is_the_sum()
    {
        const int seed = 9001;
        var random = new Random(seed);
        var (rules, progress) = Setup("""
            safety_bounds {
              max_points_per_action = 45
            }
            """);
        var perHour = new Dictionary<long, long>();
        var now = Utc(0, 0);
        for (int i = 0; i < 5000; i++)
        {
            now += TimeSpan.FromSeconds(random.Next(0, 200));
            var action = ActionAt(now);
            long before = progress.ObjectivePoints[0];
            var result = rules.Apply(progress, RunPhase.Active, action, Outcomes(random.Next(-10, 40), random.Next(-10, 40)));
            Assert.InRange(result.Added, 0, 45);
            perHour[action.HourBucket] = perHour.GetValueOrDefault(action.HourBucket) + (progress.ObjectivePoints[0] - before);
            Assert.True(perHour[action.HourBucket] <= 60, $"seed {seed}: hour {action.HourBucket} got {perHour[action.HourBucket]}");
            Assert.Equal(progress.ObjectivePoints.Sum(), progress.Total);
        }
    }

    [Fact]
    public void Restore_refuses_inconsistent_progress()
    {
        var run = new RunKey("ev", 0);
        Assert.Throws<InvalidOperationException>(() => PlayerRunProgress.Restore("p", run, [1, 2], 4, new AchievedAt(1, 0, 1), [0, 0], [0, 0], []));
        Assert.Throws<InvalidOperationException>(() => PlayerRunProgress.Restore("p", run, [1, 2], 3, null, [0, 0], [0, 0], []));
        Assert.Throws<ArgumentException>(() => PlayerRunProgress.Restore("p", run, [1, 2], 3, new AchievedAt(1, 0, 1), [0], [0, 0], []));
    }

    [Fact]
    public void Outcomes_out_of_declaration_order_are_refused()
    {
        var (rules, progress) = Setup();
        ObjectiveOutcome[] outcomes = [new(0, 1, 5, EvaluationFailure.None), new(0, 0, 5, EvaluationFailure.None)];
        Assert.Throws<ArgumentException>(() => rules.Apply(progress, RunPhase.Active, ActionAt(Utc(10, 0)), outcomes));
    }
}
