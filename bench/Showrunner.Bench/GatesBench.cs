using System.Diagnostics;
using System.Globalization;
using Showrunner.Core.Rollouts;
using Showrunner.Testing;

namespace Showrunner.Bench;

/// <summary>
/// The rollout gates on simulated traffic (tests/Shared/GateSimulation.cs; no server, one thread):
/// how often an identical candidate is rolled back (A/A), and how long a candidate that pays 2×,
/// 3×, 5× or 10× the baseline's gems takes to be rolled back, at given traffic. Options: --seeds N
/// per row (default 200 for A/A, a quarter of it per detection row), --seed S (the first seed,
/// default 1; seed S + i runs the i-th simulation of a row), --scenario I (only the I-th A/A scenario,
/// no detection rows). Prints the seed and failing gate of every A/A rollback so it replays.
/// </summary>
internal static class GatesBench
{
    private static readonly double[] Multipliers = [2, 3, 5, 10];

    public static void Run(BenchOptions options)
    {
        int seeds = options.Int("seeds", 200);
        int first = options.Int("seed", 1);
        var clock = Stopwatch.StartNew();
        Console.WriteLine($"gates: A/A, {seeds} seeds per scenario from seed {first}, gates evaluated every 250 ms");
        int only = options.Int("scenario", -1);
        foreach (var scenario in GateSimulation.IdenticalScenarios.Where((_, index) => only < 0 || index == only))
        {
            int rolledBack = 0, passed = 0;
            var passTimes = new List<double>();
            for (int i = 0; i < seeds; i++)
            {
                var outcome = GateSimulation.Run(scenario, first + i);
                if (outcome.RolledBackAt is { } rolledBackAt)
                {
                    rolledBack++;
                    Console.WriteLine($"    seed {first + i}: rolled back at {rolledBackAt.TotalSeconds} s by {outcome.Failed!.Gate} {outcome.Failed.Event} {outcome.Failed.Reward}: {outcome.Failed.Detail}");
                }
                passed += outcome.Final == GateStatus.Pass ? 1 : 0;
                if (outcome.FirstPassAt is { } at)
                {
                    passTimes.Add(at.TotalSeconds);
                }
            }
            Console.WriteLine($"  {scenario.Name}, {scenario.Duration.TotalMinutes} min: rolled back {rolledBack} of {seeds}; " +
                $"every gate passing at the end {passed}; first all-pass at median {Median(passTimes)} s");
        }
        if (only >= 0)
        {
            return;
        }

        int detectionSeeds = Math.Max(1, seeds / 4);
        Console.WriteLine($"gates: time to rollback, {detectionSeeds} seeds per row from seed {first}, stopped after 10 simulated minutes");
        var rows = new List<(string Workload, double Rate, int Share, GateThresholds Thresholds, bool EveryAction)>
        {
            ("every action a 10-gem grant (RolloutApiTests), min_actions 40", 200, 5_000, new GateThresholds(MinActions: 40), true),
            ("every action a 10-gem grant (RolloutApiTests), min_actions 40", 1_000, 5_000, new GateThresholds(MinActions: 40), true),
            ("mixed workload (10 % of actions grant 10/20/50 gems), default gates", 200, 5_000, new GateThresholds(), false),
            ("mixed workload (10 % of actions grant 10/20/50 gems), default gates", 1_000, 5_000, new GateThresholds(), false),
            ("mixed workload (10 % of actions grant 10/20/50 gems), default gates", 10_000, 5_000, new GateThresholds(), false),
            ("mixed workload (10 % of actions grant 10/20/50 gems), default gates", 10_000, 100, new GateThresholds(), false),
        };
        foreach (var (workload, rate, share, thresholds, everyAction) in rows)
        {
            foreach (double multiplier in Multipliers)
            {
                var scenario = new GateSimulation.Scenario(workload, rate, share, TimeSpan.FromMinutes(10), thresholds,
                    RewardMultiplier: multiplier, GrantEveryAction: everyAction);
                var times = new List<double>();
                for (int i = 0; i < detectionSeeds; i++)
                {
                    if (GateSimulation.Run(scenario, first + i).RolledBackAt is { } at)
                    {
                        times.Add(at.TotalSeconds);
                    }
                }
                Console.WriteLine($"  {workload}; {rate.ToString(CultureInfo.InvariantCulture)} actions/s, candidate {share / 100.0}%: " +
                    $"{multiplier}x rolled back {times.Count} of {detectionSeeds}" +
                    (times.Count > 0 ? $", after median {Median(times)} s, max {times.Max().ToString(CultureInfo.InvariantCulture)} s" : ""));
            }
        }
        Console.WriteLine($"gates: done in {clock.Elapsed.TotalSeconds:F0} s");
    }

    private static string Median(List<double> values)
    {
        if (values.Count == 0)
        {
            return "-";
        }
        values.Sort();
        return values[values.Count / 2].ToString(CultureInfo.InvariantCulture);
    }
}
