using System.Globalization;
using System.Text.Json;
using Showrunner.Core.Actions;
using Showrunner.Runtime.Approvals;
using Showrunner.Server.Security;
using Showrunner.Storage.Audit;

namespace Showrunner.Server.Api;

/// <summary>
/// The two-person rule's requests: <c>GET /v1/approvals</c>, <c>GET /v1/approvals/{id}</c>,
/// <c>POST /v1/approvals/{id}/approve</c> and <c>/reject</c>. Guarded endpoints (manual grants,
/// corrections, activations) answer 202 with the request they stored (<see cref="WriteRequestedAsync"/>).
/// The contract is in docs/api.md, "Approvals".
/// </summary>
internal sealed class ApprovalsEndpoints(ApprovalService approvals)
{
    public const int DefaultListLimit = 50;
    public const int MaxListLimit = 500;
    public const int MaxReasonLength = 500;
    public const int MaxDecisionBodyBytes = 4096;

    public static void Map(WebApplication app)
    {
        var endpoints = app.Services.GetRequiredService<ApprovalsEndpoints>();
        app.MapGet("/v1/approvals", endpoints.ListAsync).Allow(Access.Viewer);
        app.MapGet("/v1/approvals/{id}", endpoints.GetAsync).Allow(Access.Viewer);
        app.MapPost("/v1/approvals/{id}/approve", (HttpContext context, string id) => endpoints.DecideAsync(context, id, approve: true)).Allow(Access.Approver);
        app.MapPost("/v1/approvals/{id}/reject", (HttpContext context, string id) => endpoints.DecideAsync(context, id, approve: false)).Allow(Access.Approver);
    }

    /// <summary>The answer of a guarded endpoint whose request now waits for approval: 202 with the approval.</summary>
    public static Task WriteRequestedAsync(HttpContext context, ApprovalRequestStatus status, StoredApproval? approval)
    {
        if (status == ApprovalRequestStatus.LimitReached || approval is null)
        {
            int max = context.RequestServices.GetRequiredService<ApprovalService>().Options.MaxPending;
            return Problems.WriteAsync(context, StatusCodes.Status409Conflict, ProblemCodes.ApprovalLimit, "Too many pending approvals",
                $"{max} requests are waiting for approval; decide some (GET /v1/approvals?status=pending) or let them expire, then ask again.");
        }
        return ApiResult.Json(StatusCodes.Status202Accepted, w =>
        {
            w.WriteStartObject("approval");
            WriteApproval(w, approval);
            w.WriteEndObject();
            w.WriteBoolean("created", status == ApprovalRequestStatus.Created);
        }, "/v1/approvals/" + approval.Id.ToString(CultureInfo.InvariantCulture)).WriteAsync(context);
    }

    public async Task ListAsync(HttpContext context)
    {
        var query = context.Request.Query;
        int limit = DefaultListLimit;
        if (query["limit"] is { Count: > 0 } limitText &&
            (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxListLimit))
        {
            await Requests.InvalidParameterAsync(context, "limit", $"limit must be a whole number from 1 to {MaxListLimit}.").ConfigureAwait(false);
            return;
        }
        long? before = null;
        if (query["before"] is { Count: > 0 } beforeText)
        {
            if (!long.TryParse(beforeText, NumberStyles.None, CultureInfo.InvariantCulture, out long value) || value < 1)
            {
                await Requests.InvalidParameterAsync(context, "before", "before must be an approval id (a whole number from 1): the last one of the previous page.").ConfigureAwait(false);
                return;
            }
            before = value;
        }
        string? status = null;
        if (query["status"] is { Count: > 0 } statusText)
        {
            status = statusText.ToString();
            if (!ApprovalStatuses.All.Contains(status))
            {
                await Requests.InvalidParameterAsync(context, "status", $"status must be one of {string.Join(", ", ApprovalStatuses.All)}.").ConfigureAwait(false);
                return;
            }
        }
        var page = approvals.List(limit + 1, before, status);
        await JsonOutput.WriteAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteStartArray("approvals");
            foreach (var approval in page.Take(limit))
            {
                w.WriteStartObject();
                WriteApproval(w, approval);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (page.Count > limit)
            {
                w.WriteString("next", $"/v1/approvals?limit={limit}&before={page[limit - 1].Id}" + (status is null ? "" : "&status=" + status));
            }
            else
            {
                w.WriteNull("next");
            }
        }).ConfigureAwait(false);
    }

    public async Task GetAsync(HttpContext context, string id)
    {
        var approval = ParseId(id) is { } number ? approvals.Find(number) : null;
        if (approval is null)
        {
            await NotFound(context, id).ConfigureAwait(false);
            return;
        }
        await JsonOutput.WriteAsync(context, StatusCodes.Status200OK, w => WriteApproval(w, approval)).ConfigureAwait(false);
    }

    private async Task DecideAsync(HttpContext context, string id, bool approve)
    {
        var principal = Actors.Of(context);
        if (!principal.IsOperator(Role.Approver))
        {
            await Problems.WriteAsync(context, StatusCodes.Status403Forbidden, ProblemCodes.Forbidden, "Forbidden",
                $"Deciding an approval request needs the approver role; {principal.Actor} has the {principal.Role.ToString().ToLowerInvariant()} role.").ConfigureAwait(false);
            return;
        }
        if (ParseId(id) is not { } number)
        {
            await NotFound(context, id).ConfigureAwait(false);
            return;
        }
        if (await ReadReasonAsync(context).ConfigureAwait(false) is not { } reason)
        {
            return;
        }
        var result = approve
            ? await approvals.ApproveAsync(number, principal.Actor, reason.Text, context.RequestAborted).ConfigureAwait(false)
            : await approvals.RejectAsync(number, principal.Actor, reason.Text, context.RequestAborted).ConfigureAwait(false);
        var approval = result.Approval;
        Action<Utf8JsonWriter>? withApproval = approval is null ? null : w =>
        {
            w.WriteStartObject("approval");
            WriteApproval(w, approval);
            w.WriteEndObject();
        };
        switch (result.Status)
        {
            case DecisionStatus.Executed:
            case DecisionStatus.Rejected:
                await JsonOutput.WriteAsync(context, StatusCodes.Status200OK, withApproval!).ConfigureAwait(false);
                return;
            case DecisionStatus.NotFound:
                await NotFound(context, id).ConfigureAwait(false);
                return;
            case DecisionStatus.SamePerson:
                await Problems.WriteAsync(context, StatusCodes.Status403Forbidden, ProblemCodes.SamePerson, "Same person",
                    $"{principal.Actor} made this request; a different person must {(approve ? "approve" : "reject")} it (two-person rule).",
                    extensions: withApproval).ConfigureAwait(false);
                return;
            case DecisionStatus.Expired:
                await Problems.WriteAsync(context, StatusCodes.Status409Conflict, ProblemCodes.ApprovalExpired, "Approval request expired",
                    $"The request expired at {Rfc3339.Format(approval!.ExpiresAtTicks)} without a decision; nothing was executed. Make the request again.",
                    extensions: withApproval).ConfigureAwait(false);
                return;
            case DecisionStatus.AlreadyDecided:
                await Problems.WriteAsync(context, StatusCodes.Status409Conflict, ProblemCodes.ApprovalDecided, "Approval request already decided",
                    $"The request is {approval!.Status}{(approval.DecidedBy is null ? "" : " (by " + approval.DecidedBy + ")")}; it can be decided only once.",
                    extensions: withApproval).ConfigureAwait(false);
                return;
            case DecisionStatus.CommandUnreadable:
                await Problems.WriteAsync(context, StatusCodes.Status409Conflict, ApprovalProblemCodes.CommandUnreadable, "Stored request unreadable",
                    $"This server cannot read the stored request of kind '{approval!.Kind}' (written by another version, or damaged); nothing was executed. " +
                    "Reject it and make the request again.",
                    extensions: withApproval).ConfigureAwait(false);
                return;
            default:
                await Problems.WriteAsync(context, StatusCodes.Status409Conflict, ProblemCodes.ApprovalKindUnknown, "Unknown kind of request",
                    $"This server cannot execute requests of kind '{approval!.Kind}' (written by another version); nothing changed.",
                    extensions: withApproval).ConfigureAwait(false);
                return;
        }
    }

    private readonly record struct Reason(string? Text);

    /// <summary>Reads the optional body <c>{"reason": "..."}</c>.</summary>
    private static async Task<Reason?> ReadReasonAsync(HttpContext context)
    {
        if (context.Request.ContentLength == 0 || (context.Request.ContentLength is null && !context.Request.Headers.TransferEncoding.Any()))
        {
            return new Reason(null);
        }
        if (MediaTypes.Of(context.Request.ContentType) != "application/json")
        {
            await Problems.WriteAsync(context, StatusCodes.Status415UnsupportedMediaType, ProblemCodes.UnsupportedMediaType, "Unsupported media type",
                "Send the request body as application/json, or no body.").ConfigureAwait(false);
            return null;
        }
        var body = await Requests.ReadBodyAsync(context, MaxDecisionBodyBytes).ConfigureAwait(false);
        if (body is null)
        {
            return null;
        }
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new JsonException("not an object");
            }
            string? reason = null;
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name != "reason")
                {
                    await Requests.InvalidParameterAsync(context, property.Name, $"'{property.Name}' is not a field of a decision (reason).").ConfigureAwait(false);
                    return null;
                }
                if (property.Value.ValueKind == JsonValueKind.Null)
                {
                    continue;
                }
                if (property.Value.ValueKind != JsonValueKind.String || property.Value.GetString() is not { Length: > 0 and <= MaxReasonLength } text
                    || text.Any(char.IsControl))
                {
                    await Requests.InvalidParameterAsync(context, "reason", $"reason must be a string of 1 to {MaxReasonLength} characters without control characters.").ConfigureAwait(false);
                    return null;
                }
                reason = text;
            }
            return new Reason(reason);
        }
        catch (JsonException)
        {
            await Problems.WriteAsync(context, StatusCodes.Status400BadRequest, ProblemCodes.InvalidJson, "Invalid JSON",
                "The body must be a JSON object such as {\"reason\": \"...\"}, or empty.").ConfigureAwait(false);
            return null;
        }
    }

    internal static void WriteApproval(Utf8JsonWriter w, StoredApproval approval)
    {
        w.WriteNumber("id", approval.Id);
        w.WriteString("kind", approval.Kind);
        w.WriteString("subject", approval.Subject);
        w.WriteString("path", approval.Path);
        w.WriteString("status", approval.Status);
        w.WriteString("requested_by", approval.RequestedBy);
        WriteText(w, "reason", approval.Reason);
        w.WriteString("created_at", Rfc3339.Format(approval.CreatedAtTicks));
        w.WriteString("expires_at", Rfc3339.Format(approval.ExpiresAtTicks));
        WriteText(w, "decided_by", approval.DecidedBy);
        WriteText(w, "decided_at", approval.DecidedAtTicks is { } at ? Rfc3339.Format(at) : null);
        WriteText(w, "decision_reason", approval.DecisionReason);
        w.WritePropertyName("request");
        w.WriteRawValue(approval.Body);
        if (approval.ResultStatus is { } status)
        {
            w.WriteNumber("result_status", status);
        }
        else
        {
            w.WriteNull("result_status");
        }
        w.WritePropertyName("result");
        if (approval.Result is { } result)
        {
            w.WriteRawValue(result);
        }
        else
        {
            w.WriteNullValue();
        }
    }

    private static void WriteText(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    private static long? ParseId(string id) =>
        id.Length <= 19 && long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out long value) && value >= 1 ? value : null;

    private static Task NotFound(HttpContext context, string id) =>
        Problems.WriteAsync(context, StatusCodes.Status404NotFound, ProblemCodes.ApprovalNotFound, "Approval request not found",
            $"There is no approval request '{id}'.");
}

/// <summary>Stable problem codes of the approval endpoints (kept here, next to the only endpoints that use them).</summary>
internal static class ApprovalProblemCodes
{
    /// <summary>409: the stored command of a typed kind cannot be read by this version's contract; nothing was decided.</summary>
    public const string CommandUnreadable = "approval_command_unreadable";
}
