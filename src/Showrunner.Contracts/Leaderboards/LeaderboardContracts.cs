using System.Text.Json.Serialization;
using Showrunner.Contracts.Wire;

namespace Showrunner.Contracts.Leaderboards;

/// <summary>The answer of <c>GET /v1/events/{id}/leaderboard</c>: the top entries merged from every partition.</summary>
public sealed record LeaderboardResponse(
    string Event,
    long Run,
    string Phase,
    string EvaluatedAt,
    long Players,
    IReadOnlyList<LeaderboardEntryResponse> Entries);

/// <summary>One ranked player; <c>prize</c> only where a prize band covers the rank.</summary>
public sealed record LeaderboardEntryResponse(
    long Rank,
    string Player,
    long Points,
    string AchievedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Prize);

/// <summary>The answer of <c>GET /v1/events/{id}/leaderboard/rank/{player}</c>; <c>prize</c> is null outside the prize bands.</summary>
public sealed record RankResponse(
    string Event,
    long Run,
    string Phase,
    string EvaluatedAt,
    long Rank,
    string Player,
    long Points,
    string AchievedAt,
    long Players,
    string? Prize);

/// <summary>The answer of <c>GET /v1/events/{id}/community</c>: the community goal's global progress.</summary>
public sealed record CommunityResponse(
    string Event,
    long Run,
    string Phase,
    string EvaluatedAt,
    long Target,
    long Progress,
    int Percent,
    long Participants,
    int PartitionsContributing,
    bool Reached,
    string? ReachedAt,
    [property: JsonConverter(typeof(NamedAmountsConverter))] IReadOnlyList<NamedAmount> Reward);
