using System.Text.Json.Serialization;

namespace Showrunner.Contracts.Keys;

/// <summary>
/// An API key as the API shows it: never its secret's hash. <c>secret</c> only in the answer of
/// <c>POST /v1/keys</c> (the one time it is shown); <c>changed</c> only in the answer of a revocation.
/// </summary>
public sealed record KeyResponse(
    string Id,
    string Kind,
    string? Role,
    string? Title,
    string Name,
    string CreatedAt,
    string CreatedBy,
    string? RevokedAt,
    string? RevokedBy)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    [JsonPropertyOrder(1)]
    public string? Secret { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    [JsonPropertyOrder(2)]
    public bool? Changed { get; init; }
}

/// <summary>The answer of <c>GET /v1/keys</c>: <c>active</c> counts active keys; <c>next</c> null on the last page.</summary>
public sealed record KeyListResponse(int Active, IReadOnlyList<KeyResponse> Keys, string? Next);

/// <summary>What the audit log records of a key created or revoked (never the secret or its hash).</summary>
public sealed record KeyAuditDetails(string Kind, string? Role, string? Title, string Name);
