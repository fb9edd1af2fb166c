using Showrunner.Runtime.Approvals;
using Showrunner.Runtime.Audit;
using Showrunner.Storage;
using Showrunner.Storage.Audit;

namespace Showrunner.Runtime.Releases;

/// <summary>Publish a bundle (the bytes <c>showrunner build</c> writes); <paramref name="ExpectedId"/> is the SHA-256 the sender computed, if it did.</summary>
public sealed record PublishRelease(byte[] Bundle, string? ExpectedId);

/// <summary>Make <paramref name="ReleaseId"/> (lower-case) the active release, if the register is at <paramref name="ExpectedVersion"/> (when given).</summary>
public sealed record ActivateRelease(string ReleaseId, long? ExpectedVersion, string? Reason);

/// <summary>Return to the release the active one replaced, if the register is at <paramref name="ExpectedVersion"/> (when given).</summary>
public sealed record RollBackRelease(long? ExpectedVersion, string? Reason);

/// <summary>
/// An activation as it waits for approval: the register version it was asked at (pinned, so an
/// approval never replaces a release the approver did not see) and the exposure the two-person
/// rule counted (a plain activation: 100%). The release is the approval's subject.
/// </summary>
public sealed record ApprovedActivation(long ExpectedVersion, string? Reason, int Percent);

/// <summary>An activation's outcome: the register change, or the approval request it now waits for.</summary>
public sealed record ActivationOutcome(ChangeResult? Change, ApprovalRequestStatus ApprovalStatus = ApprovalRequestStatus.Created, StoredApproval? Approval = null)
{
    public bool WaitsForApproval => Change is null;
}

/// <summary>
/// The release use cases (docs/operations.md, "Releases"): publish, activate (under the
/// two-person rule when it guards activations), roll back. Each change is recorded in the audit log
/// (<c>release.publish</c>, <c>release.activate</c>, <c>release.rollback</c>) after it is durable.
/// </summary>
public sealed class ReleaseService(ReleaseRegister register, IActionStore store, IAuditTrail audit, ApprovalService approvals)
{
    /// <summary>The approval kind of an activation to every player (the two-person rule counts it as 100%).</summary>
    public const string ActivationKind = "release.activate";

    public async Task<PublishResult> PublishAsync(PublishRelease command, string actor)
    {
        ArgumentNullException.ThrowIfNull(command);
        var result = await register.PublishAsync(command.Bundle, command.ExpectedId).ConfigureAwait(false);
        if (result.Status == PublishStatus.Created)
        {
            var stored = result.Release!;
            await audit.RecordAsync(new AuditRecord(actor, "release.publish", stored.Id, null, stored.Id, null, AuditDetails.Of(w =>
            {
                w.WriteString("name", stored.Name);
                w.WriteString("merkle_root", stored.MerkleRoot);
                w.WriteNumber("size", stored.Size);
            }))).ConfigureAwait(false);
        }
        return result;
    }

    /// <summary>
    /// Activates now, or, when activations need approval, stores the request (at the register
    /// version it was asked at) unless the release is unknown, the version is not the expected one,
    /// or the release is already active (nothing to approve). <paramref name="path"/> is where the
    /// request was made, kept with the approval.
    /// </summary>
    public async Task<ActivationOutcome> ActivateAsync(ActivateRelease command, OperatorAct act, string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (!approvals.Options.ActivationNeedsApproval(100))
        {
            return new ActivationOutcome(await ActivateNowAsync(command, act).ConfigureAwait(false));
        }
        var current = register.Current;
        if (store.Releases.Find(command.ReleaseId) is null)
        {
            return new ActivationOutcome(ChangeResult.Of(ChangeStatus.ReleaseNotFound, current));
        }
        long version = current?.Version ?? 0;
        if (command.ExpectedVersion is { } expected && expected != version)
        {
            return new ActivationOutcome(ChangeResult.Of(ChangeStatus.VersionConflict, current));
        }
        if (current?.Release.Id == command.ReleaseId)
        {
            return new ActivationOutcome(ChangeResult.Of(ChangeStatus.Unchanged, current));
        }
        var (status, approval) = await approvals.RequestAsync(ActivationKind, command.ReleaseId, path, new ApprovedActivation(version, command.Reason, 100),
            act.Actor, command.Reason, cancellationToken).ConfigureAwait(false);
        return new ActivationOutcome(null, status, approval);
    }

    /// <summary>Carries out an approved activation: the stored request, on behalf of its requester, at the version it was asked at.</summary>
    public Task<ChangeResult> ExecuteApprovedAsync(string releaseId, ApprovedActivation approved, OperatorAct act)
    {
        ArgumentNullException.ThrowIfNull(approved);
        return ActivateNowAsync(new ActivateRelease(releaseId, approved.ExpectedVersion, approved.Reason), act);
    }

    /// <summary>
    /// Registers the executor of approved activations; <paramref name="answer"/> turns the change
    /// (and the release id) into the outcome the approval keeps (the HTTP answer the act would have had).
    /// </summary>
    public void RegisterApprovals(Func<ChangeResult, string, ApprovalOutcome> answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        approvals.Register(ActivationKind, OperatorCommandsJson.Stored.ApprovedActivation, async (approved, execution, _) =>
            answer(await ExecuteApprovedAsync(execution.Subject, approved, new OperatorAct(execution.RequestedBy, execution.ApprovalId, execution.ApprovedBy))
                .ConfigureAwait(false), execution.Subject));
    }

    public async Task<ChangeResult> RollbackAsync(RollBackRelease command, OperatorAct act)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(act);
        var result = await register.RollbackAsync(command.ExpectedVersion, command.Reason).ConfigureAwait(false);
        if (result.Status == ChangeStatus.Changed)
        {
            // The target is the release rolled back: the one active at the version before.
            var rolledBack = store.Releases.ReadVersion(result.Entry!.Version - 1)!.Release.Id;
            await RecordChangeAsync("release.rollback", rolledBack, result.Entry, command.Reason, act).ConfigureAwait(false);
        }
        return result;
    }

    private async Task<ChangeResult> ActivateNowAsync(ActivateRelease command, OperatorAct act)
    {
        var result = await register.ActivateAsync(command.ReleaseId, command.ExpectedVersion, command.Reason).ConfigureAwait(false);
        if (result.Status == ChangeStatus.Changed)
        {
            await RecordChangeAsync("release.activate", result.Entry!.Release.Id, result.Entry, command.Reason, act).ConfigureAwait(false);
        }
        return result;
    }

    /// <summary>
    /// Records an activation or rollback: before and after are the release ids, the register
    /// versions are in the details. The release before is read from the register's previous
    /// version (every change is a compare-and-set from it), so concurrent changes cannot mix it up.
    /// </summary>
    private Task RecordChangeAsync(string action, string target, RegisterEntry after, string? reason, OperatorAct act)
    {
        var before = after.Version > 1 ? store.Releases.ReadVersion(after.Version - 1) : null;
        return audit.RecordAsync(new AuditRecord(act.Actor, action, target, before?.Release.Id, after.Release.Id, reason, AuditDetails.Of(w =>
        {
            w.WriteNumber("version_before", after.Version - 1);
            w.WriteNumber("version_after", after.Version);
            act.WriteApproval(w);
        })));
    }
}
