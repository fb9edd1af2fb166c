using System.Globalization;
using System.Text.Json;

namespace Showrunner.Core.Rollouts;

/// <summary>How a step exposes the candidate.</summary>
public enum StepMode
{
    /// <summary>The candidate evaluates the cohort's actions beside the baseline and grants nothing; only its gates are measured.</summary>
    Shadow,
    /// <summary>The cohort's actions are evaluated (and rewarded) by the candidate.</summary>
    Live,
}

/// <summary>What happens to the candidate's grants when the rollout is rolled back.</summary>
public enum RollbackPolicy
{
    /// <summary>What the candidate granted stays granted (the default).</summary>
    Keep,
    /// <summary>Each grant the candidate made during the rollout gets a compensating correction entry (negated amounts); nothing is edited.</summary>
    Reverse,
}

/// <summary>One step of a plan: a cohort of <see cref="PercentBasisPoints"/> / 100 percent of players for at least <see cref="MinSoak"/>.</summary>
public sealed record RolloutStep(StepMode Mode, int PercentBasisPoints, TimeSpan MinSoak)
{
    public string PercentText => (PercentBasisPoints / 100m).ToString("0.##", CultureInfo.InvariantCulture);
}

/// <summary>
/// Gate thresholds of a plan (integers only; docs/operations.md, "Gates"). Every gate compares the
/// candidate's cohort with the baseline's over the current step.
/// </summary>
/// <param name="MinActions">Actions each cohort must have in the step before any gate is conclusive.</param>
/// <param name="MaxRejectionIncreaseBasisPoints">Candidate rejection rate may exceed the baseline's by at most this (100 = one percentage point).</param>
/// <param name="MaxLatencyRatioPercent">Candidate p95 processing latency may be at most this percent of the baseline's …</param>
/// <param name="LatencySlackMicroseconds">… or the baseline's plus this, whichever is larger (tiny latencies are noisy).</param>
/// <param name="MaxRewardRatioPercent">Per event and per currency or item, the candidate's amount (and grant count) per 1,000 actions may be at most this percent of the baseline's; a gate fails only when a sequential test shows the excess (a baseline with too few events is inconclusive, never zero).</param>
/// <param name="FalsePositivePerMillion">The chance, in parts per million, that the statistical gates (rejection, grant and reward rates) fail, over a whole step and all its looks, for a candidate that is within every threshold; the same chance bounds a wrong pass.</param>
public sealed record GateThresholds(
    long MinActions = GateThresholds.DefaultMinActions,
    long MaxRejectionIncreaseBasisPoints = 100,
    long MaxLatencyRatioPercent = 300,
    long LatencySlackMicroseconds = 1000,
    long MaxRewardRatioPercent = 200,
    long FalsePositivePerMillion = GateThresholds.DefaultFalsePositivePerMillion)
{
    public const long DefaultMinActions = 1000;

    /// <summary>The default false-positive rate: 0.001 (one identical candidate in a thousand steps could be rolled back).</summary>
    public const long DefaultFalsePositivePerMillion = 1_000;

    /// <summary>The largest false-positive rate a plan may ask for (0.05): beyond it a gate decides on noise.</summary>
    public const long MaxFalsePositivePerMillion = 50_000;

    /// <summary>The false-positive rate as a fraction.</summary>
    public double FalsePositiveRate => FalsePositivePerMillion / 1_000_000.0;
}

/// <summary>A staged rollout plan: its steps in order, its gates, and what a rollback does.</summary>
/// <param name="Audience">Optional condition over <c>player.*</c> (event-language syntax) a player must meet to join the candidate's cohort.</param>
public sealed record RolloutPlan(IReadOnlyList<RolloutStep> Steps, GateThresholds Gates, bool AutoAdvance, RollbackPolicy OnRollback, string? Audience = null)
{
    public const int MaxSteps = 20;
    public static readonly TimeSpan MaxSoak = TimeSpan.FromDays(30);

    /// <summary>The plan when a request names none: shadow, 1 %, 10 %, 50 %, 100 %, five minutes each, advanced automatically.</summary>
    public static RolloutPlan Default { get; } = new(
        [
            new RolloutStep(StepMode.Shadow, 10_000, TimeSpan.FromMinutes(5)),
            new RolloutStep(StepMode.Live, 100, TimeSpan.FromMinutes(5)),
            new RolloutStep(StepMode.Live, 1_000, TimeSpan.FromMinutes(5)),
            new RolloutStep(StepMode.Live, 5_000, TimeSpan.FromMinutes(5)),
            new RolloutStep(StepMode.Live, 10_000, TimeSpan.Zero),
        ], new GateThresholds(), AutoAdvance: true, RollbackPolicy.Keep);

    /// <summary>The largest share of players a live step of the plan exposes, in basis points.</summary>
    public int MaxLivePercentBasisPoints => Steps.Where(s => s.Mode == StepMode.Live).Select(s => s.PercentBasisPoints).DefaultIfEmpty(0).Max();

    /// <summary>Writes the plan as the JSON object <see cref="Parse"/> reads (also its stored form).</summary>
    public void Write(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteStartArray("steps");
        foreach (var step in Steps)
        {
            writer.WriteStartObject();
            writer.WriteString("mode", step.Mode == StepMode.Shadow ? "shadow" : "live");
            writer.WriteNumber("percent", step.PercentBasisPoints / 100m);
            writer.WriteNumber("min_soak_seconds", (long)step.MinSoak.TotalSeconds);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        if (Audience is null)
        {
            writer.WriteNull("audience");
        }
        else
        {
            writer.WriteString("audience", Audience);
        }
        writer.WriteBoolean("auto_advance", AutoAdvance);
        writer.WriteString("on_rollback", OnRollback == RollbackPolicy.Reverse ? "reverse" : "keep");
        writer.WriteStartObject("gates");
        writer.WriteNumber("min_actions", Gates.MinActions);
        writer.WriteNumber("max_rejection_increase_bp", Gates.MaxRejectionIncreaseBasisPoints);
        writer.WriteNumber("max_p95_latency_ratio_percent", Gates.MaxLatencyRatioPercent);
        writer.WriteNumber("p95_latency_slack_us", Gates.LatencySlackMicroseconds);
        writer.WriteNumber("max_reward_ratio_percent", Gates.MaxRewardRatioPercent);
        writer.WriteNumber("false_positive_rate", Gates.FalsePositivePerMillion / 1_000_000m);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(writer);
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>
    /// Reads a plan object; every problem is reported as (field, message) and no plan is returned.
    /// Missing members take the defaults of <see cref="Default"/>.
    /// </summary>
    public static (RolloutPlan? Plan, IReadOnlyList<(string Field, string Message)> Errors) Parse(JsonElement plan)
    {
        var errors = new List<(string, string)>();
        if (plan.ValueKind != JsonValueKind.Object)
        {
            return (null, [("plan", "The plan must be a JSON object.")]);
        }
        var known = new HashSet<string>(StringComparer.Ordinal) { "steps", "audience", "auto_advance", "on_rollback", "gates" };
        foreach (var member in plan.EnumerateObject())
        {
            if (!known.Contains(member.Name))
            {
                errors.Add(("plan." + member.Name, "Unknown member (known: steps, audience, auto_advance, on_rollback, gates)."));
            }
        }
        var steps = new List<RolloutStep>();
        if (plan.TryGetProperty("steps", out var stepsElement))
        {
            if (stepsElement.ValueKind != JsonValueKind.Array || stepsElement.GetArrayLength() is 0 or > MaxSteps)
            {
                errors.Add(("plan.steps", $"steps must be an array of 1 to {MaxSteps} steps."));
            }
            else
            {
                int i = 0;
                int lastLive = 0;
                foreach (var element in stepsElement.EnumerateArray())
                {
                    string field = $"plan.steps[{i++}]";
                    if (ParseStep(element, field, errors) is not { } step)
                    {
                        continue;
                    }
                    if (step.Mode == StepMode.Live)
                    {
                        // A live step may lower the percentage: players the candidate already
                        // evaluated stay with it (assignments are recorded); only new ones are fewer.
                        lastLive = Math.Max(lastLive, step.PercentBasisPoints);
                    }
                    else if (lastLive > 0)
                    {
                        errors.Add((field + ".mode", "A shadow step must come before every live step."));
                    }
                    steps.Add(step);
                }
            }
        }
        else
        {
            steps.AddRange(Default.Steps);
        }
        string? audience = null;
        if (plan.TryGetProperty("audience", out var audienceElement) && audienceElement.ValueKind != JsonValueKind.Null)
        {
            if (audienceElement.ValueKind == JsonValueKind.String && audienceElement.GetString() is { Length: > 0 and <= RolloutAudience.MaxLength } text)
            {
                audience = text;
            }
            else
            {
                errors.Add(("plan.audience", $"audience must be a condition over player attributes, 1 to {RolloutAudience.MaxLength} characters (e.g. player.country == \"SE\")."));
            }
        }
        bool autoAdvance = Default.AutoAdvance;
        if (plan.TryGetProperty("auto_advance", out var auto))
        {
            if (auto.ValueKind is JsonValueKind.True or JsonValueKind.False)
            {
                autoAdvance = auto.GetBoolean();
            }
            else
            {
                errors.Add(("plan.auto_advance", "auto_advance must be true or false."));
            }
        }
        var policy = RollbackPolicy.Keep;
        if (plan.TryGetProperty("on_rollback", out var onRollback))
        {
            switch (onRollback.ValueKind == JsonValueKind.String ? onRollback.GetString() : null)
            {
                case "keep":
                    break;
                case "reverse":
                    policy = RollbackPolicy.Reverse;
                    break;
                default:
                    errors.Add(("plan.on_rollback", "on_rollback must be \"keep\" or \"reverse\"."));
                    break;
            }
        }
        var gates = new GateThresholds();
        if (plan.TryGetProperty("gates", out var gatesElement))
        {
            gates = ParseGates(gatesElement, errors) ?? gates;
        }
        if (steps.Count > 0 && steps[^1] is not { Mode: StepMode.Live, PercentBasisPoints: 10_000 } && errors.Count == 0)
        {
            errors.Add(("plan.steps", "The last step must be a live step at 100 percent (completing it makes the candidate the active release)."));
        }
        return errors.Count > 0 ? (null, errors) : (new RolloutPlan(steps, gates, autoAdvance, policy, audience), errors);
    }

    private static RolloutStep? ParseStep(JsonElement element, string field, List<(string, string)> errors)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            errors.Add((field, "A step is an object { mode, percent, min_soak_seconds }."));
            return null;
        }
        var mode = StepMode.Live;
        int bp = -1;
        long soak = 0;
        bool ok = true;
        foreach (var member in element.EnumerateObject())
        {
            switch (member.Name)
            {
                case "mode":
                    switch (member.Value.ValueKind == JsonValueKind.String ? member.Value.GetString() : null)
                    {
                        case "live":
                            break;
                        case "shadow":
                            mode = StepMode.Shadow;
                            break;
                        default:
                            errors.Add((field + ".mode", "mode must be \"live\" or \"shadow\"."));
                            ok = false;
                            break;
                    }
                    break;
                case "percent":
                    if (member.Value.ValueKind == JsonValueKind.Number && member.Value.TryGetDecimal(out decimal percent)
                        && percent > 0 && percent <= 100 && decimal.Round(percent, 2) == percent)
                    {
                        bp = (int)(percent * 100);
                    }
                    else
                    {
                        errors.Add((field + ".percent", "percent must be a number above 0 and at most 100, with at most two decimals."));
                        ok = false;
                    }
                    break;
                case "min_soak_seconds":
                    if (member.Value.ValueKind == JsonValueKind.Number && member.Value.TryGetInt64(out soak) && soak >= 0 && soak <= (long)MaxSoak.TotalSeconds)
                    {
                        break;
                    }
                    errors.Add((field + ".min_soak_seconds", $"min_soak_seconds must be an integer from 0 to {(long)MaxSoak.TotalSeconds}."));
                    ok = false;
                    break;
                default:
                    errors.Add((field + "." + member.Name, "Unknown member (known: mode, percent, min_soak_seconds)."));
                    ok = false;
                    break;
            }
        }
        if (bp < 0 && ok)
        {
            errors.Add((field + ".percent", "percent is required."));
            ok = false;
        }
        return ok ? new RolloutStep(mode, bp, TimeSpan.FromSeconds(soak)) : null;
    }

    private static GateThresholds? ParseGates(JsonElement element, List<(string, string)> errors)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            errors.Add(("plan.gates", "gates must be an object."));
            return null;
        }
        var gates = new GateThresholds();
        foreach (var member in element.EnumerateObject())
        {
            string field = "plan.gates." + member.Name;
            if (member.Name == "false_positive_rate")
            {
                // A fraction, not an integer: kept as parts per million so the plan stays integers inside.
                if (member.Value.ValueKind == JsonValueKind.Number && member.Value.TryGetDecimal(out decimal rate)
                    && rate * 1_000_000m is var perMillion && perMillion == decimal.Truncate(perMillion)
                    && perMillion >= 1 && perMillion <= GateThresholds.MaxFalsePositivePerMillion)
                {
                    gates = gates with { FalsePositivePerMillion = (long)perMillion };
                }
                else
                {
                    errors.Add((field, "false_positive_rate must be a number from 0.000001 to 0.05 with at most six decimals (default 0.001)."));
                }
                continue;
            }
            if (member.Value.ValueKind != JsonValueKind.Number || !member.Value.TryGetInt64(out long value) || value < 0 || value > 1_000_000_000)
            {
                errors.Add((field, "Gate thresholds are integers from 0 to 1,000,000,000."));
                continue;
            }
            switch (member.Name)
            {
                case "min_actions":
                    gates = gates with { MinActions = Math.Max(1, value) };
                    break;
                case "max_rejection_increase_bp":
                    gates = gates with { MaxRejectionIncreaseBasisPoints = value };
                    break;
                case "max_p95_latency_ratio_percent":
                    gates = gates with { MaxLatencyRatioPercent = value };
                    break;
                case "p95_latency_slack_us":
                    gates = gates with { LatencySlackMicroseconds = value };
                    break;
                case "max_reward_ratio_percent":
                    gates = gates with { MaxRewardRatioPercent = value };
                    break;
                default:
                    errors.Add((field, "Unknown gate (known: min_actions, max_rejection_increase_bp, max_p95_latency_ratio_percent, p95_latency_slack_us, max_reward_ratio_percent, false_positive_rate)."));
                    break;
            }
        }
        return gates;
    }
}
