using Showrunner.Contracts.Grants;
using Showrunner.Contracts.Wire;
using Showrunner.Core.Ledger;
using Showrunner.Runtime.Approvals;
using Showrunner.Storage.Outbox;

namespace Showrunner.Runtime.Grants;

/// <summary>An operator's manual grant: rewards to <see cref="Player"/>, idempotent by <see cref="RequestId"/>. <see cref="Event"/> null: the <c>manual</c> event.</summary>
internal sealed record ManualGrantCommand(string RequestId, string Reason, string Player, string? Event, long Run, IReadOnlyList<RewardLine> Rewards);

/// <summary>
/// A correction of grant <see cref="CorrectedGrantId"/> (64 hex characters): amounts of either sign for
/// the corrected grant's player, event and run, idempotent by <see cref="RequestId"/>. <see cref="Run"/> is
/// kept as the request gave it (0 when left out) and stored with an approval; the correction always
/// applies to the corrected grant's run.
/// </summary>
internal sealed record GrantCorrectionCommand(string CorrectedGrantId, string RequestId, string Reason, IReadOnlyList<RewardLine> Rewards, long Run = 0);

/// <summary>What a grant request became.</summary>
internal enum GrantStatus
{
    /// <summary>Appended now: a new ledger entry.</summary>
    Created,
    /// <summary>The same request was granted before: its entry, unchanged.</summary>
    Existing,
    /// <summary>The two-person rule holds it: stored as an approval request (or the same one was already pending, or too many are).</summary>
    AwaitingApproval,
    /// <summary>Not granted: see <see cref="GrantRefusal"/>.</summary>
    Refused,
}

/// <summary>Why a grant request was refused; each code is one stable problem of the API (docs/api.md, "Operator grants").</summary>
internal enum GrantRefusalCode
{
    /// <summary>A field breaks a rule (<see cref="GrantRefusal.Field"/> names it).</summary>
    InvalidRequest,
    /// <summary>The corrected grant id is not 64 hexadecimal characters.</summary>
    InvalidGrantId,
    NoActiveRelease,
    /// <summary>The corrected grant is not in the ledger.</summary>
    GrantNotFound,
    /// <summary>The request id already granted something else, or waits for approval with other content (<see cref="GrantRefusal.PendingApproval"/>).</summary>
    Conflict,
    /// <summary>A concurrent call is committing the same request right now.</summary>
    InProgress,
    /// <summary>The partition ledger of the grant failed a check (<see cref="GrantRefusal.Damage"/>).</summary>
    LedgerDamaged,
}

internal sealed record GrantRefusal(GrantRefusalCode Code, string Detail, string? Field = null, Ledger.PartitionDamage? Damage = null, long? PendingApproval = null);

/// <summary>The result of a grant or correction request: the checked entry and its delivery, the approval that holds it, or the refusal.</summary>
internal sealed record GrantResult(
    GrantStatus Status,
    GrantEntry? Entry = null,
    DeliveryState? Delivery = null,
    GrantRefusal? Refusal = null,
    ApprovalRequestStatus? ApprovalStatus = null,
    Storage.Audit.StoredApproval? Approval = null)
{
    public static GrantResult Refused(GrantRefusalCode code, string detail, string? field = null) => new(GrantStatus.Refused, Refusal: new GrantRefusal(code, detail, field));
}

/// <summary>Who acts: the operator, and for an approved request the approval and its approver (recorded in the audit details).</summary>
internal sealed record ActingOperator(string Actor, long? ApprovalId = null, string? ApprovedBy = null)
{
    /// <summary>Writes <c>approval</c>, <c>requested_by</c> and <c>approved_by</c> into an audit entry's details when the act was approved.</summary>
    public void WriteApproval(System.Text.Json.Utf8JsonWriter w)
    {
        ArgumentNullException.ThrowIfNull(w);
        if (ApprovalId is { } id)
        {
            w.WriteNumber("approval", id);
            w.WriteString("requested_by", Actor);
            w.WriteString("approved_by", ApprovedBy);
        }
    }
}

/// <summary>The commands as an approval stores them (<see cref="GrantApprovalCommand"/>), and back.</summary>
internal static class GrantCommandContract
{
    public static readonly System.Text.Json.Serialization.Metadata.JsonTypeInfo<GrantApprovalCommand> Wire = WireJson.Of(GrantsJson.Default.GrantApprovalCommand);

    public static GrantApprovalCommand Of(ManualGrantCommand command) =>
        new(null, command.RequestId, command.Player, command.Event, command.Run, Amounts(command.Rewards), command.Reason);

    public static GrantApprovalCommand Of(GrantCorrectionCommand command) =>
        new(command.CorrectedGrantId, command.RequestId, null, null, command.Run, Amounts(command.Rewards), command.Reason);

    /// <summary>A stored grant command as a <see cref="ManualGrantCommand"/> (the service checks its fields again).</summary>
    public static ManualGrantCommand Grant(GrantApprovalCommand stored) =>
        new(stored.RequestId, stored.Reason, stored.Player!, stored.Event, stored.Run, Lines(stored.Rewards));

    public static GrantCorrectionCommand Correction(GrantApprovalCommand stored) =>
        new(stored.Corrects ?? "", stored.RequestId, stored.Reason, Lines(stored.Rewards), stored.Run);

    private static List<NamedAmount> Amounts(IReadOnlyList<RewardLine> lines) => [.. lines.Select(l => new NamedAmount(l.Name, l.Amount))];

    private static List<RewardLine> Lines(IReadOnlyList<NamedAmount>? amounts) => [.. (amounts ?? []).Select(a => new RewardLine(a.Name, a.Amount))];
}
