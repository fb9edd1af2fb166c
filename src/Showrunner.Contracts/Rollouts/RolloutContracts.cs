using System.Text.Json;
using System.Text.Json.Serialization;

namespace Showrunner.Contracts.Rollouts;

/// <summary>One step of a rollout plan: <c>shadow</c> or <c>live</c>, a percentage (up to two decimals) and a soak time.</summary>
public sealed record RolloutStepContract(string Mode, decimal Percent, long MinSoakSeconds);

/// <summary>A plan's gate thresholds (docs/operations.md, "Gates").</summary>
public sealed record RolloutGatesContract(
    long MinActions,
    long MaxRejectionIncreaseBp,
    [property: JsonPropertyName("max_p95_latency_ratio_percent")] long MaxP95LatencyRatioPercent,
    [property: JsonPropertyName("p95_latency_slack_us")] long P95LatencySlackUs,
    long MaxRewardRatioPercent,
    decimal FalsePositiveRate);

/// <summary>A rollout plan as the server shows it (every default filled in).</summary>
public sealed record RolloutPlanContract(
    IReadOnlyList<RolloutStepContract> Steps,
    string? Audience,
    bool AutoAdvance,
    string OnRollback,
    RolloutGatesContract Gates);

/// <summary>A release named by id and name.</summary>
public sealed record RolloutReleaseRef(string Id, string Name);

/// <summary>The step a rollout is at.</summary>
public sealed record RolloutStepState(int Index, string Mode, decimal Percent, string StartedAt, long SoakRemainingSeconds);

/// <summary>Actions counted for each cohort during the current step.</summary>
public sealed record RolloutCohorts(long CandidateActions, long BaselineActions);

/// <summary>One gate's verdict; <c>event</c> and <c>reward</c> are left out for gates over the whole release.</summary>
public sealed record RolloutGateContract(
    string Gate,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Event,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Reward,
    string Status,
    string Candidate,
    string Baseline,
    string Threshold,
    string Detail);

/// <summary>One change of a rollout (start, step, hold, rollback, complete).</summary>
public sealed record RolloutChangeContract(string Kind, int Step, string At, string Actor, string? Reason);

/// <summary>A rollout as <c>GET /v1/rollout</c> shows it: plan, step, live gate values, history.</summary>
public sealed record RolloutViewContract(
    long Id,
    string State,
    RolloutReleaseRef Candidate,
    RolloutReleaseRef Baseline,
    string StartedAt,
    string StartedBy,
    string Salt,
    RolloutPlanContract Plan,
    RolloutStepState Step,
    long AssignedPlayers,
    RolloutCohorts Cohorts,
    string GatesOverall,
    IReadOnlyList<RolloutGateContract> Gates,
    IReadOnlyList<RolloutChangeContract> History);

/// <summary><c>GET /v1/rollout</c>: the latest rollout, or null when none was ever started.</summary>
public sealed record RolloutGetResponse(RolloutViewContract? Rollout);

/// <summary>
/// The answer of start, advance and rollback: <c>result</c> (<c>started</c>, <c>advanced</c>,
/// <c>completed</c>, <c>rolled_back</c>), a sentence, and the rollout after the change (an empty
/// object if there is none to show).
/// </summary>
public sealed record RolloutChangeResponse(
    string Result,
    string Detail,
    [property: JsonConverter(typeof(EmptyObjectWhenNullConverter))] RolloutViewContract? Rollout);

/// <summary>
/// The body of <c>POST /v1/rollout</c>. <c>plan</c> is passed through as JSON (the server reports
/// each problem of it by field). The server reads the body with its own parser; the CLI writes it
/// with this record. Absent members are left out.
/// </summary>
public sealed record RolloutStartRequest(
    string Candidate,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] JsonElement? Plan = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Salt = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? ExpectedVersion = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Reason = null);

/// <summary>The optional body of <c>POST /v1/rollout/advance</c> and <c>…/rollback</c>.</summary>
public sealed record RolloutReasonRequest([property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Reason = null);

/// <summary>Writes a null rollout as <c>{}</c> (as the API always did) and reads <c>{}</c> back as null.</summary>
public sealed class EmptyObjectWhenNullConverter : JsonConverter<RolloutViewContract?>
{
    public override bool HandleNull => true;

    public override RolloutViewContract? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        using var document = JsonDocument.ParseValue(ref reader);
        return document.RootElement.ValueKind == JsonValueKind.Object && !document.RootElement.EnumerateObject().Any()
            ? null
            : document.RootElement.Deserialize((System.Text.Json.Serialization.Metadata.JsonTypeInfo<RolloutViewContract>)options.GetTypeInfo(typeof(RolloutViewContract)));
    }

    public override void Write(Utf8JsonWriter writer, RolloutViewContract? value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(options);
        if (value is null)
        {
            writer.WriteStartObject();
            writer.WriteEndObject();
            return;
        }
        JsonSerializer.Serialize(writer, value, (System.Text.Json.Serialization.Metadata.JsonTypeInfo<RolloutViewContract>)options.GetTypeInfo(typeof(RolloutViewContract)));
    }
}
