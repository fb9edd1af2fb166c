using System.Text.Json;

namespace Showrunner.Server.Security;

/// <summary>
/// Who is acting in an operator request: the one place that turns a request into the principal
/// the audit log, the ledger's <c>author</c> and the two-person rule use.
/// </summary>
/// <remarks>
/// Until authentication is in place nothing sets a principal, and every caller is the one
/// <see cref="Anonymous"/> operator with every right (as every caller was before). Making this
/// strict (refusing a request without a principal) is the change authentication brings; no other
/// code needs to know.
/// </remarks>
internal static class Actors
{
    /// <summary>The caller of every request while authentication is not configured: <c>key:anonymous</c>, admin.</summary>
    public static readonly Principal Anonymous = new("anonymous", PrincipalKind.Operator, "anonymous (no authentication)", Role.Admin);

    public static Principal Of(HttpContext context) => context.GetPrincipal()
        ?? throw new InvalidOperationException($"{context.Request.Method} {context.Request.Path} acts for somebody but has no authenticated principal (an operator endpoint declared Public?).");
}

/// <summary>
/// Who an act is recorded for: the actor it is done by (on whose behalf), and, for a request
/// executed after a second person's approval, that approval and its approver.
/// </summary>
internal sealed record Acting(string Actor, long? ApprovalId = null, string? ApprovedBy = null)
{
    public static Acting Of(HttpContext context) => new(Actors.Of(context).Actor);

    /// <summary>Writes <c>approval</c>, <c>requested_by</c> and <c>approved_by</c> into an audit entry's details when the act was approved.</summary>
    public void WriteApproval(Utf8JsonWriter w)
    {
        if (ApprovalId is { } id)
        {
            w.WriteNumber("approval", id);
            w.WriteString("requested_by", Actor);
            w.WriteString("approved_by", ApprovedBy);
        }
    }
}
