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

/// <summary>One gate's verdict with the live values it compared (rates as decimals for people) and, in <see cref="Detail"/>, why.</summary>
public sealed record GateResult(string Gate, string? Event, string? Reward, GateStatus Status, string Candidate, string Baseline, string Threshold, string Detail);

/// <summary>
/// Evaluates a plan's gates on the candidate's cohort against the baseline's (docs/operations.md, "Gates").
/// Pure: the same counts give the same verdicts.
/// </summary>
/// <remarks>
/// <para>
/// The rate gates are sequential tests (<see cref="SequentialTests"/>), each with three outcomes:
/// <b>fail</b> when the data show, at the plan's false-positive rate, that the candidate exceeds the
/// threshold; <b>pass</b> when they show, at the same rate, that it stays within it; otherwise
/// <b>inconclusive</b> (keep measuring; after the soak time the rollout is held for a person). The
/// rate α is split evenly over the statistical gates of the evaluation (Bonferroni), and each
/// gate's test is valid at every look, so evaluating every 250 ms needs no further correction.
/// </para>
/// <para>
/// Grant rate: grant counts per event, exposures the cohorts' actions. Reward rate: the amounts
/// of a currency or item are turned into "units" by dividing by the largest amount one grant of
/// either cohort carried (the scale): a fixed amount per grant makes units exactly grants; a
/// varying amount makes each grant worth at most one unit, which only makes the test more cautious
/// (a compound Poisson count with marks in [0, 1] is dominated by a Poisson count of the same mean).
/// Rejection rate: an additive margin, so each cohort gets an always-valid confidence interval
/// (α/2 each) and the gate compares their far ends.
/// </para>
/// </remarks>
public static class Gates
{
    public const string RejectionRate = "rejection_rate";
    public const string P95Latency = "p95_latency";
    public const string RewardRate = "reward_rate";
    public const string GrantRate = "grant_rate";

    /// <summary>Units the baseline must have minted before a candidate without evidence of excess passes on its observed rate.</summary>
    public const int MinBaselineUnits = 5;

    public static IReadOnlyList<GateResult> Evaluate(GateThresholds thresholds, CohortTotals baseline, CohortTotals candidate)
    {
        ArgumentNullException.ThrowIfNull(thresholds);
        ArgumentNullException.ThrowIfNull(baseline);
        ArgumentNullException.ThrowIfNull(candidate);
        var results = new List<GateResult>();
        bool enough = baseline.Actions >= thresholds.MinActions && candidate.Actions >= thresholds.MinActions;
        string sample = $"{candidate.Actions} candidate and {baseline.Actions} baseline actions (minimum {thresholds.MinActions} each)";

        var eventIds = baseline.Events.Keys.Union(candidate.Events.Keys, StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var empty = new CohortMeter.EventCounters();
        int statistical = 1 + eventIds.Sum(e => 1 + (baseline.Events.GetValueOrDefault(e) ?? empty).Amounts.Keys
            .Union((candidate.Events.GetValueOrDefault(e) ?? empty).Amounts.Keys, StringComparer.Ordinal).Count());
        // Each statistical gate decides at α / (number of statistical gates): the evidence must reach K / α.
        var test = new Test(Math.Log(statistical / thresholds.FalsePositiveRate), statistical, thresholds.FalsePositiveRate);

        // Rejection rate: r_c − r_b ≤ margin, judged on always-valid intervals of each cohort's rate.
        string candidateRejection = Rate(candidate.Rejected * 100, candidate.Actions) + "%";
        string baselineRejection = Rate(baseline.Rejected * 100, baseline.Actions) + "%";
        string rejectionThreshold = $"+{(thresholds.MaxRejectionIncreaseBasisPoints / 100m).ToString("0.##", CultureInfo.InvariantCulture)} points";
        results.Add(!enough
            ? new GateResult(RejectionRate, null, null, GateStatus.Inconclusive, candidateRejection, baselineRejection, rejectionThreshold, sample)
            : CompareRejections(thresholds, baseline, candidate, test, candidateRejection, baselineRejection, rejectionThreshold));

        // p95 latency: candidate <= max(baseline * ratio / 100, baseline + slack). Not a rate: a
        // threshold on histogram buckets (powers of two), held back by min_actions only.
        long candidateP95 = candidate.P95Microseconds, baselineP95 = baseline.P95Microseconds;
        long allowed = Math.Max(baselineP95 * thresholds.MaxLatencyRatioPercent / 100, baselineP95 + thresholds.LatencySlackMicroseconds);
        results.Add(new GateResult(P95Latency, null, null, !enough ? GateStatus.Inconclusive : candidateP95 <= allowed ? GateStatus.Pass : GateStatus.Fail,
            candidateP95 + " µs", baselineP95 + " µs", "≤ " + allowed + " µs", sample));

        // Grant rate per event of either cohort, and reward rate per event and per currency or item.
        foreach (string eventId in eventIds)
        {
            var b = baseline.Events.GetValueOrDefault(eventId) ?? empty;
            var c = candidate.Events.GetValueOrDefault(eventId) ?? empty;
            results.Add(CompareRate(GrantRate, eventId, null, c.Grants, b.Grants, c.Grants, b.Grants, "grants",
                thresholds, baseline.Actions, candidate.Actions, enough, sample, test));
            foreach (string reward in b.Amounts.Keys.Union(c.Amounts.Keys, StringComparer.Ordinal).Order(StringComparer.Ordinal))
            {
                long candidateAmount = c.Amounts.GetValueOrDefault(reward), baselineAmount = b.Amounts.GetValueOrDefault(reward);
                // The scale: the largest amount one grant carried in either cohort (at least 1, and at
                // least the larger total when a meter did not record it: then everything is one unit).
                long scale = Math.Max(1, Math.Max(c.MaxAmounts.GetValueOrDefault(reward), b.MaxAmounts.GetValueOrDefault(reward)));
                if (!c.MaxAmounts.ContainsKey(reward) && !b.MaxAmounts.ContainsKey(reward))
                {
                    scale = Math.Max(scale, Math.Max(Math.Abs(candidateAmount), Math.Abs(baselineAmount)));
                }
                results.Add(CompareRate(RewardRate, eventId, reward, candidateAmount, baselineAmount,
                    Math.Max(0, candidateAmount) / (double)scale, Math.Max(0, baselineAmount) / (double)scale, $"units of {scale.ToString(CultureInfo.InvariantCulture)}",
                    thresholds, baseline.Actions, candidate.Actions, enough, sample, test));
            }
        }
        return results;
    }

    /// <summary>The worst status among <paramref name="results"/> (fail over inconclusive over pass).</summary>
    public static GateStatus Overall(IEnumerable<GateResult> results) =>
        results.Select(r => r.Status).DefaultIfEmpty(GateStatus.Pass).Max();

    /// <summary>A statistical gate's decision level: the log of K / α, with K and α for the detail text.</summary>
    private readonly record struct Test(double LogThreshold, int Gates, double FalsePositiveRate)
    {
        public string Describe() =>
            $"false-positive rate {FalsePositiveRate.ToString("0.######", CultureInfo.InvariantCulture)} over {Gates} statistical gate(s)";
    }

    private static GateResult CompareRate(string gate, string eventId, string? reward, long candidateAmount, long baselineAmount,
        double candidateUnits, double baselineUnits, string unitName, GateThresholds thresholds, long baselineActions, long candidateActions,
        bool enough, string sample, Test test)
    {
        string candidateRate = Rate(candidateAmount * 1000, candidateActions) + " per 1,000 actions";
        string baselineRate = Rate(baselineAmount * 1000, baselineActions) + " per 1,000 actions";
        string threshold = $"≤ {thresholds.MaxRewardRatioPercent}% of baseline";
        if (!enough)
        {
            return new GateResult(gate, eventId, reward, GateStatus.Inconclusive, candidateRate, baselineRate, threshold, sample);
        }
        string counts = $"{Number(candidateUnits)} candidate and {Number(baselineUnits)} baseline {unitName} in {candidateActions} and {baselineActions} actions";
        if (candidateUnits <= 0 && baselineUnits <= 0)
        {
            return new GateResult(gate, eventId, reward, GateStatus.Pass, candidateRate, baselineRate, threshold, "Neither cohort minted this in the step.");
        }
        double ratio = thresholds.MaxRewardRatioPercent / 100.0;
        double above = SequentialTests.EvidenceAbove(candidateUnits, baselineUnits, candidateActions, baselineActions, ratio);
        if (above >= test.LogThreshold)
        {
            return new GateResult(gate, eventId, reward, GateStatus.Fail, candidateRate, baselineRate, threshold,
                $"The candidate exceeds the allowed ratio: {counts}; evidence {Evidence(above)} ≥ {Evidence(test.LogThreshold)} ({test.Describe()}).");
        }
        double below = SequentialTests.EvidenceBelow(candidateUnits, baselineUnits, candidateActions, baselineActions, ratio);
        if (below >= test.LogThreshold)
        {
            return new GateResult(gate, eventId, reward, GateStatus.Pass, candidateRate, baselineRate, threshold,
                $"Within the allowed ratio: {counts}; evidence {Evidence(below)} ≥ {Evidence(test.LogThreshold)} ({test.Describe()}).");
        }
        // No evidence of excess, and a baseline that minted enough to judge by: the candidate's
        // observed rate within the ratio passes. Proving "within" at α needs many events of a rare
        // reward; holding every such step for a person would make auto_advance useless, and the
        // gates keep testing for excess at every later step (docs/operations.md "Gates").
        if (baselineUnits >= MinBaselineUnits && candidateUnits * baselineActions <= ratio * baselineUnits * candidateActions)
        {
            return new GateResult(gate, eventId, reward, GateStatus.Pass, candidateRate, baselineRate, threshold,
                $"No evidence of excess: {counts}; the candidate's rate is within the allowed ratio of a baseline that minted at least {MinBaselineUnits} " +
                $"(evidence of excess {Evidence(above)} < {Evidence(test.LogThreshold)}; {test.Describe()}).");
        }
        string why = baselineUnits <= 0 ? "the baseline has not minted this yet, which is not taken as zero"
            : baselineUnits < MinBaselineUnits ? $"the baseline minted fewer than {MinBaselineUnits}, too few to judge by" : "too few to judge either way";
        return new GateResult(gate, eventId, reward, GateStatus.Inconclusive, candidateRate, baselineRate, threshold,
            $"Inconclusive, {why}: {counts}; evidence of excess {Evidence(above)}, of staying within {Evidence(below)}, either decides at {Evidence(test.LogThreshold)} ({test.Describe()}).");
    }

    private static GateResult CompareRejections(GateThresholds thresholds, CohortTotals baseline, CohortTotals candidate, Test test,
        string candidateRate, string baselineRate, string threshold)
    {
        // Two intervals, each at α/2 of this gate's share: both hold at every look with probability 1 − α/K.
        double level = test.LogThreshold + Math.Log(2);
        var (candidateLow, candidateHigh) = SequentialTests.ProportionBounds(candidate.Rejected, candidate.Actions, level);
        var (baselineLow, baselineHigh) = SequentialTests.ProportionBounds(baseline.Rejected, baseline.Actions, level);
        double margin = thresholds.MaxRejectionIncreaseBasisPoints / 10_000.0;
        string bounds = $"candidate between {Percent(candidateLow)} and {Percent(candidateHigh)}, baseline between {Percent(baselineLow)} and {Percent(baselineHigh)} " +
            $"({candidate.Rejected} of {candidate.Actions} and {baseline.Rejected} of {baseline.Actions} rejected; {test.Describe()})";
        if (candidateLow - baselineHigh > margin)
        {
            return new GateResult(RejectionRate, null, null, GateStatus.Fail, candidateRate, baselineRate, threshold, "The candidate rejects more: " + bounds + ".");
        }
        if (candidateHigh - baselineLow <= margin)
        {
            return new GateResult(RejectionRate, null, null, GateStatus.Pass, candidateRate, baselineRate, threshold, "Within the margin: " + bounds + ".");
        }
        return new GateResult(RejectionRate, null, null, GateStatus.Inconclusive, candidateRate, baselineRate, threshold, "Inconclusive, too few actions to judge: " + bounds + ".");
    }

    /// <summary>A likelihood ratio for people: e^logValue as "1.42", "35,000", or "over 10^12".</summary>
    private static string Evidence(double logValue)
    {
        double value = Math.Exp(logValue);
        return value switch
        {
            > 1e12 => "over 10^12",
            >= 1000 => value.ToString("#,0", CultureInfo.InvariantCulture),
            _ => value.ToString("0.##", CultureInfo.InvariantCulture),
        };
    }

    private static string Number(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);

    private static string Percent(double fraction) => (fraction * 100).ToString("0.###", CultureInfo.InvariantCulture) + "%";

    private static string Rate(long numerator, long denominator) =>
        denominator == 0 ? "0" : decimal.Round((decimal)numerator / denominator, 3).ToString("0.###", CultureInfo.InvariantCulture);
}
