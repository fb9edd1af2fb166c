using System.Text.Json;
using Showrunner.Contracts.Grants;
using Showrunner.Core.Ledger;
using Showrunner.Runtime.Approvals;
using Showrunner.Runtime.Grants;
using Showrunner.Server.Security;
using Showrunner.Storage;

namespace Showrunner.Server.Api;

/// <summary>
/// Operator grants (<c>POST /v1/grants</c>) and corrections of earlier grants
/// (<c>POST /v1/rewards/{grant_id}/corrections</c>) over HTTP: the body becomes a typed command for
/// <see cref="GrantService"/>, whose result becomes the answer. docs/api.md, "Operator grants".
/// </summary>
/// <remarks>
/// The author of the entry is the caller's actor (<see cref="Actors"/>), never free text: a body's
/// <c>author</c> may only name the caller. With the two-person rule on, the service stores the command
/// as an approval request (answered 202); an approval executes it through the service (registered here
/// with <see cref="ApprovalService"/>), and its result is kept with the approval as this endpoint would
/// have answered it.
/// </remarks>
internal sealed class GrantsEndpoints(GrantService grants, IActionStore store)
{
    public const int MaxBodyBytes = 16 * 1024;

    public static void Map(WebApplication app)
    {
        var endpoints = app.Services.GetRequiredService<GrantsEndpoints>();
        app.MapPost("/v1/grants", endpoints.GrantAsync).Allow(Access.Operator);
        app.MapPost("/v1/rewards/{grantId}/corrections", endpoints.CorrectAsync).Allow(Access.Operator);
        var approvals = app.Services.GetRequiredService<ApprovalService>();
        approvals.Register(GrantService.GrantKind, GrantCommandContract.Wire, endpoints.ExecuteApprovedAsync(GrantService.GrantKind));
        approvals.Register(GrantService.CorrectionKind, GrantCommandContract.Wire, endpoints.ExecuteApprovedAsync(GrantService.CorrectionKind));
    }

    /// <summary>A request body as read: the command's fields, and the <c>author</c> the caller may give (only themselves).</summary>
    private sealed record Request(string RequestId, string? Author, string Reason, string? Player, string? Event, long Run, List<RewardLine> Rewards);

    public async Task GrantAsync(HttpContext context)
    {
        if (await ReadAsync(context, correction: false).ConfigureAwait(false) is not { } request || !await CheckAuthorAsync(context, request).ConfigureAwait(false))
        {
            return;
        }
        string path = context.Request.Path.Value ?? "";
        var command = new ManualGrantCommand(request.RequestId, request.Reason, request.Player!, request.Event, request.Run, request.Rewards);
        var result = await grants.RequestGrantAsync(command, Actors.Of(context).Actor, path, context.RequestAborted).ConfigureAwait(false);
        await WriteAsync(context, result, path).ConfigureAwait(false);
    }

    public async Task CorrectAsync(HttpContext context, string grantId)
    {
        string path = context.Request.Path.Value ?? "";
        // The grant is looked up before the body is read: an unknown or damaged grant is the answer whatever the body says.
        if (grants.CheckCorrectable(grantId) is { } refusal)
        {
            await Answer(new GrantResult(GrantStatus.Refused, Refusal: refusal), path).WriteAsync(context).ConfigureAwait(false);
            return;
        }
        if (await ReadAsync(context, correction: true).ConfigureAwait(false) is not { } request || !await CheckAuthorAsync(context, request).ConfigureAwait(false))
        {
            return;
        }
        var command = new GrantCorrectionCommand(grantId, request.RequestId, request.Reason, request.Rewards, request.Run);
        var result = await grants.RequestCorrectionAsync(command, Actors.Of(context).Actor, path, context.RequestAborted).ConfigureAwait(false);
        await WriteAsync(context, result, path).ConfigureAwait(false);
    }

    private static async Task<bool> CheckAuthorAsync(HttpContext context, Request request)
    {
        var actor = Actors.Of(context).Actor;
        if (request.Author is not null && request.Author != actor)
        {
            await Invalid(context, "author", $"author is the caller ({actor}) and may be left out; it cannot name anyone else.").ConfigureAwait(false);
            return false;
        }
        return true;
    }

    private static Task WriteAsync(HttpContext context, GrantResult result, string path) => result.Status == GrantStatus.AwaitingApproval
        ? ApprovalsEndpoints.WriteRequestedAsync(context, result.ApprovalStatus!.Value, result.Approval)
        : Answer(result, path).WriteAsync(context);

    /// <summary>The executor of approved grants and corrections of <paramref name="kind"/>: the stored command through the service.</summary>
    private ApprovalCommandHandler<GrantApprovalCommand> ExecuteApprovedAsync(string kind) => async (command, execution, _) =>
    {
        string path = store.Approvals.Find(execution.ApprovalId)?.Path ?? "";
        var result = Answer(await grants.ExecuteApprovedAsync(kind, command, execution).ConfigureAwait(false), path);
        return new ApprovalOutcome(result.Status, result.Text);
    };

    /// <summary>The HTTP answer of a grant result (never one awaiting approval): the grant, or its problem.</summary>
    private static ApiResult Answer(GrantResult result, string path)
    {
        switch (result.Status)
        {
            case GrantStatus.Created:
                return ContractResults.Of(StatusCodes.Status201Created, GrantResponses.Full(result.Entry!, result.Delivery, "created"), GrantResponses.Wire,
                    "/v1/rewards/" + result.Entry!.GrantId);
            case GrantStatus.Existing:
                return ContractResults.Of(StatusCodes.Status200OK, GrantResponses.Full(result.Entry!, result.Delivery, "existing"), GrantResponses.Wire);
        }
        var refusal = result.Refusal!;
        return refusal.Code switch
        {
            GrantRefusalCode.InvalidRequest => InvalidResult(path, refusal.Field!, refusal.Detail),
            GrantRefusalCode.InvalidGrantId => Problems.Of(path, StatusCodes.Status400BadRequest, ProblemCodes.InvalidGrantId, "Invalid grant id", refusal.Detail),
            GrantRefusalCode.NoActiveRelease => Problems.Of(path, StatusCodes.Status409Conflict, ProblemCodes.NoActiveRelease, "No active release", refusal.Detail),
            GrantRefusalCode.GrantNotFound => Problems.Of(path, StatusCodes.Status404NotFound, ProblemCodes.GrantNotFound, "Grant not found", refusal.Detail),
            GrantRefusalCode.Conflict => Problems.Of(path, StatusCodes.Status409Conflict, ProblemCodes.GrantConflict, "Request id reused", refusal.Detail,
                extensions: refusal.PendingApproval is { } approval ? w => w.WriteNumber("approval", approval) : null),
            GrantRefusalCode.InProgress => Problems.Of(path, StatusCodes.Status409Conflict, ProblemCodes.GrantInProgress, "Grant in progress", refusal.Detail,
                retryAfter: TimeSpan.FromSeconds(1)),
            _ => LedgerDamageProblem.Of(path, refusal.Damage!),
        };
    }

    /// <summary>Reads and checks the body; on any problem writes a 400 naming the field and returns null.</summary>
    private static async Task<Request?> ReadAsync(HttpContext context, bool correction)
    {
        if (MediaTypes.Of(context.Request.ContentType) != "application/json")
        {
            await Problems.WriteAsync(context, StatusCodes.Status415UnsupportedMediaType, ProblemCodes.UnsupportedMediaType, "Unsupported media type",
                "Send the request as application/json.").ConfigureAwait(false);
            return null;
        }
        var body = await Requests.ReadBodyAsync(context, MaxBodyBytes, $"A grant request is at most {MaxBodyBytes} bytes.").ConfigureAwait(false);
        if (body is null)
        {
            return null;
        }
        var (request, problem) = Parse(body, correction, context.Request.Path.Value ?? "");
        if (problem is not null)
        {
            await problem.WriteAsync(context).ConfigureAwait(false);
        }
        return request;
    }

    /// <summary>
    /// Parses and checks a request body with <see cref="GrantRequestRules"/>' sentences, in their order. Kept by
    /// hand (not a contract record): a field of the wrong JSON kind is reported as that field's rule
    /// (e.g. a numeric <c>request_id</c> is "request_id is required: …"), as the API always answered.
    /// </summary>
    private static (Request? Request, ApiResult? Problem) Parse(byte[] body, bool correction, string path)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 4 });
        }
        catch (JsonException exception)
        {
            return (null, Problems.Of(path, StatusCodes.Status400BadRequest, ProblemCodes.InvalidJson, "Invalid JSON", exception.Message));
        }
        using (document)
        {
            var root = document.RootElement;
            (Request?, ApiResult?) Refuse(string field, string detail) => (null, InvalidResult(path, field, detail));
            if (root.ValueKind != JsonValueKind.Object)
            {
                return Refuse("body", "The body is a JSON object.");
            }
            string? Text(string name) => root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
            string? requestId = Text("request_id"), author = Text("author"), reason = Text("reason"), player = Text("player"), eventId = Text("event");
            foreach (var (field, value, required, max) in new[]
            {
                ("request_id", requestId, true, GrantEntry.IdentifierLengthMax), ("author", author, false, GrantEntry.IdentifierLengthMax),
                ("reason", reason, true, GrantEntry.ReasonLengthMax), ("player", player, !correction, GrantEntry.IdentifierLengthMax),
                ("event", eventId, false, GrantEntry.IdentifierLengthMax),
            })
            {
                if (GrantRequestRules.Text(field, value, required, max) is { } problem)
                {
                    return Refuse(field, problem);
                }
            }
            // Labels that become part of the grant id, the ledger entry and the audit log: a documented charset.
            foreach (var (field, value) in new[] { ("request_id", requestId), ("event", eventId) })
            {
                if (GrantRequestRules.Label(field, value) is { } problem)
                {
                    return Refuse(field, problem);
                }
            }
            if (correction && (player is not null || eventId is not null))
            {
                return Refuse(player is not null ? "player" : "event", GrantRequestRules.CorrectionTarget);
            }
            long run = 0;
            // TryGetInt64 throws (InvalidOperationException) on anything but a number: the kind first.
            if (root.TryGetProperty("run", out var runValue) && (runValue.ValueKind != JsonValueKind.Number || !runValue.TryGetInt64(out run) || run < 0))
            {
                return Refuse("run", GrantRequestRules.Run);
            }
            if (!root.TryGetProperty("rewards", out var rewards) || rewards.ValueKind != JsonValueKind.Object)
            {
                return Refuse("rewards", GrantRequestRules.RewardsShape);
            }
            var lines = new List<RewardLine>();
            foreach (var property in rewards.EnumerateObject())
            {
                long amount = 0;
                if (property.Value.ValueKind != JsonValueKind.Number || !property.Value.TryGetInt64(out amount) || !GrantRequestRules.IsValidAmount(amount, correction))
                {
                    return Refuse("rewards." + property.Name, GrantRequestRules.Amount(correction));
                }
                if (lines.Any(l => l.Name == property.Name))
                {
                    return Refuse("rewards." + property.Name, GrantRequestRules.RewardTwice);
                }
                lines.Add(new RewardLine(property.Name, amount));
            }
            if (lines.Count is 0 or > GrantEntry.RewardLinesMax)
            {
                return Refuse("rewards", GrantRequestRules.LineCount);
            }
            return (new Request(requestId!, author, reason!, player, eventId, run, lines), null);
        }
    }

    private static ApiResult InvalidResult(string path, string field, string detail) =>
        Problems.Of(path, StatusCodes.Status400BadRequest, ProblemCodes.InvalidGrantRequest, "Invalid grant request", detail,
            extensions: w => w.WriteString("field", field));

    private static Task Invalid(HttpContext context, string field, string detail) =>
        InvalidResult(context.Request.Path.Value ?? "", field, detail).WriteAsync(context);
}
