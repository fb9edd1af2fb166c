using System.Globalization;
using System.Text.Json;
using Showrunner.Core.Ledger;
using Showrunner.Core.Rollouts;
using Showrunner.Testing;
using Xunit.Abstractions;

namespace Showrunner.Core.Tests.Rollouts;

/// <summary>
/// The gates do not fire on noise (issue 12, item 7): the sequential tests behind them, the cold
/// start that once rolled back an identical candidate, A/A rollouts over many seeds, and how fast a
/// candidate that pays too much is still caught.
/// </summary>
[Trait("Category", "Simulation")]
public sealed class GateStatisticsTests(ITestOutputHelper output)
{
    private static CohortTotals Cohort(long actions, params (string Event, long Grants, string Reward, long Amount, long Largest)[] grants)
    {
        var totals = new CohortTotals { Actions = actions };
        totals.Latency[7] = actions;
        foreach (var (eventId, count, reward, amount, largest) in grants)
        {
            var counters = totals.Event(eventId);
            counters.Grants += count;
            counters.Amounts[reward] = counters.Amounts.GetValueOrDefault(reward) + amount;
            counters.MaxAmounts[reward] = Math.Max(counters.MaxAmounts.GetValueOrDefault(reward), largest);
        }
        return totals;
    }

    [Fact]
    public void Log_gamma_matches_known_values()
    {
        Assert.Equal(0, SequentialTests.LogGamma(1), 12);
        Assert.Equal(0, SequentialTests.LogGamma(2), 12);
        Assert.Equal(Math.Log(Math.Sqrt(Math.PI)), SequentialTests.LogGamma(0.5), 12);
        Assert.Equal(Math.Log(3_628_800), SequentialTests.LogGamma(11), 10);
        // Large arguments against Stirling's series (its error there is below 1e-12).
        double x = 50_000.5;
        double stirling = ((x - 0.5) * Math.Log(x)) - x + (0.5 * Math.Log(2 * Math.PI)) + (1 / (12 * x)) - (1 / (360 * x * x * x));
        Assert.Equal(stirling, SequentialTests.LogGamma(x), 6);
    }

    [Fact]
    public void A_proportion_interval_holds_its_estimate_narrows_with_data_and_covers_the_truth_in_seeded_draws()
    {
        double level = Math.Log(2_000);
        var (low, high) = SequentialTests.ProportionBounds(10, 1_000, level);
        Assert.True(low < 0.01 && 0.01 < high, $"{low} {high}");
        var (wideLow, wideHigh) = SequentialTests.ProportionBounds(1, 100, level);
        Assert.True(wideHigh - wideLow > high - low);
        Assert.Equal(0, SequentialTests.ProportionBounds(0, 1_000, level).Lower);
        Assert.Equal(1, SequentialTests.ProportionBounds(1_000, 1_000, level).Upper);

        // Coverage at every look: 300 seeded streams of 2,000 Bernoulli(0.02) draws, 1 % error allowed per stream.
        const int seed = 712;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        int missed = 0;
        for (int stream = 0; stream < 300; stream++)
        {
            long successes = 0;
            for (int n = 1; n <= 2_000; n++)
            {
                successes += random.NextDouble() < 0.02 ? 1 : 0;
                if (n % 50 == 0)
                {
                    var (l, h) = SequentialTests.ProportionBounds(successes, n, Math.Log(100));
                    if (l > 0.02 || h < 0.02)
                    {
                        missed++;
                        break;
                    }
                }
            }
        }
        output.WriteLine($"streams whose interval ever missed the truth: {missed} of 300 (bound: 3)");
        Assert.True(missed <= 3, $"{missed} streams missed");
    }

    [Fact]
    public void The_cold_start_that_rolled_back_an_identical_candidate_is_inconclusive_not_a_failure()
    {
        // The incident: 50 % live, default min_actions, one grant in the candidate's ~2,900 actions, none yet in the baseline's.
        var gates = Gates.Evaluate(new GateThresholds(), Cohort(2_950), Cohort(2_940, ("daily", 1, "gems", 10, 10)));
        var grant = gates.Single(g => g.Gate == Gates.GrantRate);
        Assert.Equal(GateStatus.Inconclusive, grant.Status);
        Assert.Equal(("0.34 per 1,000 actions", "0 per 1,000 actions"), (grant.Candidate, grant.Baseline));
        Assert.Contains("not taken as zero", grant.Detail, StringComparison.Ordinal);
        Assert.Equal(GateStatus.Inconclusive, Gates.Overall(gates));
    }

    [Fact]
    public void A_reward_the_baseline_never_mints_fails_only_once_the_candidates_count_is_significant_for_the_exposure()
    {
        var thresholds = new GateThresholds();
        // At 50 %, each event is the candidate's with probability 2/3 even at twice the baseline's rate: a few prove nothing.
        GateStatus At(long candidateEvents, long candidateActions, long baselineActions) =>
            Gates.Evaluate(thresholds, Cohort(baselineActions), Cohort(candidateActions, ("new", candidateEvents, "egg", candidateEvents, 1)))
                .Single(g => g.Gate == Gates.GrantRate).Status;
        // The thresholds docs/operations.md quotes (three statistical gates, default rate 0.001): 24 at 50 %, 6 at 10 %, 3 at 1 %.
        Assert.Equal(GateStatus.Inconclusive, At(1, 5_000, 5_000));
        Assert.Equal(GateStatus.Inconclusive, At(23, 5_000, 5_000));
        Assert.Equal(GateStatus.Fail, At(24, 5_000, 5_000));
        Assert.Equal(GateStatus.Inconclusive, At(5, 1_000, 9_000));
        Assert.Equal(GateStatus.Fail, At(6, 1_000, 9_000));
        // With a 1 % candidate the baseline's exposure is 99 times larger: a handful of events is already significant.
        Assert.Equal(GateStatus.Inconclusive, At(2, 1_000, 99_000));
        Assert.Equal(GateStatus.Fail, At(3, 1_000, 99_000));
    }

    [Fact]
    public void Rate_gates_pass_with_evidence_fail_with_evidence_and_otherwise_wait()
    {
        var thresholds = new GateThresholds(MinActions: 100);
        var baseline = Cohort(10_000, ("hunt", 1_000, "gems", 10_000, 10));
        // Parity with plenty of events: both gates pass.
        var parity = Gates.Evaluate(thresholds, baseline, Cohort(10_000, ("hunt", 1_000, "gems", 10_000, 10)));
        Assert.All(parity.Where(g => g.Event is not null), g => Assert.Equal(GateStatus.Pass, g.Status));
        Assert.Contains("Within the allowed ratio", parity.Single(g => g.Gate == Gates.RewardRate).Detail, StringComparison.Ordinal);
        // Ten times the gems per grant, same grants: reward_rate fails, grant_rate passes.
        var tenfold = Gates.Evaluate(thresholds, baseline, Cohort(10_000, ("hunt", 1_000, "gems", 100_000, 100)));
        var failed = Assert.Single(tenfold, g => g.Status == GateStatus.Fail);
        Assert.Equal((Gates.RewardRate, "hunt", "gems"), (failed.Gate, failed.Event, failed.Reward));
        Assert.Equal(("10000 per 1,000 actions", "1000 per 1,000 actions", "≤ 200% of baseline"), (failed.Candidate, failed.Baseline, failed.Threshold));
        // Exactly at the allowed ratio: never a failure; the data cannot show it is below, but with no
        // evidence of excess and a baseline that minted plenty, the observed rate within the ratio passes.
        var atRatio = Gates.Evaluate(thresholds, baseline, Cohort(10_000, ("hunt", 2_000, "gems", 20_000, 10))).Single(g => g.Gate == Gates.GrantRate);
        Assert.Equal(GateStatus.Pass, atRatio.Status);
        Assert.Contains("No evidence of excess", atRatio.Detail, StringComparison.Ordinal);
        // Just above it, without evidence of excess yet: inconclusive, never a pass.
        Assert.Equal(GateStatus.Inconclusive, Gates.Evaluate(thresholds, baseline, Cohort(10_000, ("hunt", 2_100, "gems", 21_000, 10)))
            .Single(g => g.Gate == Gates.GrantRate).Status);
        // Three times the grants: fails on grant_rate.
        Assert.Equal(GateStatus.Fail, Gates.Evaluate(thresholds, baseline, Cohort(10_000, ("hunt", 3_000, "gems", 30_000, 10)))
            .Single(g => g.Gate == Gates.GrantRate).Status);
        // A handful of events: neither (a baseline of 3 grants is too few to judge by).
        Assert.Equal(GateStatus.Inconclusive, Gates.Evaluate(thresholds, Cohort(1_000, ("hunt", 3, "gems", 30, 10)), Cohort(1_000, ("hunt", 5, "gems", 50, 10)))
            .Single(g => g.Gate == Gates.GrantRate).Status);
        Assert.Equal(GateStatus.Inconclusive, Gates.Evaluate(thresholds, Cohort(1_000, ("hunt", 3, "gems", 30, 10)), Cohort(1_000, ("hunt", 2, "gems", 20, 10)))
            .Single(g => g.Gate == Gates.GrantRate).Status);
        // Below min_actions everything waits, however extreme.
        Assert.Equal(GateStatus.Inconclusive, Gates.Overall(Gates.Evaluate(thresholds, baseline, Cohort(99, ("hunt", 99, "gems", 99_000, 1_000)))));
    }

    [Fact]
    public void Varying_amounts_count_as_units_of_the_largest_grant_so_one_rare_big_grant_is_not_evidence()
    {
        var thresholds = new GateThresholds(MinActions: 100);
        // The baseline paid 10 gems in each of 100 grants; the candidate paid 10 in 99 and 5,000 once (a rare prize).
        var gates = Gates.Evaluate(thresholds, Cohort(10_000, ("hunt", 100, "gems", 1_000, 10)), Cohort(10_000, ("hunt", 100, "gems", 5_990, 5_000)));
        var reward = gates.Single(g => g.Gate == Gates.RewardRate);
        Assert.NotEqual(GateStatus.Fail, reward.Status);
        Assert.Contains("units of 5000", reward.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Rejection_rate_is_judged_on_always_valid_intervals_of_both_cohorts()
    {
        var thresholds = new GateThresholds(MinActions: 100);
        GateResult Rejection(long baselineRejected, long candidateRejected, long actions)
        {
            var baseline = Cohort(actions);
            baseline.Rejected = baselineRejected;
            var candidate = Cohort(actions);
            candidate.Rejected = candidateRejected;
            return Gates.Evaluate(thresholds, baseline, candidate).Single(g => g.Gate == Gates.RejectionRate);
        }
        // 1 % against 6 %: at 1,000 actions each the intervals still overlap the 1-point margin; at 5,000 they do not.
        Assert.Equal(GateStatus.Inconclusive, Rejection(10, 60, 1_000).Status);
        Assert.Equal(GateStatus.Fail, Rejection(50, 300, 5_000).Status);
        // 1 % against 1.2 %: within the margin once the intervals are narrow enough.
        Assert.Equal(GateStatus.Inconclusive, Rejection(10, 12, 1_000).Status);
        Assert.Equal(GateStatus.Pass, Rejection(200, 240, 20_000).Status);
    }

    [Fact]
    public void The_false_positive_rate_is_a_validated_plan_field_with_a_default_and_old_plans_still_parse()
    {
        var (old, none) = RolloutPlan.Parse(JsonDocument.Parse("""{"steps":[{"percent":100}],"gates":{"min_actions":10,"max_reward_ratio_percent":150}}""").RootElement);
        Assert.Empty(none);
        Assert.Equal((10L, 150L, GateThresholds.DefaultFalsePositivePerMillion), (old!.Gates.MinActions, old.Gates.MaxRewardRatioPercent, old.Gates.FalsePositivePerMillion));

        var (plan, errors) = RolloutPlan.Parse(JsonDocument.Parse("""{"steps":[{"percent":100}],"gates":{"false_positive_rate":0.0001}}""").RootElement);
        Assert.Empty(errors);
        Assert.Equal(100L, plan!.Gates.FalsePositivePerMillion);
        Assert.Contains("\"false_positive_rate\":0.0001", plan.ToJson(), StringComparison.Ordinal);
        Assert.Equal(plan.ToJson(), RolloutPlan.Parse(JsonDocument.Parse(plan.ToJson()).RootElement).Plan!.ToJson());

        foreach (string bad in new[] { "0", "0.5", "0.0000001", "\"0.01\"", "-0.01", "true" })
        {
            var (refused, problems) = RolloutPlan.Parse(JsonDocument.Parse("""{"steps":[{"percent":100}],"gates":{"false_positive_rate":""" + bad + "}}").RootElement);
            Assert.Null(refused);
            Assert.Equal("plan.gates.false_positive_rate", Assert.Single(problems).Field);
        }
    }

    [Fact]
    [Trait("Category", "Simulation")]
    public void Identical_candidates_are_never_rolled_back_over_200_seeded_simulations()
    {
        const int firstSeed = 1_000, seeds = 200;
        output.WriteLine($"seeds {firstSeed}..{firstSeed + seeds - 1}; seed s runs scenario (s - {firstSeed}) mod {GateSimulation.IdenticalScenarios.Length}");
        int rolledBack = 0;
        var passed = new int[GateSimulation.IdenticalScenarios.Length];
        var runs = new int[GateSimulation.IdenticalScenarios.Length];
        for (int seed = firstSeed; seed < firstSeed + seeds; seed++)
        {
            int which = (seed - firstSeed) % GateSimulation.IdenticalScenarios.Length;
            var outcome = GateSimulation.Run(GateSimulation.IdenticalScenarios[which], seed);
            runs[which]++;
            passed[which] += outcome.Final == GateStatus.Pass ? 1 : 0;
            if (outcome.RolledBackAt is { } at)
            {
                rolledBack++;
                output.WriteLine($"seed {seed} ({GateSimulation.IdenticalScenarios[which].Name}) rolled back at {at.TotalSeconds} s: {outcome.Failed}");
            }
        }
        for (int i = 0; i < GateSimulation.IdenticalScenarios.Length; i++)
        {
            output.WriteLine($"{GateSimulation.IdenticalScenarios[i].Name}: {runs[i]} runs, {passed[i]} ended with every gate passing, the rest inconclusive");
        }
        output.WriteLine($"A/A rollbacks: {rolledBack} of {seeds} simulations ({seeds * 1_200} gate evaluations, one per 250 ms tick)");
        Assert.Equal(0, rolledBack);
    }

    [Fact]
    [Trait("Category", "Simulation")]
    public void A_candidate_paying_ten_times_the_gems_is_rolled_back_within_one_second_at_the_api_tests_rates()
    {
        // RolloutApiTests' workload: every action is a grant (10 gems; the candidate pays 100), 50 %, min_actions 40.
        var scenario = new GateSimulation.Scenario("10x, every action a grant, 50 %, 200 actions/s", 200, 5_000, TimeSpan.FromSeconds(10),
            new GateThresholds(MinActions: 40), RewardMultiplier: 10, GrantEveryAction: true);
        var times = new List<double>();
        for (int seed = 1; seed <= 50; seed++)
        {
            var outcome = GateSimulation.Run(scenario, seed);
            Assert.True(outcome.RolledBackAt is not null, $"seed {seed}: not rolled back in 10 s");
            Assert.Equal((Gates.RewardRate, "gems"), (outcome.Failed!.Gate, outcome.Failed.Reward));
            times.Add(outcome.RolledBackAt!.Value.TotalSeconds);
        }
        output.WriteLine($"seeds 1..50; time to rollback: max {times.Max().ToString(CultureInfo.InvariantCulture)} s, mean {times.Average().ToString("0.00", CultureInfo.InvariantCulture)} s");
        Assert.All(times, t => Assert.True(t <= 1.0, $"{t} s"));
    }
}
