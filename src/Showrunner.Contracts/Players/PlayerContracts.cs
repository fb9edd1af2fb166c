using System.Text.Json.Serialization;
using Showrunner.Contracts.Grants;
using Showrunner.Contracts.Wire;

namespace Showrunner.Contracts.Players;

/// <summary>The answer of <c>GET /v1/players/{player}/events</c>: the player's runs of the active release's events.</summary>
public sealed record PlayerEventsResponse(string Player, string EvaluatedAt, string? Release, IReadOnlyList<PlayerEventResponse> Events);

/// <summary>One event with the player's most recent runs.</summary>
public sealed record PlayerEventResponse(string Event, string Title, IReadOnlyList<PlayerRunResponse> Runs);

/// <summary>The player's progress in one run; <c>next_tier</c> is null when every tier is reached.</summary>
public sealed record PlayerRunResponse(
    long Run,
    string Phase,
    long Points,
    string? AchievedAt,
    [property: JsonConverter(typeof(NamedAmountsConverter))] IReadOnlyList<NamedAmount> Objectives,
    IReadOnlyList<string> TiersReached,
    NextTierResponse? NextTier,
    IReadOnlyList<GrantSummaryResponse> Rewards);

/// <summary>The lowest tier not reached yet.</summary>
public sealed record NextTierResponse(
    string Name,
    long At,
    long PointsToGo,
    [property: JsonConverter(typeof(NamedAmountsConverter))] IReadOnlyList<NamedAmount> Reward);

/// <summary>The answer of <c>GET /v1/players/{player}/rewards</c>: a page of grants; <c>next_after</c> is null on the last page.</summary>
public sealed record PlayerRewardsResponse(string Player, IReadOnlyList<GrantResponse> Rewards, long? NextAfter);

/// <summary>The answer of <c>POST /v1/players/{player}/tokens</c>.</summary>
public sealed record PlayerTokenResponse(string Token, string Player, string Title, string ExpiresAt);
