namespace Showrunner.Runtime.Audit;

/// <summary>
/// One operator act for the audit log.
/// </summary>
/// <param name="Actor"><c>key:ID</c>, <c>system:NAME</c> (see Server's Principal.Actor).</param>
/// <param name="Action">Stable verb: <c>release.publish</c>, <c>release.activate</c>, <c>release.rollback</c>, <c>rollout.start</c>, <c>rollout.step</c>, <c>rollout.rollback</c>, <c>flag.set</c>, <c>grant.create</c>, <c>grant.correct</c>, <c>run.pause</c>, <c>run.resume</c>, <c>run.cancel</c>, <c>key.create</c>, <c>key.revoke</c>, <c>approval.request</c>, <c>approval.approve</c>, <c>approval.reject</c>, …</param>
/// <param name="Target">What was acted on (a release id, an event id, a key id, a grant id).</param>
/// <param name="Before">The id (or value) before the act, when there is one.</param>
/// <param name="After">The id (or value) after the act.</param>
/// <param name="Reason">The operator's reason, when given.</param>
/// <param name="Details">Optional compact JSON object with more facts (never secrets).</param>
public sealed record AuditRecord(string Actor, string Action, string Target, string? Before, string? After, string? Reason, string? Details = null);

/// <summary>
/// The append-only, hash-chained audit log. <see cref="RecordAsync"/> returns after the entry is
/// durable, with its sequence number.
/// </summary>
public interface IAuditTrail
{
    Task<long> RecordAsync(AuditRecord record, CancellationToken cancellationToken = default);
}
