namespace Showrunner.Storage.Audit;

/// <summary>
/// One request that waits for (or had) a second person's approval (two-person rule,
/// docs/operations.md "Approvals"). Status is one of <see cref="ApprovalStatuses"/>.
/// </summary>
/// <param name="Id">1, 2, 3, …; never reused.</param>
/// <param name="Kind">What is asked for: <c>grant.create</c>, <c>grant.correct</c>, <c>release.activate</c>, …</param>
/// <param name="Subject">What it acts on (a grant id, a release id): requests of one kind and subject are looked up by it.</param>
/// <param name="Path">The HTTP path the request came to, for people.</param>
/// <param name="Body">The request as the server will execute it: compact JSON.</param>
/// <param name="RequestedBy">The requester's actor (<c>key:ID</c>).</param>
/// <param name="ResultStatus">The HTTP status the executed request answered, once executed (or failed).</param>
/// <param name="Result">The JSON body it answered.</param>
public sealed record StoredApproval(long Id, string Kind, string Subject, string Path, string Body, string RequestedBy, string? Reason,
    long CreatedAtTicks, long ExpiresAtTicks, string Status, string? DecidedBy = null, long? DecidedAtTicks = null, string? DecisionReason = null,
    int? ResultStatus = null, string? Result = null);

/// <summary>The statuses of an approval request and the only moves between them.</summary>
/// <remarks>
/// pending → approved (a second person approved; the request is being executed) → executed (it
/// succeeded) or failed (it was refused when executed: nothing changed); pending → rejected;
/// pending → expired (not decided before its expiry).
/// </remarks>
public static class ApprovalStatuses
{
    public const string Pending = "pending";
    public const string Approved = "approved";
    public const string Rejected = "rejected";
    public const string Expired = "expired";
    public const string Executed = "executed";
    public const string Failed = "failed";

    public static readonly IReadOnlyList<string> All = [Pending, Approved, Rejected, Expired, Executed, Failed];
}

/// <summary>
/// Approval requests. Rows are never deleted; a row changes only along the moves of
/// <see cref="ApprovalStatuses"/>, each a compare-and-set on its status.
/// </summary>
/// <remarks>Every method is safe to call concurrently; each write is durable when it returns.</remarks>
public interface IApprovalStore
{
    /// <summary>Stores a new pending request (its <see cref="StoredApproval.Id"/> is ignored) and returns it with its id.</summary>
    StoredApproval Insert(StoredApproval request);

    StoredApproval? Find(long id);

    /// <summary>Requests newest first, below <paramref name="beforeId"/> when given, with the status when given.</summary>
    IReadOnlyList<StoredApproval> List(int limit, long? beforeId, string? status);

    /// <summary>The pending requests of this kind and subject, oldest first.</summary>
    IReadOnlyList<StoredApproval> FindPending(string kind, string subject);

    int CountPending();

    /// <summary>Moves the request from <paramref name="from"/> to <paramref name="to"/> with the decision; false (nothing changed) if it is not in <paramref name="from"/>.</summary>
    bool TryDecide(long id, string from, string to, string? decidedBy, long decidedAtTicks, string? reason);

    /// <summary>Records the outcome of executing an approved request: <see cref="ApprovalStatuses.Executed"/> or <see cref="ApprovalStatuses.Failed"/>.</summary>
    bool TryComplete(long id, string to, int resultStatus, string result);

    /// <summary>Moves every pending request that expires at or before <paramref name="nowTicks"/> to expired; returns how many.</summary>
    int ExpireDue(long nowTicks);
}
