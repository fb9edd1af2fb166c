using System.Text.Json;

namespace Showrunner.Runtime.Releases;

/// <summary>
/// Who carries out an operator's use case: the actor (<c>key:ID</c>, <c>system:NAME</c>), and when
/// the act was approved under the two-person rule, the approval and its approver (the actor is then
/// the requester, on whose behalf the approved act runs).
/// </summary>
public sealed record OperatorAct(string Actor, long? ApprovalId = null, string? ApprovedBy = null)
{
    /// <summary>Writes <c>approval</c>, <c>requested_by</c> and <c>approved_by</c> into an audit entry's details when the act was approved.</summary>
    public void WriteApproval(Utf8JsonWriter w)
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
