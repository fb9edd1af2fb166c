using System.Text.Json;
using Showrunner.Core.Ledger;
using Showrunner.Core.LiveEvents;
using Showrunner.Runtime.Approvals;
using Showrunner.Runtime.Audit;
using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.Ledger;
using Showrunner.Server.Security;
using Showrunner.Storage;

namespace Showrunner.Server.Api;

/// <summary>
/// Operator grants (<c>POST /v1/grants</c>) and corrections of earlier grants
/// (<c>POST /v1/rewards/{grant_id}/corrections</c>): new ledger entries with author and reason,
/// never edits. Idempotent by the operator's request id: the same request again returns the same
/// grant; the same request id with other content is refused. docs/api.md, "Operator grants".
/// </summary>
/// <remarks>
/// The author of the entry is the caller's actor (<see cref="Actors"/>), never free text. With
/// the two-person rule on (<c>Showrunner:Approvals:Grants</c>), a request is checked, stored as an
/// approval request and answered 202; it is executed (author: the requester) when a second person
/// approves it (<see cref="ApprovalsEndpoints"/>).
/// </remarks>
internal sealed class GrantsEndpoints(IActionStore store, IngestPipeline pipeline, AuditTrail audit, ApprovalService approvals, LedgerIntegrity integrity)
{
    public const int MaxBodyBytes = 16 * 1024;
    /// <summary>Largest amount one line of a manual grant or correction may carry (either sign).</summary>
    public const long MaxAmount = 1_000_000_000_000;
    public const string ManualRule = "manual";
    public const string ManualEvent = "manual";
    public const string GrantKind = "grant.create";
    public const string CorrectionKind = "grant.correct";

    public static void Map(WebApplication app)
    {
        var endpoints = app.Services.GetRequiredService<GrantsEndpoints>();
        app.MapPost("/v1/grants", endpoints.GrantAsync).Allow(Access.Operator);
        app.MapPost("/v1/rewards/{grantId}/corrections", endpoints.CorrectAsync).Allow(Access.Operator);
        var approvals = app.Services.GetRequiredService<ApprovalService>();
        approvals.Register(GrantKind, endpoints.ExecuteApprovedAsync);
        approvals.Register(CorrectionKind, endpoints.ExecuteApprovedAsync);
    }

    private sealed record Request(string RequestId, string? Author, string Reason, string? Player, string? Event, long Run, List<RewardLine> Rewards);

    public async Task GrantAsync(HttpContext context)
    {
        if (await ReadAsync(context, correction: false).ConfigureAwait(false) is not { } request)
        {
            return;
        }
        var cause = new GrantCause(request.Event ?? ManualEvent, request.Run, request.Player!, ManualRule, CauseKind.Operator, request.RequestId);
        await DecideAsync(context, GrantKind, cause, null, request).ConfigureAwait(false);
    }

    public async Task CorrectAsync(HttpContext context, string grantId)
    {
        if (LedgerReader.ParseGrantId(grantId) is not { } id)
        {
            await Problems.WriteAsync(context, StatusCodes.Status400BadRequest, ProblemCodes.InvalidGrantId, "Invalid grant id",
                "A grant id is 64 hexadecimal characters (a SHA-256).").ConfigureAwait(false);
            return;
        }
        if (store.Ledger.FindGrant(id) is not { } original)
        {
            await Problems.WriteAsync(context, StatusCodes.Status404NotFound, ProblemCodes.GrantNotFound, "Grant not found",
                $"The ledger has no grant {grantId} to correct.").ConfigureAwait(false);
            return;
        }
        // The correction goes to the player, event and run the original's checked bytes name, never to what a column says.
        var checkedOriginal = integrity.Check(original);
        if (checkedOriginal.Entry is not { } entry)
        {
            await LedgerDamageProblem.WriteAsync(context, checkedOriginal.Damage!).ConfigureAwait(false);
            return;
        }
        if (await ReadAsync(context, correction: true).ConfigureAwait(false) is not { } request)
        {
            return;
        }
        await DecideAsync(context, CorrectionKind, CorrectionCause(entry, id, request.RequestId), Convert.ToHexStringLower(id), request).ConfigureAwait(false);
    }

    private static GrantCause CorrectionCause(GrantEntry original, byte[] id, string requestId) =>
        new(original.EventId, original.Run, original.Player, "correction:" + Convert.ToHexStringLower(id), CauseKind.Correction, requestId);

    /// <summary>Executes the request now, or (two-person rule) stores it for approval and answers 202.</summary>
    private async Task DecideAsync(HttpContext context, string kind, GrantCause cause, string? corrects, Request request)
    {
        var actor = Actors.Of(context).Actor;
        string path = context.Request.Path.Value ?? "";
        if (request.Author is not null && request.Author != actor)
        {
            await Invalid(context, "author", $"author is the caller ({actor}) and may be left out; it cannot name anyone else.").ConfigureAwait(false);
            return;
        }
        request = request with { Author = actor };
        if (!approvals.Options.GrantsNeedApproval)
        {
            var result = await AppendAsync(cause, request, new Acting(actor), path).ConfigureAwait(false);
            await result.WriteAsync(context).ConfigureAwait(false);
            return;
        }
        // Checked now so that a request that cannot be granted never waits for a second person,
        // and again when it is executed (the active release may have changed by then).
        if (CheckRewards(request, path) is { } refused)
        {
            await refused.WriteAsync(context).ConfigureAwait(false);
            return;
        }
        if (store.Ledger.FindGrant(Convert.FromHexString(cause.GrantId)) is { } row)
        {
            // Already granted (this request, approved earlier): answered as a repeat, nothing to approve.
            var answer = await Answer(cause, row, request, GrantOutcome.Existing, new Acting(actor), path).ConfigureAwait(false);
            await answer.WriteAsync(context).ConfigureAwait(false);
            return;
        }
        string body = Canonical(request, corrects);
        if (approvals.FindPending(kind, cause.GrantId).FirstOrDefault(p => p.Body != body || p.RequestedBy != actor) is { } other)
        {
            await Problems.WriteAsync(context, StatusCodes.Status409Conflict, ProblemCodes.GrantConflict, "Request id reused",
                $"Request id '{request.RequestId}' is already waiting for approval (approval {other.Id}) with other content or from another person; use a new request id.",
                extensions: w => w.WriteNumber("approval", other.Id)).ConfigureAwait(false);
            return;
        }
        var (status, approval) = await approvals.RequestAsync(kind, cause.GrantId, path, body, actor, request.Reason, context.RequestAborted).ConfigureAwait(false);
        await ApprovalsEndpoints.WriteRequestedAsync(context, status, approval).ConfigureAwait(false);
    }

    /// <summary>The executor of approved grants and corrections: the stored request, checked again, on behalf of its requester.</summary>
    private async Task<ApprovalOutcome> ExecuteApprovedAsync(ApprovalExecution execution, CancellationToken cancellationToken)
    {
        string path = store.Approvals.Find(execution.ApprovalId)?.Path ?? "";
        bool correction = execution.Kind == CorrectionKind;
        var (request, corrects, problem) = Parse(System.Text.Encoding.UTF8.GetBytes(execution.Body), correction, path);
        ApiResult result;
        if (request is null)
        {
            result = problem!;
        }
        else
        {
            request = request with { Author = execution.RequestedBy };
            var acting = new Acting(execution.RequestedBy, execution.ApprovalId, execution.ApprovedBy);
            if (!correction)
            {
                var cause = new GrantCause(request.Event ?? ManualEvent, request.Run, request.Player!, ManualRule, CauseKind.Operator, request.RequestId);
                result = await AppendAsync(cause, request, acting, path).ConfigureAwait(false);
            }
            else if (corrects is null || LedgerReader.ParseGrantId(corrects) is not { } id || store.Ledger.FindGrant(id) is not { } original)
            {
                result = Problems.Of(path, StatusCodes.Status404NotFound, ProblemCodes.GrantNotFound, "Grant not found",
                    $"The ledger has no grant {corrects} to correct.");
            }
            else
            {
                var checkedOriginal = integrity.Check(original);
                result = checkedOriginal.Entry is { } entry
                    ? await AppendAsync(CorrectionCause(entry, id, request.RequestId), request, acting, path).ConfigureAwait(false)
                    : LedgerDamageProblem.Of(path, checkedOriginal.Damage!);
            }
        }
        return new ApprovalOutcome(result.Status, result.Text);
    }

    private ApiResult? CheckRewards(Request request, string path)
    {
        var release = pipeline.ActiveRelease;
        if (release is null)
        {
            return Problems.Of(path, StatusCodes.Status409Conflict, ProblemCodes.NoActiveRelease, "No active release",
                "A grant records the release in force; activate one first.");
        }
        var definition = release.Loaded.Bundle.Release;
        foreach (var line in request.Rewards)
        {
            if (!definition.Currencies.Contains(line.Name) && !definition.Items.Contains(line.Name))
            {
                return InvalidResult(path, "rewards", $"'{line.Name}' is not a currency or item of the active release.");
            }
            if (definition.Bounds.MaxPerGrant.TryGetValue(line.Name, out long cap) && Math.Abs(line.Amount) > cap)
            {
                return InvalidResult(path, "rewards", $"{line.Amount} {line.Name} exceeds the release's safety bound of {cap} per grant.");
            }
        }
        return null;
    }

    private async Task<ApiResult> AppendAsync(GrantCause cause, Request request, Acting acting, string path)
    {
        if (CheckRewards(request, path) is { } refused)
        {
            return refused;
        }
        var release = pipeline.ActiveRelease!;
        var pending = new PendingGrant(cause, request.Rewards, release.Id, pipeline.StampNow, Author: request.Author, Reason: request.Reason);
        int partition = pipeline.Router.PartitionOf(cause.Player);
        // Decided on the partition's executor: its single writer sees every grant of this partition
        // not yet committed, so two concurrent deliveries of one request never both append.
        var (outcome, rowBefore) = await pipeline.OnPartitionAsync(partition, p =>
        {
            if (!p.ManualGrants.Add(cause.GrantId) || store.Ledger.FindGrant(Convert.FromHexString(cause.GrantId)) is not null)
            {
                return ((GrantOutcome.Existing, store.Ledger.FindGrant(Convert.FromHexString(cause.GrantId))), (IReadOnlyList<PendingGrant>)[]);
            }
            return ((GrantOutcome.Created, (LedgerRow?)null), [pending]);
        }).ConfigureAwait(false);
        var row = rowBefore ?? store.Ledger.FindGrant(Convert.FromHexString(cause.GrantId));
        if (row is null)
        {
            // The same request is being committed by a concurrent call right now.
            return Problems.Of(path, StatusCodes.Status409Conflict, ProblemCodes.GrantInProgress, "Grant in progress",
                "The same request is being granted by a concurrent call; retry to read its result.", retryAfter: TimeSpan.FromSeconds(1));
        }
        return await Answer(cause, row, request, outcome, acting, path).ConfigureAwait(false);
    }

    /// <summary>
    /// The answer for a grant created now or found (a repeat of the request). A repeat of the same
    /// request also makes sure the grant's audit entry exists: if the server stopped after the
    /// grant committed and before its entry did, the repeat — which tells its caller the grant was
    /// made — writes the entry, marked <c>recovered</c> (written by a repeat of the request).
    /// </summary>
    private async Task<ApiResult> Answer(GrantCause cause, LedgerRow row, Request request, GrantOutcome outcome, Acting acting, string path)
    {
        var checkedRow = integrity.Check(row);
        if (checkedRow.Entry is not { } entry)
        {
            return LedgerDamageProblem.Of(path, checkedRow.Damage!);
        }
        if (outcome == GrantOutcome.Existing && !SameGrant(entry, request))
        {
            return Problems.Of(path, StatusCodes.Status409Conflict, ProblemCodes.GrantConflict, "Request id reused",
                $"Request id '{request.RequestId}' already granted something else; use a new request id.");
        }
        bool correction = cause.Kind == CauseKind.Correction;
        string? corrected = correction ? cause.Rule["correction:".Length..] : null;
        var record = new AuditRecord(acting.Actor, correction ? "grant.correct" : "grant.create", corrected ?? cause.GrantId, corrected, cause.GrantId,
            request.Reason, AuditDetails.Of(w =>
            {
                w.WriteString("grant_id", cause.GrantId);
                w.WriteString("request_id", request.RequestId);
                w.WriteString("player", cause.Player);
                w.WriteString("event", cause.EventId);
                w.WriteNumber("run", cause.Run);
                w.WriteStartObject("rewards");
                foreach (var line in request.Rewards)
                {
                    w.WriteNumber(line.Name, line.Amount);
                }
                w.WriteEndObject();
                acting.WriteApproval(w);
                if (outcome == GrantOutcome.Existing)
                {
                    w.WriteBoolean("recovered", true);
                }
            }));
        // Once for both: a repeat racing the call that created the grant (after its commit, before
        // its entry) must not record it a second time.
        await audit.RecordOnceAsync(record, e => e.After == cause.GrantId).ConfigureAwait(false);
        string grantId = Convert.ToHexStringLower(row.GrantId);
        var delivery = await store.Outbox.GetAsync(grantId, CancellationToken.None).ConfigureAwait(false);
        return ApiResult.Json(outcome == GrantOutcome.Created ? StatusCodes.Status201Created : StatusCodes.Status200OK, w =>
        {
            w.WriteString("status", outcome == GrantOutcome.Created ? "created" : "existing");
            PlayersEndpoints.WriteGrantBody(w, entry, full: true, delivery);
        }, outcome == GrantOutcome.Created ? "/v1/rewards/" + grantId : null);
    }

    private enum GrantOutcome
    {
        Created,
        Existing,
    }

    private static bool SameGrant(GrantEntry entry, Request request) =>
        entry.Rewards.SequenceEqual(request.Rewards) && entry.Reason == request.Reason && entry.Author == request.Author;

    /// <summary>The request as an approval stores it: compact JSON that <see cref="Parse"/> reads back to the same request (author aside: the requester).</summary>
    private static string Canonical(Request request, string? corrects) => AuditDetails.Of(w =>
    {
        if (corrects is not null)
        {
            w.WriteString("corrects", corrects);
        }
        w.WriteString("request_id", request.RequestId);
        if (request.Player is not null)
        {
            w.WriteString("player", request.Player);
        }
        if (request.Event is not null)
        {
            w.WriteString("event", request.Event);
        }
        w.WriteNumber("run", request.Run);
        w.WriteStartObject("rewards");
        foreach (var line in request.Rewards)
        {
            w.WriteNumber(line.Name, line.Amount);
        }
        w.WriteEndObject();
        w.WriteString("reason", request.Reason);
    });

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
        var (request, _, problem) = Parse(body, correction, context.Request.Path.Value ?? "");
        if (problem is not null)
        {
            await problem.WriteAsync(context).ConfigureAwait(false);
        }
        return request;
    }

    /// <summary>Parses and checks a request body (as sent, or as an approval stored it); <c>corrects</c> is only in stored bodies.</summary>
    private static (Request? Request, string? Corrects, ApiResult? Problem) Parse(byte[] body, bool correction, string path)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 4 });
        }
        catch (JsonException exception)
        {
            return (null, null, Problems.Of(path, StatusCodes.Status400BadRequest, ProblemCodes.InvalidJson, "Invalid JSON", exception.Message));
        }
        using (document)
        {
            var root = document.RootElement;
            (Request?, string?, ApiResult?) Refuse(string field, string detail) => (null, null, InvalidResult(path, field, detail));
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
                if (value is null ? required : value.Length == 0 || value.Length > max || value.Any(char.IsControl))
                {
                    return Refuse(field, $"{field} is {(required ? "required: " : "")}a string of 1 to {max} characters without control characters.");
                }
            }
            // Labels that become part of the grant id, the ledger entry and the audit log: a documented charset.
            foreach (var (field, value) in new[] { ("request_id", requestId), ("event", eventId) })
            {
                if (value is not null && !Labels.IsValid(value))
                {
                    return Refuse(field, $"{field} is a label: {Labels.Rule}.");
                }
            }
            if (correction && (player is not null || eventId is not null))
            {
                return Refuse(player is not null ? "player" : "event", "A correction applies to the corrected grant's player, event and run.");
            }
            long run = 0;
            // TryGetInt64 throws (InvalidOperationException) on anything but a number: the kind first.
            if (root.TryGetProperty("run", out var runValue) && (runValue.ValueKind != JsonValueKind.Number || !runValue.TryGetInt64(out run) || run < 0))
            {
                return Refuse("run", "run is a whole number, 0 or more.");
            }
            if (!root.TryGetProperty("rewards", out var rewards) || rewards.ValueKind != JsonValueKind.Object)
            {
                return Refuse("rewards", "rewards is an object of amounts by currency or item, e.g. {\"gems\": 100}.");
            }
            var lines = new List<RewardLine>();
            foreach (var property in rewards.EnumerateObject())
            {
                long amount = 0;
                if (property.Value.ValueKind != JsonValueKind.Number || !property.Value.TryGetInt64(out amount) || amount == 0 || Math.Abs(amount) > MaxAmount || (amount < 0 && !correction))
                {
                    return Refuse("rewards." + property.Name, $"An amount is a whole number from 1 to {MaxAmount}{(correction ? " or its negative" : "")}.");
                }
                if (lines.Any(l => l.Name == property.Name))
                {
                    return Refuse("rewards." + property.Name, "A reward appears twice.");
                }
                lines.Add(new RewardLine(property.Name, amount));
            }
            if (lines.Count is 0 or > GrantEntry.RewardLinesMax)
            {
                return Refuse("rewards", $"A grant has 1 to {GrantEntry.RewardLinesMax} reward lines.");
            }
            return (new Request(requestId!, author, reason!, player, eventId, run, lines), Text("corrects"), null);
        }
    }

    private static ApiResult InvalidResult(string path, string field, string detail) =>
        Problems.Of(path, StatusCodes.Status400BadRequest, ProblemCodes.InvalidGrantRequest, "Invalid grant request", detail,
            extensions: w => w.WriteString("field", field));

    private static Task Invalid(HttpContext context, string field, string detail) =>
        InvalidResult(context.Request.Path.Value ?? "", field, detail).WriteAsync(context);
}
