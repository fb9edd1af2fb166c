using System.Text.Json.Serialization;
using Showrunner.Contracts.Wire;

namespace Showrunner.Contracts.Grants;

/// <summary>
/// A grant as the API shows it in full (<c>GET /v1/rewards/{grant_id}</c>, a player's rewards, the answer
/// of <c>POST /v1/grants</c> and of corrections). <c>status</c> (<c>created</c>/<c>existing</c>) is only
/// in the answer of a grant or correction request; <c>author</c> and <c>reason</c> only on operator
/// grants and corrections; <c>action</c> and <c>delivery</c> are always written (null when none).
/// </summary>
public sealed record GrantResponse(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Status,
    string GrantId,
    string Rule,
    [property: JsonConverter(typeof(NamedAmountsConverter))] IReadOnlyList<NamedAmount> Rewards,
    string Time,
    string Player,
    string Event,
    long Run,
    string CauseKind,
    string CauseId,
    string? Action,
    string Release,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Author,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Reason,
    int Partition,
    long Index,
    string Receipt,
    DeliveryResponse? Delivery);

/// <summary>A grant as a player's run lists it: what, by which rule, when.</summary>
public sealed record GrantSummaryResponse(
    string GrantId,
    string Rule,
    [property: JsonConverter(typeof(NamedAmountsConverter))] IReadOnlyList<NamedAmount> Rewards,
    string Time);

/// <summary>The webhook delivery of a grant as a grant shows it; <c>next_attempt_at</c> only while pending. Times are RFC 3339 UTC.</summary>
public sealed record DeliveryResponse(
    string Status,
    int Attempts,
    int TotalAttempts,
    string? NextAttemptAt,
    string? LastAttemptAt,
    int? LastStatusCode,
    string? LastError,
    string? DeliveredAt,
    string? DeadLetteredAt);

/// <summary>
/// A manual grant or correction as an approval stores it (its <c>request</c>) and executes it: the
/// request with the caller's author left out (the requester is the author). The text is the one the
/// server stored before commands were typed, so requests stored by earlier versions read the same.
/// <c>corrects</c> (the corrected grant) only in corrections; <c>player</c> and <c>event</c> only in grants.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record GrantApprovalCommand(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Corrects,
    string RequestId,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Player,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Event,
    long Run,
    [property: JsonConverter(typeof(NamedAmountsConverter))] IReadOnlyList<NamedAmount> Rewards,
    string Reason);
