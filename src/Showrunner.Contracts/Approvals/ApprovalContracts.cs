using System.Text.Json.Serialization;
using Showrunner.Contracts.Wire;

namespace Showrunner.Contracts.Approvals;

/// <summary>
/// An approval request. <c>request</c> is the stored command as JSON (what will be, or was,
/// executed); <c>result_status</c> and <c>result</c> the answer the executed command gave, null until then.
/// </summary>
public sealed record ApprovalResponse(
    long Id,
    string Kind,
    string Subject,
    string Path,
    string Status,
    string RequestedBy,
    string? Reason,
    string CreatedAt,
    string ExpiresAt,
    string? DecidedBy,
    string? DecidedAt,
    string? DecisionReason,
    [property: JsonConverter(typeof(RawJsonConverter))] string Request,
    int? ResultStatus,
    [property: JsonConverter(typeof(RawJsonConverter))] string? Result);

/// <summary>The 202 answer of a guarded request that now waits for approval; <c>created</c> is false when the same request was already pending.</summary>
public sealed record ApprovalRequestedResponse(ApprovalResponse Approval, bool Created);

/// <summary>The answer of an approval or rejection.</summary>
public sealed record ApprovalDecisionResponse(ApprovalResponse Approval);

/// <summary>The answer of <c>GET /v1/approvals</c>: newest first; <c>next</c> null on the last page.</summary>
public sealed record ApprovalListResponse(IReadOnlyList<ApprovalResponse> Approvals, string? Next);
