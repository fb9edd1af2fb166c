using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;
using Showrunner.Core.Ledger;
using Showrunner.Core.Rollouts;

namespace Showrunner.Core.Tests.Rollouts;

/// <summary>Sticky bucketing (property-based, seeded), plan parsing and gate verdicts.</summary>
[Trait("Category", "Fuzz")]
public sealed class RolloutTests
{
    private static readonly Config Settings = Config.QuickThrowOnFailure
        .WithMaxTest(500)
        .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd(20261202, 0x9E3779B97F4A7C15), FSharpOption<int>.None)));

    /// <summary>(salt, players, an increasing sequence of percentages in basis points).</summary>
    private static readonly Arbitrary<(string Salt, string[] Players, int[] Steps)> Plans =
        (from salt in ArbMap.Default.GeneratorFor<NonEmptyString>()
         from players in ArbMap.Default.GeneratorFor<NonEmptyString>().ArrayOf()
         from steps in Gen.Choose(0, 10_000).ArrayOf()
         select (salt.Get, players.Select(p => p.Get).ToArray(), steps.Order().ToArray()))
            .ToArbitrary();

    [Fact]
    [Trait("Category", "Fuzz")]
    public void Raising_the_percentage_never_moves_a_player_out_of_the_candidate()
    {
        Prop.ForAll(Plans, input =>
        {
            var (salt, players, steps) = input;
            foreach (string player in players)
            {
                bool wasIn = false;
                foreach (int percent in steps)
                {
                    bool isIn = Bucketing.InCohort(salt, player, percent);
                    if (wasIn && !isIn)
                    {
                        return false;
                    }
                    wasIn = isIn;
                }
                // Stable: the same inputs give the same bucket, in range.
                int bucket = Bucketing.BucketOf(salt, player);
                if (bucket != Bucketing.BucketOf(salt, player) || bucket is < 0 or >= Bucketing.Buckets)
                {
                    return false;
                }
            }
            return true;
        }).Check(Settings);
    }

    [Fact]
    public void Buckets_are_spread_evenly_and_differ_by_salt()
    {
        var players = Enumerable.Range(0, 20_000).Select(i => "p-" + i).ToList();
        int tenPercent = players.Count(p => Bucketing.InCohort("salt-a", p, 1_000));
        Assert.InRange(tenPercent, 1_800, 2_200);
        int same = players.Count(p => Bucketing.InCohort("salt-a", p, 1_000) && Bucketing.InCohort("salt-b", p, 1_000));
        Assert.InRange(same, 100, 300); // independent: about 1 % of players are in both 10 % cohorts
        Assert.All(players, p => Assert.False(Bucketing.InCohort("salt-a", p, 0)));
        Assert.All(players, p => Assert.True(Bucketing.InCohort("salt-a", p, 10_000)));
    }

    [Fact]
    public void Plans_parse_with_defaults_and_every_problem_is_named()
    {
        var (plan, errors) = RolloutPlan.Parse(JsonDocument.Parse("""{"steps":[{"mode":"shadow","percent":100,"min_soak_seconds":30},{"percent":0.5},{"percent":100}],"on_rollback":"reverse","gates":{"min_actions":10}}""").RootElement);
        Assert.Empty(errors);
        Assert.Equal([StepMode.Shadow, StepMode.Live, StepMode.Live], plan!.Steps.Select(s => s.Mode));
        Assert.Equal([10_000, 50, 10_000], plan.Steps.Select(s => s.PercentBasisPoints));
        Assert.Equal((RollbackPolicy.Reverse, 10L, 200L, true), (plan.OnRollback, plan.Gates.MinActions, plan.Gates.MaxRewardRatioPercent, plan.AutoAdvance));
        var (again, _) = RolloutPlan.Parse(JsonDocument.Parse(plan.ToJson()).RootElement);
        Assert.Equal(plan.ToJson(), again!.ToJson());

        var (bad, problems) = RolloutPlan.Parse(JsonDocument.Parse("""{"steps":[{"percent":100},{"mode":"shadow","percent":1.234},{"percent":-1,"x":1}],"on_rollback":"undo","gates":{"nope":1,"min_actions":-5},"extra":1}""").RootElement);
        Assert.Null(bad);
        Assert.Equal(["plan.extra", "plan.gates.min_actions", "plan.gates.nope", "plan.on_rollback", "plan.steps[1].percent", "plan.steps[2].percent", "plan.steps[2].x"],
            problems.Select(p => p.Field).Order(StringComparer.Ordinal));
        var (notLast, last) = RolloutPlan.Parse(JsonDocument.Parse("""{"steps":[{"percent":50}]}""").RootElement);
        Assert.Null(notLast);
        Assert.Contains("last step", Assert.Single(last).Message, StringComparison.Ordinal);
    }

    private static CohortTotals Cohort(long actions, long rejected, long gems, long grants, long latencyMicros = 10)
    {
        var meter = new CohortMeter();
        for (long i = 0; i < actions - rejected; i++)
        {
            meter.CountAction(latencyMicros);
        }
        for (long i = 0; i < rejected; i++)
        {
            meter.CountRejected(latencyMicros);
        }
        for (long i = 0; i < grants; i++)
        {
            meter.CountGrant("hunt", [new RewardLine("gems", gems / grants)]);
        }
        var totals = new CohortTotals();
        meter.AddTo(totals);
        return totals;
    }

    [Fact]
    public void Gates_fail_on_a_tenfold_reward_rate_pass_at_parity_with_enough_data_and_are_inconclusive_without_it()
    {
        var gates = new GateThresholds(MinActions: 100);
        var parity = Gates.Evaluate(gates, Cohort(20_000, 0, 20_000, 2_000), Cohort(10_000, 0, 10_000, 1_000));
        Assert.Equal(GateStatus.Pass, Gates.Overall(parity));

        var tenfold = Gates.Evaluate(gates, Cohort(1000, 0, 1000, 100), Cohort(500, 0, 5000, 50));
        var failed = Assert.Single(tenfold, g => g.Status == GateStatus.Fail);
        Assert.Equal((Gates.RewardRate, "hunt", "gems"), (failed.Gate, failed.Event, failed.Reward));
        Assert.Equal(("10000 per 1,000 actions", "1000 per 1,000 actions"), (failed.Candidate, failed.Baseline));

        Assert.Equal(GateStatus.Inconclusive, Gates.Overall(Gates.Evaluate(gates, Cohort(1000, 0, 1000, 100), Cohort(99, 0, 99_000, 99))));
        // One grant where the baseline has none yet is not evidence: the baseline is never taken as zero (GateStatisticsTests).
        var minting = Gates.Evaluate(gates, Cohort(1000, 0, 0, 0), Cohort(200, 0, 10, 1));
        Assert.Contains(minting, g => g.Status == GateStatus.Inconclusive && g.Detail.Contains("not taken as zero", StringComparison.Ordinal));
        Assert.DoesNotContain(minting, g => g.Status == GateStatus.Fail);

        // Rejections: +0.2 points over 20,000 actions each passes the 1-point margin; +5 points over 5,000 each fails.
        Assert.Equal(GateStatus.Pass, Gates.Evaluate(gates, Cohort(20_000, 200, 0, 0), Cohort(20_000, 240, 0, 0)).Single(g => g.Gate == Gates.RejectionRate).Status);
        Assert.Equal(GateStatus.Fail, Gates.Evaluate(gates, Cohort(5_000, 50, 0, 0), Cohort(5_000, 300, 0, 0)).Single(g => g.Gate == Gates.RejectionRate).Status);

        // Latency: p95 of 8 ms against 10 µs fails; 30 µs against 10 µs passes on the slack.
        Assert.Equal(GateStatus.Fail, Gates.Evaluate(gates, Cohort(1000, 0, 0, 0, 10), Cohort(1000, 0, 0, 0, 8000)).Single(g => g.Gate == Gates.P95Latency).Status);
        Assert.Equal(GateStatus.Pass, Gates.Evaluate(gates, Cohort(1000, 0, 0, 0, 10), Cohort(1000, 0, 0, 0, 30)).Single(g => g.Gate == Gates.P95Latency).Status);
    }
}
