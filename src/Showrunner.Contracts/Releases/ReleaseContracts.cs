using System.Text.Json.Serialization;

namespace Showrunner.Contracts.Releases;

/// <summary>A published release as lists and the register show it (<c>published_at</c> is RFC 3339, UTC).</summary>
public sealed record ReleaseSummary(string Id, string Name, string MerkleRoot, long Size, string PublishedAt, bool Active);

/// <summary>
/// One event of a release's detail. A one-off event has <c>end</c>, a recurring one <c>every</c>;
/// the other is left out. Durations are .NET constant ("c") time spans: <c>1.00:00:00</c>.
/// </summary>
public sealed record ReleaseEventSummary(
    string Id,
    string Title,
    string Start,
    string Duration,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Every,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? End,
    string Grace);

/// <summary>
/// <c>GET /v1/releases/{id}</c>, and the answer of <c>POST /v1/releases</c> (which adds <c>created</c>;
/// left out otherwise). <c>actions</c> maps each action type to its fields' types (<c>optional(T)</c> when optional).
/// </summary>
public sealed record ReleaseDetail(
    string Id,
    string Name,
    string MerkleRoot,
    long Size,
    string PublishedAt,
    bool Active,
    string? Description,
    IReadOnlyList<ReleaseEventSummary> Events,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Actions,
    IReadOnlyList<string> Configs,
    IReadOnlyList<string> Currencies,
    IReadOnlyList<string> Items,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? Created = null);

/// <summary><c>GET /v1/releases</c>: newest first; <c>next</c> is the path of the next page, or null.</summary>
public sealed record ReleaseListResponse(IReadOnlyList<ReleaseSummary> Releases, string? Next);

/// <summary>
/// The active-release register: <c>GET /v1/releases/active</c>, and the answer of activate and
/// rollback (which add <c>changed</c>; left out otherwise). Version 0 (nothing ever active) has
/// every other member null.
/// </summary>
public sealed record RegisterResponse(
    long Version,
    ReleaseSummary? Release,
    string? Kind,
    string? ChangedAt,
    string? Reason,
    string? RollbackTo,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? Changed = null);

/// <summary>
/// The body of <c>POST /v1/releases/{id}/activate</c> and <c>POST /v1/releases/rollback</c>; both
/// members and the body itself are optional. The server reads it with its own parser (its problems
/// name the member); the CLI and the approval store write it with this record.
/// </summary>
public sealed record ReleaseChangeRequest(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? ExpectedVersion = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Reason = null);

/// <summary>One running event's config override that applied to the player.</summary>
public sealed record ConfigOverrideApplied(string Event, long Run, string Config, IReadOnlyList<string> Keys, string Until);

/// <summary><c>GET /v1/config</c>: every config of the active release, as the player gets it now.</summary>
public sealed record ConfigResponse(
    string Release,
    string? Player,
    bool ProfileFound,
    string EvaluatedAt,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, ConfigScalar>> Configs,
    IReadOnlyList<ConfigOverrideApplied> Overrides);
