using System.Text.Json;
using Showrunner.Core.Ledger;
using Showrunner.Core.LiveEvents;
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
/// <remarks>Who may call these (and the two-person rule) comes with operator authentication (issue 5).</remarks>
internal sealed class GrantsEndpoints(IActionStore store, IngestPipeline pipeline)
{
    public const int MaxBodyBytes = 16 * 1024;
    /// <summary>Largest amount one line of a manual grant or correction may carry (either sign).</summary>
    public const long MaxAmount = 1_000_000_000_000;
    public const string ManualRule = "manual";
    public const string ManualEvent = "manual";

    public static void Map(WebApplication app)
    {
        var endpoints = app.Services.GetRequiredService<GrantsEndpoints>();
        app.MapPost("/v1/grants", endpoints.GrantAsync).Allow(Access.Operator);
        app.MapPost("/v1/rewards/{grantId}/corrections", endpoints.CorrectAsync).Allow(Access.Operator);
    }

    private sealed record Request(string RequestId, string Author, string Reason, string? Player, string? Event, long Run, List<RewardLine> Rewards);

    public async Task GrantAsync(HttpContext context)
    {
        if (await ReadAsync(context, correction: false).ConfigureAwait(false) is not { } request)
        {
            return;
        }
        var cause = new GrantCause(request.Event ?? ManualEvent, request.Run, request.Player!, ManualRule, CauseKind.Operator, request.RequestId);
        await AppendAsync(context, cause, request).ConfigureAwait(false);
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
        if (await ReadAsync(context, correction: true).ConfigureAwait(false) is not { } request)
        {
            return;
        }
        var cause = new GrantCause(original.EventId, original.Run, original.Player, "correction:" + Convert.ToHexStringLower(id), CauseKind.Correction, request.RequestId);
        await AppendAsync(context, cause, request).ConfigureAwait(false);
    }

    private async Task AppendAsync(HttpContext context, GrantCause cause, Request request)
    {
        var release = pipeline.ActiveRelease;
        if (release is null)
        {
            await Problems.WriteAsync(context, StatusCodes.Status409Conflict, ProblemCodes.NoActiveRelease, "No active release",
                "A grant records the release in force; activate one first.").ConfigureAwait(false);
            return;
        }
        var definition = release.Loaded.Bundle.Release;
        foreach (var line in request.Rewards)
        {
            if (!definition.Currencies.Contains(line.Name) && !definition.Items.Contains(line.Name))
            {
                await Invalid(context, "rewards", $"'{line.Name}' is not a currency or item of the active release.").ConfigureAwait(false);
                return;
            }
            if (definition.Bounds.MaxPerGrant.TryGetValue(line.Name, out long cap) && Math.Abs(line.Amount) > cap)
            {
                await Invalid(context, "rewards", $"{line.Amount} {line.Name} exceeds the release's safety bound of {cap} per grant.").ConfigureAwait(false);
                return;
            }
        }
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
            await Problems.WriteAsync(context, StatusCodes.Status409Conflict, ProblemCodes.GrantInProgress, "Grant in progress",
                "The same request is being granted by a concurrent call; retry to read its result.", retryAfter: TimeSpan.FromSeconds(1)).ConfigureAwait(false);
            return;
        }
        if (outcome == GrantOutcome.Existing && !SameGrant(row, request))
        {
            await Problems.WriteAsync(context, StatusCodes.Status409Conflict, ProblemCodes.GrantConflict, "Request id reused",
                $"Request id '{request.RequestId}' already granted something else; use a new request id.").ConfigureAwait(false);
            return;
        }
        var delivery = await store.Outbox.GetAsync(cause.GrantId, context.RequestAborted).ConfigureAwait(false);
        if (outcome == GrantOutcome.Created)
        {
            context.Response.Headers.Location = "/v1/rewards/" + cause.GrantId;
        }
        await JsonOutput.WriteAsync(context, outcome == GrantOutcome.Created ? StatusCodes.Status201Created : StatusCodes.Status200OK, w =>
        {
            w.WriteString("status", outcome == GrantOutcome.Created ? "created" : "existing");
            PlayersEndpoints.WriteGrantBody(w, row, full: true, delivery);
        }).ConfigureAwait(false);
    }

    private enum GrantOutcome
    {
        Created,
        Existing,
    }

    private static bool SameGrant(LedgerRow row, Request request)
    {
        var (entry, _) = GrantEntry.Decode(row.Entry, row.PrevHash);
        return entry is not null && entry.Rewards.SequenceEqual(request.Rewards) && entry.Reason == request.Reason && entry.Author == request.Author;
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
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 4 });
        }
        catch (JsonException exception)
        {
            await Problems.WriteAsync(context, StatusCodes.Status400BadRequest, ProblemCodes.InvalidJson, "Invalid JSON", exception.Message).ConfigureAwait(false);
            return null;
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                await Invalid(context, "body", "The body is a JSON object.").ConfigureAwait(false);
                return null;
            }
            string? Text(string name) => root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
            string? requestId = Text("request_id"), author = Text("author"), reason = Text("reason"), player = Text("player"), eventId = Text("event");
            foreach (var (field, value, required, max) in new[]
            {
                ("request_id", requestId, true, GrantEntry.IdentifierLengthMax), ("author", author, true, GrantEntry.IdentifierLengthMax),
                ("reason", reason, true, GrantEntry.ReasonLengthMax), ("player", player, !correction, GrantEntry.IdentifierLengthMax),
                ("event", eventId, false, GrantEntry.IdentifierLengthMax),
            })
            {
                if (value is null ? required : value.Length == 0 || value.Length > max || value.Any(char.IsControl))
                {
                    await Invalid(context, field, $"{field} is {(required ? "required: " : "")}a string of 1 to {max} characters without control characters.").ConfigureAwait(false);
                    return null;
                }
            }
            if (correction && (player is not null || eventId is not null))
            {
                await Invalid(context, player is not null ? "player" : "event", "A correction applies to the corrected grant's player, event and run.").ConfigureAwait(false);
                return null;
            }
            long run = 0;
            if (root.TryGetProperty("run", out var runValue) && (!runValue.TryGetInt64(out run) || run < 0))
            {
                await Invalid(context, "run", "run is a whole number, 0 or more.").ConfigureAwait(false);
                return null;
            }
            if (!root.TryGetProperty("rewards", out var rewards) || rewards.ValueKind != JsonValueKind.Object)
            {
                await Invalid(context, "rewards", "rewards is an object of amounts by currency or item, e.g. {\"gems\": 100}.").ConfigureAwait(false);
                return null;
            }
            var lines = new List<RewardLine>();
            foreach (var property in rewards.EnumerateObject())
            {
                if (!property.Value.TryGetInt64(out long amount) || amount == 0 || Math.Abs(amount) > MaxAmount || (amount < 0 && !correction))
                {
                    await Invalid(context, "rewards." + property.Name,
                        $"An amount is a whole number from 1 to {MaxAmount}{(correction ? " or its negative" : "")}.").ConfigureAwait(false);
                    return null;
                }
                if (lines.Any(l => l.Name == property.Name))
                {
                    await Invalid(context, "rewards." + property.Name, "A reward appears twice.").ConfigureAwait(false);
                    return null;
                }
                lines.Add(new RewardLine(property.Name, amount));
            }
            if (lines.Count is 0 or > GrantEntry.RewardLinesMax)
            {
                await Invalid(context, "rewards", $"A grant has 1 to {GrantEntry.RewardLinesMax} reward lines.").ConfigureAwait(false);
                return null;
            }
            return new Request(requestId!, author!, reason!, player, eventId, run, lines);
        }
    }

    private static Task Invalid(HttpContext context, string field, string detail) =>
        Problems.WriteAsync(context, StatusCodes.Status400BadRequest, ProblemCodes.InvalidGrantRequest, "Invalid grant request", detail,
            extensions: w => w.WriteString("field", field));
}
