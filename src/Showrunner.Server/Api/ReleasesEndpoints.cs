using System.Globalization;
using System.Text.Json;
using Showrunner.Contracts.Releases;
using Showrunner.Core.Actions;
using Showrunner.Core.Rules.Binding;
using Showrunner.Core.Rules.Model;
using Showrunner.Core.Rules.Syntax;
using Showrunner.Runtime.Approvals;
using Showrunner.Runtime.Audit;
using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.Releases;
using Showrunner.Server.Hosting;
using Showrunner.Server.Security;
using Showrunner.Storage;

namespace Showrunner.Server.Api;

/// <summary>
/// Releases and the active-release register: <c>/v1/releases…</c>, and the remote config a
/// player gets, <c>GET /v1/config</c>. The contract is in docs/api.md; the answers are
/// <see cref="Contracts.Releases"/> records. HTTP only: the use cases are <see cref="ReleaseService"/>'s.
/// </summary>
internal sealed class ReleasesEndpoints(ReleaseRegister register, ReleaseService releases, IActionStore store, IngestPipeline pipeline, ServerOptions options,
    TimeProvider time, Runtime.Rollouts.FlagBoard flags)
{
    /// <summary>Longest <c>reason</c> accepted on activate and rollback.</summary>
    public const int MaxReasonLength = 500;
    /// <summary>Largest body of an activate or rollback request.</summary>
    public const int MaxChangeBodyBytes = 4096;
    public const int DefaultListLimit = 50;
    public const int MaxListLimit = 500;
    /// <summary>The approval kind of an activation to every player (the two-person rule counts it as 100%).</summary>
    public const string ActivationKind = ReleaseService.ActivationKind;

    public static void Map(WebApplication app)
    {
        var endpoints = app.Services.GetRequiredService<ReleasesEndpoints>();
        app.MapPost("/v1/releases", endpoints.PublishAsync).Allow(Access.Operator);
        app.MapGet("/v1/releases", endpoints.ListAsync).Allow(Access.Viewer);
        app.MapGet("/v1/releases/active", endpoints.ActiveAsync).Allow(Access.Viewer);
        app.MapPost("/v1/releases/rollback", endpoints.RollbackAsync).Allow(Access.Operator);
        app.MapGet("/v1/releases/{id}", endpoints.GetAsync).Allow(Access.Viewer);
        app.MapGet("/v1/releases/{id}/bundle", endpoints.GetBundleAsync).Allow(Access.Viewer);
        app.MapPost("/v1/releases/{id}/activate", endpoints.ActivateAsync).Allow(Access.Operator);
        app.MapGet("/v1/config", endpoints.ConfigAsync).Allow(Access.PlayerData);
        // An approved activation keeps the answer the request would have had.
        app.Services.GetRequiredService<ReleaseService>().RegisterApprovals((result, id) =>
        {
            var answer = endpoints.Change(result, id, "/v1/releases/" + id + "/activate");
            return new ApprovalOutcome(answer.Status, answer.Text);
        });
    }

    public async Task PublishAsync(HttpContext context)
    {
        string? mediaType = MediaTypes.Of(context.Request.ContentType);
        if (mediaType is not ("text/plain" or "application/octet-stream"))
        {
            await Problems.WriteAsync(context, StatusCodes.Status415UnsupportedMediaType, ProblemCodes.UnsupportedMediaType, "Unsupported media type",
                "Send the bundle (the file 'showrunner build' writes) as text/plain or application/octet-stream.").ConfigureAwait(false);
            return;
        }
        string? expectedId = context.Request.Query["id"];
        if (expectedId is not null && !IsReleaseId(expectedId))
        {
            await Requests.InvalidParameterAsync(context, "id", "The id query parameter must be 64 hexadecimal characters (a SHA-256).").ConfigureAwait(false);
            return;
        }
        var body = await Requests.ReadBodyAsync(context, options.MaxReleaseBytes).ConfigureAwait(false);
        if (body is null)
        {
            return;
        }
        var result = await releases.PublishAsync(new PublishRelease(body, expectedId), Acting.Of(context).Actor).ConfigureAwait(false);
        switch (result.Status)
        {
            case PublishStatus.Invalid:
                await Problems.WriteAsync(context, StatusCodes.Status422UnprocessableEntity, ProblemCodes.ReleaseInvalid, "Invalid release",
                    $"The bundle has {result.Diagnostics.Count(d => d.Severity == Severity.Error)} problem(s); nothing was stored. " +
                    "Build bundles with 'showrunner build'.", extensions: w => DiagnosticJson.Write(w, result.Diagnostics)).ConfigureAwait(false);
                return;
            case PublishStatus.HashMismatch:
                await Problems.WriteAsync(context, StatusCodes.Status422UnprocessableEntity, ProblemCodes.ReleaseHashMismatch, "Release id mismatch",
                    $"The bundle's SHA-256 is {result.ComputedId}, not {expectedId}: it was changed on the way. Nothing was stored.",
                    extensions: w => w.WriteString("computed_id", result.ComputedId)).ConfigureAwait(false);
                return;
        }
        var stored = result.Release!;
        bool created = result.Status == PublishStatus.Created;
        await ContractOutput.Result(created ? StatusCodes.Status201Created : StatusCodes.Status200OK, Detail(stored) with { Created = created },
            created ? "/v1/releases/" + stored.Id : null).WriteAsync(context).ConfigureAwait(false);
    }

    public async Task ListAsync(HttpContext context)
    {
        int limit = DefaultListLimit;
        if (context.Request.Query["limit"] is { Count: > 0 } limitText &&
            (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxListLimit))
        {
            await Requests.InvalidParameterAsync(context, "limit", $"limit must be a whole number from 1 to {MaxListLimit}.").ConfigureAwait(false);
            return;
        }
        long? before = null;
        if (context.Request.Query["before"] is { Count: > 0 } beforeText)
        {
            if (!IsReleaseId(beforeText!) || store.Releases.Find(beforeText!) is not { } anchor)
            {
                await Requests.InvalidParameterAsync(context, "before", "before must be the id of a published release (the last one of the previous page).").ConfigureAwait(false);
                return;
            }
            before = anchor.Ref;
        }
        var page = store.Releases.List(limit + 1, before);
        var active = register.Current;
        await ContractOutput.WriteAsync(context, StatusCodes.Status200OK, new ReleaseListResponse(
            [.. page.Take(limit).Select(release => Summary(release, active))],
            page.Count > limit ? $"/v1/releases?limit={limit}&before={page[limit - 1].Id}" : null)).ConfigureAwait(false);
    }

    public async Task GetAsync(HttpContext context, string id)
    {
        if (await FindAsync(context, id).ConfigureAwait(false) is { } release)
        {
            await ContractOutput.WriteAsync(context, StatusCodes.Status200OK, Detail(release)).ConfigureAwait(false);
        }
    }

    public async Task GetBundleAsync(HttpContext context, string id)
    {
        if (await FindAsync(context, id).ConfigureAwait(false) is { } release)
        {
            byte[] bundle = store.Releases.ReadBundle(release.Ref)!;
            context.Response.ContentType = "text/plain; charset=utf-8";
            context.Response.ContentLength = bundle.Length;
            await context.Response.Body.WriteAsync(bundle, context.RequestAborted).ConfigureAwait(false);
        }
    }

    public async Task ActiveAsync(HttpContext context)
    {
        await ContractOutput.WriteAsync(context, StatusCodes.Status200OK, Register(register.Current)).ConfigureAwait(false);
    }

    public async Task ActivateAsync(HttpContext context, string id)
    {
        if (!IsReleaseId(id))
        {
            await NotFound(context, id).ConfigureAwait(false);
            return;
        }
        if (await ReadChangeAsync(context).ConfigureAwait(false) is not { } change)
        {
            return;
        }
        id = id.ToLowerInvariant();
        var outcome = await releases.ActivateAsync(new ActivateRelease(id, change.ExpectedVersion, change.Reason), Act(context), context.Request.Path.Value ?? "",
            context.RequestAborted).ConfigureAwait(false);
        if (outcome.WaitsForApproval)
        {
            await ApprovalsEndpoints.WriteRequestedAsync(context, outcome.ApprovalStatus, outcome.Approval).ConfigureAwait(false);
            return;
        }
        await Change(outcome.Change!, id, context.Request.Path.Value ?? "").WriteAsync(context).ConfigureAwait(false);
    }

    private static OperatorAct Act(HttpContext context)
    {
        var acting = Acting.Of(context);
        return new OperatorAct(acting.Actor, acting.ApprovalId, acting.ApprovedBy);
    }

    public async Task RollbackAsync(HttpContext context)
    {
        if (await ReadChangeAsync(context).ConfigureAwait(false) is not { } change)
        {
            return;
        }
        var result = await releases.RollbackAsync(new RollBackRelease(change.ExpectedVersion, change.Reason), Act(context)).ConfigureAwait(false);
        await Change(result, null, context.Request.Path.Value ?? "").WriteAsync(context).ConfigureAwait(false);
    }

    /// <summary>
    /// <c>GET /v1/config?player=ID</c>: every config of the active release with the overrides of
    /// running events whose audience contains the player (attributes from the player's
    /// <c>player.profile</c> actions). Without <c>player</c>, only overrides of events without an
    /// audience apply.
    /// </summary>
    public async Task ConfigAsync(HttpContext context)
    {
        string? player = context.Request.Query["player"];
        if (player is not null && !ActionBatchParser.IsValidPlayer(player, options.Limits.MaxPlayerLength))
        {
            await Requests.InvalidParameterAsync(context, "player", $"player must be 1 to {options.Limits.MaxPlayerLength} characters without control characters.").ConfigureAwait(false);
            return;
        }
        if (player is not null && !context.MayReadPlayer(player))
        {
            await PlayerAccess.OtherPlayerAsync(context).ConfigureAwait(false);
            return;
        }
        var release = pipeline.ActiveRelease;
        if (release is null)
        {
            await Problems.WriteAsync(context, StatusCodes.Status404NotFound, ProblemCodes.NoActiveRelease, "No active release",
                "No release is active, so there is no remote config. Publish and activate one.").ConfigureAwait(false);
            return;
        }
        var now = time.GetUtcNow();
        Core.Rules.Evaluation.RecordValues? attributes = null;
        bool profileFound = false;
        if (player is not null)
        {
            byte[]? profile = store.FindPlayerProfile(player);
            profileFound = profile is not null;
            attributes = release.Loaded.PlayerDecoder.DecodeLenient(profile ?? "{}"u8);
        }
        var resolved = release.Loaded.ResolveConfig(now, attributes, flags.KilledConfigs, flags.KilledEvents);
        var configs = new Dictionary<string, IReadOnlyDictionary<string, ConfigScalar>>(StringComparer.Ordinal);
        foreach (var (name, values) in resolved.Configs)
        {
            var scalars = new Dictionary<string, ConfigScalar>(StringComparer.Ordinal);
            foreach (var (key, value) in values)
            {
                scalars[key] = new ConfigScalar(value.Value);
            }
            configs[name] = scalars;
        }
        await ContractOutput.WriteAsync(context, StatusCodes.Status200OK, new ConfigResponse(release.Id, player, profileFound, Rfc3339.Format(now.UtcTicks), configs,
            [.. resolved.Overrides.Select(applied => new ConfigOverrideApplied(applied.Event, applied.Run, applied.Config, [.. applied.Keys],
                Rfc3339.Format(applied.Until.UtcTicks)))])).ConfigureAwait(false);
    }

    private readonly record struct ChangeRequest(long? ExpectedVersion, string? Reason);

    /// <summary>Reads <c>{"expected_version": N, "reason": "..."}</c>; both optional, and so is the body.</summary>
    private async Task<ChangeRequest?> ReadChangeAsync(HttpContext context)
    {
        if (context.Request.ContentLength == 0 || (context.Request.ContentLength is null && !context.Request.Headers.TransferEncoding.Any()))
        {
            return new ChangeRequest(null, null);
        }
        if (MediaTypes.Of(context.Request.ContentType) != "application/json")
        {
            await Problems.WriteAsync(context, StatusCodes.Status415UnsupportedMediaType, ProblemCodes.UnsupportedMediaType, "Unsupported media type",
                "Send the request body as application/json, or no body.").ConfigureAwait(false);
            return null;
        }
        var body = await Requests.ReadBodyAsync(context, MaxChangeBodyBytes).ConfigureAwait(false);
        if (body is null)
        {
            return null;
        }
        long? expected = null;
        string? reason = null;
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new JsonException("not an object");
            }
            foreach (var property in document.RootElement.EnumerateObject())
            {
                switch (property.Name)
                {
                    case "expected_version" when property.Value.ValueKind == JsonValueKind.Number && property.Value.TryGetInt64(out long v) && v >= 0:
                        expected = v;
                        break;
                    case "expected_version" when property.Value.ValueKind != JsonValueKind.Null:
                        await Requests.InvalidParameterAsync(context, "expected_version", "expected_version must be a whole number ≥ 0 (the version GET /v1/releases/active reports).").ConfigureAwait(false);
                        return null;
                    case "reason" when property.Value.ValueKind == JsonValueKind.String && property.Value.GetString()!.Length <= MaxReasonLength:
                        reason = property.Value.GetString();
                        break;
                    case "reason" when property.Value.ValueKind != JsonValueKind.Null:
                        await Requests.InvalidParameterAsync(context, "reason", $"reason must be a string of at most {MaxReasonLength} characters.").ConfigureAwait(false);
                        return null;
                }
            }
        }
        catch (JsonException)
        {
            await Problems.WriteAsync(context, StatusCodes.Status400BadRequest, ProblemCodes.InvalidJson, "Invalid JSON",
                "The body must be a JSON object such as {\"expected_version\": 3, \"reason\": \"...\"}.").ConfigureAwait(false);
            return null;
        }
        return new ChangeRequest(expected, reason);
    }

    private ApiResult Change(ChangeResult result, string? id, string path)
    {
        switch (result.Status)
        {
            case ChangeStatus.Changed:
            case ChangeStatus.Unchanged:
                return ContractOutput.Result(StatusCodes.Status200OK, Register(result.Entry) with { Changed = result.Status == ChangeStatus.Changed });
            case ChangeStatus.ReleaseNotFound:
                return NotFoundResult(id!, path);
            case ChangeStatus.VersionConflict:
                return Problems.Of(path, StatusCodes.Status409Conflict, ProblemCodes.VersionConflict, "Version conflict",
                    $"The register is at version {result.CurrentVersion}, not the expected one: someone changed the active release first. " +
                    "Read GET /v1/releases/active and decide again.", extensions: w => w.WriteNumber("current_version", result.CurrentVersion));
            case ChangeStatus.RolloutInProgress:
                return Problems.Of(path, StatusCodes.Status409Conflict, ProblemCodes.RolloutInProgress, "Rollout in progress",
                    "A staged rollout is running: the active release changes when it completes. Roll it back first (POST /v1/rollout/rollback) to change the register directly.",
                    extensions: w => w.WriteNumber("current_version", result.CurrentVersion));
            case ChangeStatus.NothingToRollBack:
                return Problems.Of(path, StatusCodes.Status409Conflict, ProblemCodes.NothingToRollBack, "Nothing to roll back",
                    "The active release did not replace another one, so there is nothing to return to.",
                    extensions: w => w.WriteNumber("current_version", result.CurrentVersion));
            default:
                return Problems.Of(path, StatusCodes.Status422UnprocessableEntity, ProblemCodes.ReleaseIncompatible, "Incompatible release",
                    $"Activating it would change what players of live events already earned ({result.Problems.Count} problem(s)); nothing changed.",
                    extensions: w =>
                    {
                        w.WriteNumber("current_version", result.CurrentVersion);
                        w.WriteStartArray("problems");
                        foreach (var (code, eventId, message) in result.Problems)
                        {
                            w.WriteStartObject();
                            w.WriteString("code", code);
                            w.WriteString("event", eventId);
                            w.WriteString("message", message);
                            w.WriteEndObject();
                        }
                        w.WriteEndArray();
                    });
        }
    }

    private async Task<StoredRelease?> FindAsync(HttpContext context, string id)
    {
        var release = IsReleaseId(id) ? store.Releases.Find(id.ToLowerInvariant()) : null;
        if (release is null)
        {
            await NotFound(context, id).ConfigureAwait(false);
        }
        return release;
    }

    private static Task NotFound(HttpContext context, string id) => NotFoundResult(id, context.Request.Path.Value ?? "").WriteAsync(context);

    private static ApiResult NotFoundResult(string id, string path) =>
        Problems.Of(path, StatusCodes.Status404NotFound, ProblemCodes.ReleaseNotFound, "Release not found",
            $"No release with id '{id}' was published.");


    private RegisterResponse Register(RegisterEntry? entry)
    {
        if (entry is null)
        {
            return new RegisterResponse(0, null, null, null, null, null);
        }
        var previous = entry.Restores == 0 ? null : store.Releases.ReadVersion(entry.Restores);
        return new RegisterResponse(entry.Version, Summary(entry.Release, entry), entry.Kind, Rfc3339.Format(entry.AtTicks), entry.Reason, previous?.Release.Id);
    }

    private static ReleaseSummary Summary(StoredRelease release, RegisterEntry? active) =>
        new(release.Id, release.Name, release.MerkleRoot, release.Size, Rfc3339.Format(release.PublishedAtTicks), active?.Release.Ref == release.Ref);

    private ReleaseDetail Detail(StoredRelease stored)
    {
        var summary = Summary(stored, register.Current);
        var release = register.Loaded(stored).Loaded.Bundle.Release;
        var events = release.Events.Select(definition =>
        {
            var schedule = definition.Schedule;
            return new ReleaseEventSummary(definition.Id, definition.Title, Rfc3339.Format(schedule.Start.UtcTicks),
                schedule.Duration.ToString("c", CultureInfo.InvariantCulture),
                schedule.Every?.ToString("c", CultureInfo.InvariantCulture),
                schedule.Every is null ? Rfc3339.Format((schedule.Start + schedule.Duration).UtcTicks) : null,
                schedule.Grace.ToString("c", CultureInfo.InvariantCulture));
        });
        var actions = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        foreach (var action in release.Actions)
        {
            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var field in action.Schema.Fields)
            {
                fields[field.Name] = field.Required ? field.Type.ToString() : $"optional({field.Type})";
            }
            actions[action.Type] = fields;
        }
        return new ReleaseDetail(summary.Id, summary.Name, summary.MerkleRoot, summary.Size, summary.PublishedAt, summary.Active, release.Description,
            [.. events], actions, [.. release.Configs.Select(c => c.Name)], [.. release.Currencies], [.. release.Items]);
    }

    internal static bool IsReleaseId(string id) => id.Length == 64 && id.All(char.IsAsciiHexDigit);
}
