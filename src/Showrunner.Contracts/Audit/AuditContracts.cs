namespace Showrunner.Contracts.Audit;

/// <summary>The head of the audit log (<c>GET /v1/audit/head</c>): the last entry's seq and hash (hex).</summary>
public sealed record AuditHeadResponse(long Seq, string Hash);

/// <summary>The answer of <c>GET /v1/audit</c>: <c>order</c> is <c>newest_first</c> or <c>oldest_first</c>; <c>next</c> null on the last page.</summary>
public sealed record AuditListResponse(AuditHeadResponse Head, string Order, IReadOnlyList<AuditEntryResponse> Entries, string? Next);

/// <summary>One audit entry with its hashes; <c>details</c> is the JSON object as text (exactly what was hashed).</summary>
public sealed record AuditEntryResponse(
    long Seq,
    string At,
    string Actor,
    string Action,
    string Target,
    string? Before,
    string? After,
    string? Reason,
    string? Details,
    string PrevHash,
    string Hash);
