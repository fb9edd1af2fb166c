using System.Text.Json.Serialization;

namespace Showrunner.Contracts.Flags;

/// <summary>One kill switch as <c>GET /v1/flags</c> lists it.</summary>
public sealed record FlagResponse(string Kind, string Target, bool Enabled, string Since, string Actor, string? Reason, long Sequence);

/// <summary>The answer of <c>GET /v1/flags</c>.</summary>
public sealed record FlagListResponse(
    IReadOnlyList<FlagResponse> Flags,
    IReadOnlyList<string> KilledEvents,
    IReadOnlyList<string> KilledConfigs);
