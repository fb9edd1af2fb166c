using Showrunner.Contracts.Grants;
using Showrunner.Core.Ledger;
using Showrunner.Core.LiveEvents;
using Showrunner.Runtime.Approvals;
using Showrunner.Runtime.Audit;
using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.Ledger;
using Showrunner.Storage;

namespace Showrunner.Runtime.Grants;

/// <summary>
/// Operator grants and corrections of earlier grants, as use cases: new ledger entries with author
/// and reason, never edits (docs/api.md, "Operator grants"). Idempotent by the operator's request id:
/// the same request again returns the same grant; the same request id with other content is refused.
/// </summary>
/// <remarks>
/// <para>
/// With the two-person rule on (<see cref="ApprovalOptions.GrantsNeedApproval"/>) a request is checked,
/// stored as an approval request holding its command (<see cref="GrantApprovalCommand"/>, kinds
/// <see cref="GrantKind"/> and <see cref="CorrectionKind"/>) and executed by <see cref="ExecuteApprovedAsync"/>
/// when a second person approves it: checked again (the active release may have changed), on behalf of its requester.
/// </para>
/// <para>
/// Whether a request is new is decided on its partition's executor: the single writer sees every
/// grant of the partition not yet committed, so two concurrent deliveries of one request never both
/// append. The executor step also asks the ledger (a lookup by grant id), because its in-memory set
/// of manual grants is rebuilt empty when the partition reloads while the ledger keeps the grant.
/// </para>
/// <para>
/// Every grant or correction made (or found again by a repeat) has its audit entry, written once:
/// a repeat after a stop between the commit and the audit entry writes it, marked <c>recovered</c>.
/// </para>
/// </remarks>
internal sealed class GrantService(IActionStore store, IngestPipeline pipeline, AuditTrail audit, ApprovalService approvals, LedgerIntegrity integrity)
{
    public const string ManualRule = "manual";
    public const string ManualEvent = "manual";
    public const string GrantKind = "grant.create";
    public const string CorrectionKind = "grant.correct";
    private const string CorrectionRulePrefix = "correction:";

    public ApprovalOptions ApprovalOptions => approvals.Options;

    /// <summary>A manual grant by <paramref name="actor"/>: granted now, or stored for approval (<paramref name="requestPath"/> is shown with it).</summary>
    public Task<GrantResult> RequestGrantAsync(ManualGrantCommand command, string actor, string requestPath, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (GrantRequestRules.Check(command) is var (field, detail))
        {
            return Task.FromResult(GrantResult.Refused(GrantRefusalCode.InvalidRequest, detail, field));
        }
        return DecideAsync(GrantKind, CauseOf(command), GrantCommandContract.Of(command), command.RequestId, command.Reason, command.Rewards, actor,
            requestPath, cancellationToken);
    }

    /// <summary>
    /// Whether grant <paramref name="grantId"/> can be corrected: null, or the refusal (invalid id, not
    /// found, damaged). Asked before the request body is read, so these answers come first.
    /// </summary>
    public GrantRefusal? CheckCorrectable(string grantId) => Original(grantId).Refusal;

    /// <summary>A correction by <paramref name="actor"/>: appended now, or stored for approval.</summary>
    public Task<GrantResult> RequestCorrectionAsync(GrantCorrectionCommand command, string actor, string requestPath, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(command);
        var (original, refusal) = Original(command.CorrectedGrantId);
        if (refusal is not null)
        {
            return Task.FromResult(new GrantResult(GrantStatus.Refused, Refusal: refusal));
        }
        if (GrantRequestRules.Check(command) is var (field, detail))
        {
            return Task.FromResult(GrantResult.Refused(GrantRefusalCode.InvalidRequest, detail, field));
        }
        // Stored with the corrected grant's id as the ledger spells it (lower-case hex), whatever case the path used.
        command = command with { CorrectedGrantId = original!.GrantId };
        return DecideAsync(CorrectionKind, CorrectionCause(original, command.RequestId), GrantCommandContract.Of(command), command.RequestId, command.Reason,
            command.Rewards, actor, requestPath, cancellationToken);
    }

    /// <summary>
    /// Executes an approved request of <paramref name="kind"/> as its approval stored it, checked again,
    /// on behalf of its requester. Never answers <see cref="GrantStatus.AwaitingApproval"/>.
    /// </summary>
    public Task<GrantResult> ExecuteApprovedAsync(string kind, GrantApprovalCommand stored, ApprovalExecution execution)
    {
        ArgumentNullException.ThrowIfNull(stored);
        ArgumentNullException.ThrowIfNull(execution);
        var acting = new ActingOperator(execution.RequestedBy, execution.ApprovalId, execution.ApprovedBy);
        if (kind == GrantKind)
        {
            var command = GrantCommandContract.Grant(stored);
            return GrantRequestRules.Check(command) is var (field, detail)
                ? Task.FromResult(GrantResult.Refused(GrantRefusalCode.InvalidRequest, detail, field))
                : AppendAsync(CauseOf(command), command.RequestId, command.Reason, command.Rewards, acting);
        }
        var correction = GrantCommandContract.Correction(stored);
        if (GrantRequestRules.Check(correction) is var (correctionField, correctionDetail))
        {
            return Task.FromResult(GrantResult.Refused(GrantRefusalCode.InvalidRequest, correctionDetail, correctionField));
        }
        var (original, refusal) = Original(correction.CorrectedGrantId);
        if (refusal is not null)
        {
            // A stored correction names a grant that was found when it was asked for: gone now is "not found", whatever its text.
            return Task.FromResult(refusal.Code == GrantRefusalCode.LedgerDamaged
                ? new GrantResult(GrantStatus.Refused, Refusal: refusal)
                : GrantResult.Refused(GrantRefusalCode.GrantNotFound, $"The ledger has no grant {stored.Corrects} to correct."));
        }
        return AppendAsync(CorrectionCause(original!, correction.RequestId), correction.RequestId, correction.Reason, correction.Rewards, acting);
    }

    private static GrantCause CauseOf(ManualGrantCommand command) =>
        new(command.Event ?? ManualEvent, command.Run, command.Player, ManualRule, CauseKind.Operator, command.RequestId);

    private static GrantCause CorrectionCause(GrantEntry original, string requestId) =>
        new(original.EventId, original.Run, original.Player, CorrectionRulePrefix + original.GrantId, CauseKind.Correction, requestId);

    /// <summary>The corrected grant from its checked bytes (never what a column says), or why it cannot be corrected.</summary>
    private (GrantEntry? Entry, GrantRefusal? Refusal) Original(string grantId)
    {
        if (LedgerReader.ParseGrantId(grantId) is not { } id)
        {
            return (null, new GrantRefusal(GrantRefusalCode.InvalidGrantId, "A grant id is 64 hexadecimal characters (a SHA-256)."));
        }
        if (store.Ledger.FindGrant(id) is not { } row)
        {
            return (null, new GrantRefusal(GrantRefusalCode.GrantNotFound, $"The ledger has no grant {grantId} to correct."));
        }
        var checkedRow = integrity.Check(row);
        return checkedRow.Entry is { } entry
            ? (entry, null)
            : (null, new GrantRefusal(GrantRefusalCode.LedgerDamaged, checkedRow.Damage!.Detail, Damage: checkedRow.Damage));
    }

    /// <summary>Executes the request now, or (two-person rule) stores its command for approval.</summary>
    private async Task<GrantResult> DecideAsync(string kind, GrantCause cause, GrantApprovalCommand command, string requestId, string reason,
        IReadOnlyList<RewardLine> rewards, string actor, string requestPath, CancellationToken cancellationToken)
    {
        var acting = new ActingOperator(actor);
        if (!approvals.Options.GrantsNeedApproval)
        {
            return await AppendAsync(cause, requestId, reason, rewards, acting).ConfigureAwait(false);
        }
        // Checked now so that a request that cannot be granted never waits for a second person,
        // and again when it is executed (the active release may have changed by then).
        if (CheckRewards(rewards) is { } refused)
        {
            return refused;
        }
        if (store.Ledger.FindGrant(Convert.FromHexString(cause.GrantId)) is { } row)
        {
            // Already granted (this request, approved earlier): answered as a repeat, nothing to approve.
            return await AnswerAsync(cause, row, requestId, reason, rewards, GrantStatus.Existing, acting).ConfigureAwait(false);
        }
        string text = approvals.CommandText(kind, command);
        if (approvals.FindPending(kind, cause.GrantId).FirstOrDefault(p => p.Body != text || p.RequestedBy != actor) is { } other)
        {
            return new GrantResult(GrantStatus.Refused, Refusal: new GrantRefusal(GrantRefusalCode.Conflict,
                $"Request id '{requestId}' is already waiting for approval (approval {other.Id}) with other content or from another person; use a new request id.",
                PendingApproval: other.Id));
        }
        var (status, approval) = await approvals.RequestAsync(kind, cause.GrantId, requestPath, command, actor, reason, cancellationToken).ConfigureAwait(false);
        return new GrantResult(GrantStatus.AwaitingApproval, ApprovalStatus: status, Approval: approval);
    }

    private GrantResult? CheckRewards(IReadOnlyList<RewardLine> rewards)
    {
        var release = pipeline.ActiveRelease;
        if (release is null)
        {
            return GrantResult.Refused(GrantRefusalCode.NoActiveRelease, "A grant records the release in force; activate one first.");
        }
        var definition = release.Loaded.Bundle.Release;
        foreach (var line in rewards)
        {
            if (!definition.Currencies.Contains(line.Name) && !definition.Items.Contains(line.Name))
            {
                return GrantResult.Refused(GrantRefusalCode.InvalidRequest, $"'{line.Name}' is not a currency or item of the active release.", "rewards");
            }
            if (definition.Bounds.MaxPerGrant.TryGetValue(line.Name, out long cap) && Math.Abs(line.Amount) > cap)
            {
                return GrantResult.Refused(GrantRefusalCode.InvalidRequest, $"{line.Amount} {line.Name} exceeds the release's safety bound of {cap} per grant.", "rewards");
            }
        }
        return null;
    }

    private async Task<GrantResult> AppendAsync(GrantCause cause, string requestId, string reason, IReadOnlyList<RewardLine> rewards, ActingOperator acting)
    {
        if (CheckRewards(rewards) is { } refused)
        {
            return refused;
        }
        var release = pipeline.ActiveRelease!;
        var pending = new PendingGrant(cause, rewards, release.Id, pipeline.StampNow, Author: acting.Actor, Reason: reason);
        int partition = pipeline.Router.PartitionOf(cause.Player);
        byte[] grantId = Convert.FromHexString(cause.GrantId);
        var (status, rowBefore) = await pipeline.OnPartitionAsync(partition, p =>
        {
            if (!p.ManualGrants.Add(cause.GrantId) || store.Ledger.FindGrant(grantId) is not null)
            {
                return ((GrantStatus.Existing, store.Ledger.FindGrant(grantId)), (IReadOnlyList<PendingGrant>)[]);
            }
            return ((GrantStatus.Created, (LedgerRow?)null), [pending]);
        }).ConfigureAwait(false);
        var row = rowBefore ?? store.Ledger.FindGrant(grantId);
        if (row is null)
        {
            return GrantResult.Refused(GrantRefusalCode.InProgress, "The same request is being granted by a concurrent call; retry to read its result.");
        }
        return await AnswerAsync(cause, row, requestId, reason, rewards, status, acting).ConfigureAwait(false);
    }

    /// <summary>The result for a grant created now or found (a repeat), with its audit entry made sure of.</summary>
    private async Task<GrantResult> AnswerAsync(GrantCause cause, LedgerRow row, string requestId, string reason, IReadOnlyList<RewardLine> rewards,
        GrantStatus status, ActingOperator acting)
    {
        var checkedRow = integrity.Check(row);
        if (checkedRow.Entry is not { } entry)
        {
            return new GrantResult(GrantStatus.Refused, Refusal: new GrantRefusal(GrantRefusalCode.LedgerDamaged, checkedRow.Damage!.Detail, Damage: checkedRow.Damage));
        }
        if (status == GrantStatus.Existing && !(entry.Rewards.SequenceEqual(rewards) && entry.Reason == reason && entry.Author == acting.Actor))
        {
            return GrantResult.Refused(GrantRefusalCode.Conflict, $"Request id '{requestId}' already granted something else; use a new request id.");
        }
        bool correction = cause.Kind == CauseKind.Correction;
        string? corrected = correction ? cause.Rule[CorrectionRulePrefix.Length..] : null;
        var record = new AuditRecord(acting.Actor, correction ? CorrectionKind : GrantKind, corrected ?? cause.GrantId, corrected, cause.GrantId,
            reason, AuditDetails.Of(w =>
            {
                w.WriteString("grant_id", cause.GrantId);
                w.WriteString("request_id", requestId);
                w.WriteString("player", cause.Player);
                w.WriteString("event", cause.EventId);
                w.WriteNumber("run", cause.Run);
                w.WriteStartObject("rewards");
                foreach (var line in rewards)
                {
                    w.WriteNumber(line.Name, line.Amount);
                }
                w.WriteEndObject();
                acting.WriteApproval(w);
                if (status == GrantStatus.Existing)
                {
                    w.WriteBoolean("recovered", true);
                }
            }));
        // Once for both: a repeat racing the call that created the grant (after its commit, before
        // its entry) must not record it a second time.
        await audit.RecordOnceAsync(record, e => e.After == cause.GrantId).ConfigureAwait(false);
        var delivery = await store.Outbox.GetAsync(Convert.ToHexStringLower(row.GrantId), CancellationToken.None).ConfigureAwait(false);
        return new GrantResult(status, entry, delivery);
    }
}
