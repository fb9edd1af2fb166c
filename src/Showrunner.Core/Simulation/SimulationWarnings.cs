using System.Globalization;

namespace Showrunner.Core.Simulation;

/// <summary>
/// One warning line of a simulation: an event whose candidate mints a currency or item at more
/// than the warn factor times the baseline's reward rate, or mints one the baseline does not.
/// </summary>
/// <param name="BaselinePerThousand">The baseline's reward rate (amount per 1,000 window actions, 3 decimals); null when the window has no action.</param>
public sealed record SimulationWarning(string Code, string EventId, string Name, long Baseline, long Candidate,
    decimal? BaselinePerThousand, decimal? CandidatePerThousand, string Message);

/// <summary>
/// The warnings of a simulation. A reward rate is an amount per 1,000 actions of the window;
/// both sides see the same actions, so candidate rate &gt; factor × baseline rate is decided
/// exactly on the amounts (candidate &gt; factor × baseline, in <see cref="decimal"/>, no floating
/// point) and the rates are shown rounded to 3 decimals (half away from zero).
/// </summary>
public static class SimulationWarnings
{
    public const string RewardRate = "simulate.reward_rate";
    public const string NewReward = "simulate.new_reward";
    public const decimal FactorMin = 1m;
    public const decimal FactorMax = 1_000_000m;

    /// <summary>An amount per 1,000 actions, rounded to 3 decimals (trailing zeros dropped); null without actions.</summary>
    public static decimal? PerThousand(long amount, long actions) => actions <= 0
        ? null
        : decimal.Parse(Math.Round(amount * 1000m / actions, 3, MidpointRounding.AwayFromZero).ToString("0.###", CultureInfo.InvariantCulture),
            CultureInfo.InvariantCulture);

    /// <summary>Every warning, by event id then currency or item name (ordinal).</summary>
    public static IReadOnlyList<SimulationWarning> Of(SimulationResult result, decimal factor)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentOutOfRangeException.ThrowIfLessThan(factor, FactorMin);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(factor, FactorMax);
        long actions = result.ActionsInWindow;
        var warnings = new List<SimulationWarning>();
        foreach (var (eventId, candidate) in result.Candidate.Events)
        {
            var baseline = result.Baseline.Events.GetValueOrDefault(eventId);
            foreach (var (name, minted) in candidate.Minted)
            {
                if (minted <= 0)
                {
                    continue;
                }
                long before = baseline?.Minted.GetValueOrDefault(name) ?? 0;
                decimal? candidateRate = PerThousand(minted, actions);
                decimal? baselineRate = PerThousand(before, actions);
                if (before == 0)
                {
                    warnings.Add(new SimulationWarning(NewReward, eventId, name, before, minted, baselineRate, candidateRate,
                        $"{eventId}: the candidate mints {minted} {name}{Rate(candidateRate)}, which the baseline does not mint" +
                        (baseline is null ? " (the event is not in the baseline)" : "")));
                }
                else if (minted > factor * before)
                {
                    warnings.Add(new SimulationWarning(RewardRate, eventId, name, before, minted, baselineRate, candidateRate,
                        $"{eventId}: the candidate mints {minted} {name}{Rate(candidateRate)}, more than {factor.ToString(CultureInfo.InvariantCulture)} × " +
                        $"the baseline's {before}{Rate(baselineRate)}"));
                }
            }
        }
        return warnings;
    }

    private static string Rate(decimal? perThousand) =>
        perThousand is { } rate ? $" ({rate.ToString("0.###", CultureInfo.InvariantCulture)} per 1,000 actions)" : "";
}
