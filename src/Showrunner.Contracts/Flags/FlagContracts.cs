using System.Text.Json.Serialization;

namespace Showrunner.Contracts.Flags;

/// <summary>One kill switch as <c>GET /v1/flags</c> lists it (<c>since</c> is RFC 3339, UTC).</summary>
public sealed record FlagResponse(string Kind, string Target, bool Enabled, string Since, string Actor, string? Reason, long Sequence);

/// <summary>The answer of <c>GET /v1/flags</c>: the latest flip of every flag, and the killed targets (ordinal order).</summary>
public sealed record FlagListResponse(
    IReadOnlyList<FlagResponse> Flags,
    IReadOnlyList<string> KilledEvents,
    IReadOnlyList<string> KilledConfigs);

/// <summary>The answer of <c>PUT /v1/flags/events/{id}</c> and <c>PUT /v1/flags/configs/{name}</c>.</summary>
public sealed record FlagSetResponse(FlagResponse Flag);

/// <summary>
/// The body of <c>PUT /v1/flags/…</c>. The server reads it with its own parser (so a bad member is
/// named in the problem); the CLI writes it with this record. A null reason is left out: the server
/// refuses <c>"reason": null</c>.
/// </summary>
public sealed record FlagSetRequest(
    bool Enabled,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Reason = null);
