using System.Globalization;

namespace Showrunner.Core.Rollouts;

public enum GateStatus
{
    Pass,
    /// <summary>Not enough data yet (fewer than the plan's minimum actions in a cohort): holds the rollout at its step.</summary>
    Inconclusive,
    /// <summary>The candidate is worse than the threshold allows: rolls the candidate back.</summary>
    Fail,
}

/// <summary>One gate's verdict with the live values it compared (rates as decimals for people; comparisons are exact integer arithmetic).</summary>
public sealed record GateResult(string Gate, string? Event, string? Reward, GateStatus Status, string Candidate, string Baseline, string Threshold, string Detail);

/// <summary>
/// Evaluates a plan's gates on the candidate's cohort against the baseline's (docs/operations.md, "Gates").
/// Pure: the same counts give the same verdicts.
/// </summary>
internal static class Gates
{
    public const string RejectionRate = "rejection_rate";
    public const string P95Latency = "p95_latency";
    public const string RewardRate = "reward_rate";
    public const string GrantRate = "grant_rate";

    public static IReadOnlyList<GateResult> Evaluate(GateThresholds thresholds, CohortTotals baseline, CohortTotals candidate)
    {
        ArgumentNullException.ThrowIfNull(thresholds);
        ArgumentNullException.ThrowIfNull(baseline);
        ArgumentNullException.ThrowIfNull(candidate);
        var results = new List<GateResult>();
        bool enough = baseline.Actions >= thresholds.MinActions && candidate.Actions >= thresholds.MinActions;
        string sample = $"{candidate.Actions} candidate and {baseline.Actions} baseline actions (minimum {thresholds.MinActions} each)";

        // Rejection rate: cr/ca - br/ba <= bp/10000  ⇔  (cr*ba - br*ca) * 10000 <= bp * ca * ba.
        string candidateRejection = Rate(candidate.Rejected * 100, candidate.Actions) + "%";
        string baselineRejection = Rate(baseline.Rejected * 100, baseline.Actions) + "%";
        string rejectionThreshold = $"+{(thresholds.MaxRejectionIncreaseBasisPoints / 100m).ToString("0.##", CultureInfo.InvariantCulture)} points";
        if (!enough)
        {
            results.Add(new GateResult(RejectionRate, null, null, GateStatus.Inconclusive, candidateRejection, baselineRejection, rejectionThreshold, sample));
        }
        else
        {
            Int128 left = ((Int128)candidate.Rejected * baseline.Actions - (Int128)baseline.Rejected * candidate.Actions) * 10_000;
            Int128 right = (Int128)thresholds.MaxRejectionIncreaseBasisPoints * candidate.Actions * baseline.Actions;
            results.Add(new GateResult(RejectionRate, null, null, left <= right ? GateStatus.Pass : GateStatus.Fail,
                candidateRejection, baselineRejection, rejectionThreshold, sample));
        }

        // p95 latency: candidate <= max(baseline * ratio / 100, baseline + slack).
        long candidateP95 = candidate.P95Microseconds, baselineP95 = baseline.P95Microseconds;
        long allowed = Math.Max(baselineP95 * thresholds.MaxLatencyRatioPercent / 100, baselineP95 + thresholds.LatencySlackMicroseconds);
        results.Add(new GateResult(P95Latency, null, null, !enough ? GateStatus.Inconclusive : candidateP95 <= allowed ? GateStatus.Pass : GateStatus.Fail,
            candidateP95 + " µs", baselineP95 + " µs", "≤ " + allowed + " µs", sample));

        // Reward rate, per event of either cohort and per currency or item, and grant rate per event:
        // c/ca <= b/ba * ratio/100  ⇔  c * ba * 100 <= ratio * b * ca. Minting what the baseline never does fails.
        foreach (string eventId in baseline.Events.Keys.Union(candidate.Events.Keys, StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            var b = baseline.Events.GetValueOrDefault(eventId) ?? new CohortMeter.EventCounters();
            var c = candidate.Events.GetValueOrDefault(eventId) ?? new CohortMeter.EventCounters();
            results.Add(Compare(GrantRate, eventId, null, c.Grants, b.Grants, thresholds, baseline.Actions, candidate.Actions, enough, sample));
            foreach (string reward in b.Amounts.Keys.Union(c.Amounts.Keys, StringComparer.Ordinal).Order(StringComparer.Ordinal))
            {
                results.Add(Compare(RewardRate, eventId, reward, c.Amounts.GetValueOrDefault(reward), b.Amounts.GetValueOrDefault(reward),
                    thresholds, baseline.Actions, candidate.Actions, enough, sample));
            }
        }
        return results;
    }

    /// <summary>The worst status among <paramref name="results"/> (fail over inconclusive over pass).</summary>
    public static GateStatus Overall(IEnumerable<GateResult> results) =>
        results.Select(r => r.Status).DefaultIfEmpty(GateStatus.Pass).Max();

    private static GateResult Compare(string gate, string eventId, string? reward, long candidateAmount, long baselineAmount, GateThresholds thresholds,
        long baselineActions, long candidateActions, bool enough, string sample)
    {
        string candidateRate = Rate(candidateAmount * 1000, candidateActions) + " per 1,000 actions";
        string baselineRate = Rate(baselineAmount * 1000, baselineActions) + " per 1,000 actions";
        string threshold = $"≤ {thresholds.MaxRewardRatioPercent}% of baseline";
        if (!enough)
        {
            return new GateResult(gate, eventId, reward, GateStatus.Inconclusive, candidateRate, baselineRate, threshold, sample);
        }
        if (candidateAmount > 0 && baselineAmount <= 0)
        {
            return new GateResult(gate, eventId, reward, GateStatus.Fail, candidateRate, baselineRate, threshold,
                "The candidate grants this where the baseline granted nothing in the step.");
        }
        Int128 left = (Int128)candidateAmount * baselineActions * 100;
        Int128 right = (Int128)thresholds.MaxRewardRatioPercent * baselineAmount * candidateActions;
        return new GateResult(gate, eventId, reward, left <= right ? GateStatus.Pass : GateStatus.Fail, candidateRate, baselineRate, threshold, sample);
    }

    private static string Rate(long numerator, long denominator) =>
        denominator == 0 ? "0" : decimal.Round((decimal)numerator / denominator, 3).ToString("0.###", CultureInfo.InvariantCulture);
}
