using Showrunner.Core.Rollouts;

namespace Showrunner.Testing;

/// <summary>
/// A seeded, single-threaded simulation of a rollout step's gates: traffic arrives as a Poisson
/// process, each action goes to the candidate's cohort with the step's share, and each cohort's
/// rejections, grants and reward amounts are drawn per action from the same workload (times the
/// candidate's multipliers). The gates are evaluated on the cumulative counts every tick (250 ms,
/// as <c>RolloutController</c> does) and the first failing verdict is the rollback.
/// Shared by the gate tests (tests/Showrunner.Core.Tests) and <c>bench gates</c>.
/// </summary>
/// <remarks>
/// Workload per action, in both cohorts: 0.5 % rejected by schema; event <c>hunt</c> grants with
/// probability 0.1, paying 10, 20 or 50 gems (70/25/5 %) and a <c>blade</c> in 3 % of its grants;
/// event <c>rare</c> grants with probability 0.0003 (100 gems): at a few thousand actions a cohort
/// has seen zero or one of them, the cold start that once rolled back an identical candidate.
/// </remarks>
internal static class GateSimulation
{
    public static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(250);

    /// <summary>The A/A scenarios: identical cohorts at low and cold-start volumes, for five simulated minutes each (the default plan's soak per step).</summary>
    public static readonly Scenario[] IdenticalScenarios =
    [
        new("cold start, the API test's plan (min_actions 40), 50 %, 200 actions/s", 200, 5_000, TimeSpan.FromMinutes(5), new GateThresholds(MinActions: 40)),
        new("the incident: default plan (min_actions 1000), 50 %, 500 actions/s", 500, 5_000, TimeSpan.FromMinutes(5), new GateThresholds()),
        new("low volume canary, 10 %, 20 actions/s, min_actions 40", 20, 1_000, TimeSpan.FromMinutes(5), new GateThresholds(MinActions: 40)),
        new("1 % canary, 2,000 actions/s, min_actions 40", 2_000, 100, TimeSpan.FromMinutes(5), new GateThresholds(MinActions: 40)),
        new("no margin: max_reward_ratio_percent 100, 50 %, 200 actions/s, min_actions 40", 200, 5_000, TimeSpan.FromMinutes(5),
            new GateThresholds(MinActions: 40, MaxRewardRatioPercent: 100)),
    ];


    /// <param name="ActionsPerSecond">Both cohorts together.</param>
    /// <param name="CandidateBasisPoints">The step's share of actions the candidate evaluates.</param>
    /// <param name="RewardMultiplier">The candidate pays this times the gems of <c>hunt</c> (1: an identical release).</param>
    /// <param name="GrantMultiplier">The candidate grants <c>hunt</c> this times as often.</param>
    /// <param name="GrantEveryAction">The workload of RolloutApiTests instead: every action is one grant of 10 gems (times the multiplier).</param>
    public sealed record Scenario(string Name, double ActionsPerSecond, int CandidateBasisPoints, TimeSpan Duration, GateThresholds Thresholds,
        double RewardMultiplier = 1, double GrantMultiplier = 1, bool GrantEveryAction = false);

    /// <summary>What happened: the rollback time and gate (if any), the last verdict and the cohorts' sizes.</summary>
    public sealed record Outcome(TimeSpan? RolledBackAt, GateResult? Failed, GateStatus Final, long CandidateActions, long BaselineActions, TimeSpan? FirstPassAt);

    public static Outcome Run(Scenario scenario, int seed)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        var random = new Random(seed);
        var baseline = new CohortTotals();
        var candidate = new CohortTotals();
        double share = scenario.CandidateBasisPoints / 10_000.0;
        double perTick = scenario.ActionsPerSecond * Tick.TotalSeconds;
        long ticks = (long)(scenario.Duration / Tick);
        var final = GateStatus.Inconclusive;
        TimeSpan? firstPass = null;
        for (long t = 1; t <= ticks; t++)
        {
            long actions = Poisson(random, perTick);
            long toCandidate = Binomial(random, actions, share);
            Draw(random, baseline, actions - toCandidate, 1, 1, scenario.GrantEveryAction);
            Draw(random, candidate, toCandidate, scenario.RewardMultiplier, scenario.GrantMultiplier, scenario.GrantEveryAction);
            var gates = Gates.Evaluate(scenario.Thresholds, baseline, candidate);
            final = Gates.Overall(gates);
            var at = Tick * t;
            if (final == GateStatus.Fail)
            {
                return new Outcome(at, gates.First(g => g.Status == GateStatus.Fail), final, candidate.Actions, baseline.Actions, firstPass);
            }
            if (final == GateStatus.Pass && firstPass is null)
            {
                firstPass = at;
            }
        }
        return new Outcome(null, null, final, candidate.Actions, baseline.Actions, firstPass);
    }

    private static void Draw(Random random, CohortTotals cohort, long actions, double rewardMultiplier, double grantMultiplier, bool grantEveryAction)
    {
        if (actions == 0)
        {
            return;
        }
        cohort.Actions += actions;
        // Every action in one latency bucket (64–127 µs): the latency gate is not what is simulated.
        cohort.Latency[7] += actions;
        if (grantEveryAction)
        {
            long each = (long)Math.Round(10 * rewardMultiplier);
            Grants(cohort, "hunt", actions, "gems", each * actions, each);
            return;
        }
        cohort.Rejected += Binomial(random, actions, 0.005);
        long hunts = Binomial(random, actions, Math.Min(1, 0.1 * grantMultiplier));
        for (long i = 0; i < hunts; i++)
        {
            double u = random.NextDouble();
            long gems = (long)Math.Round((u < 0.70 ? 10 : u < 0.95 ? 20 : 50) * rewardMultiplier);
            Grants(cohort, "hunt", 1, "gems", gems, gems);
        }
        long blades = Binomial(random, hunts, 0.03);
        if (blades > 0)
        {
            Grants(cohort, "hunt", 0, "blade", blades, 1);
        }
        long rare = Binomial(random, actions, 0.0003);
        if (rare > 0)
        {
            Grants(cohort, "rare", rare, "gems", 100 * rare, 100);
        }
    }

    private static void Grants(CohortTotals cohort, string eventId, long grants, string reward, long amount, long largestInOneGrant)
    {
        var counters = cohort.Event(eventId);
        counters.Grants += grants;
        counters.Amounts[reward] = counters.Amounts.GetValueOrDefault(reward) + amount;
        counters.MaxAmounts[reward] = Math.Max(counters.MaxAmounts.GetValueOrDefault(reward), largestInOneGrant);
    }

    /// <summary>A Poisson draw (Knuth's product of uniforms, in chunks of mean 30 so e^-mean stays representable).</summary>
    public static long Poisson(Random random, double mean)
    {
        long count = 0;
        while (mean > 0)
        {
            double chunk = Math.Min(mean, 30);
            mean -= chunk;
            double limit = Math.Exp(-chunk), product = random.NextDouble();
            while (product > limit)
            {
                count++;
                product *= random.NextDouble();
            }
        }
        return count;
    }

    /// <summary>A binomial draw by geometric skips between successes: exact, O(n·p) draws.</summary>
    public static long Binomial(Random random, long trials, double probability)
    {
        if (trials <= 0 || probability <= 0)
        {
            return 0;
        }
        if (probability >= 1)
        {
            return trials;
        }
        if (probability > 0.5)
        {
            return trials - Binomial(random, trials, 1 - probability);
        }
        double logFailure = Math.Log(1 - probability);
        long count = 0, position = 0;
        while (true)
        {
            position += (long)Math.Floor(Math.Log(1 - random.NextDouble()) / logFailure) + 1;
            if (position > trials)
            {
                return count;
            }
            count++;
        }
    }
}
