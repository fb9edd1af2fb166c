using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
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
/// player gets, <c>GET /v1/config</c>. The contract is in docs/api.md.
/// </summary>
internal sealed class ReleasesEndpoints(ReleaseRegister register, IActionStore store, IngestPipeline pipeline, ServerOptions options, TimeProvider time,
    Runtime.Rollouts.FlagBoard flags, AuditTrail audit, ApprovalService approvals)
{
    /// <summary>Longest <c>reason</c> accepted on activate and rollback.</summary>
    public const int MaxReasonLength = 500;
    /// <summary>Largest body of an activate or rollback request.</summary>
    public const int MaxChangeBodyBytes = 4096;
    public const int DefaultListLimit = 50;
    public const int MaxListLimit = 500;
    /// <summary>The approval kind of an activation to every player (the two-person rule counts it as 100%).</summary>
    public const string ActivationKind = "release.activate";

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
        app.Services.GetRequiredService<ApprovalService>().Register(ActivationKind, endpoints.ExecuteApprovedActivationAsync);
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
        var result = await register.PublishAsync(body, expectedId).ConfigureAwait(false);
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
        if (result.Status == PublishStatus.Created)
        {
            await audit.RecordAsync(new AuditRecord(Acting.Of(context).Actor, "release.publish", stored.Id, null, stored.Id, null, AuditDetails.Of(w =>
            {
                w.WriteString("name", stored.Name);
                w.WriteString("merkle_root", stored.MerkleRoot);
                w.WriteNumber("size", stored.Size);
            }))).ConfigureAwait(false);
            context.Response.Headers.Location = "/v1/releases/" + stored.Id;
        }
        await JsonOutput.WriteAsync(context, result.Status == PublishStatus.Created ? StatusCodes.Status201Created : StatusCodes.Status200OK, w =>
        {
            WriteDetail(w, stored);
            w.WriteBoolean("created", result.Status == PublishStatus.Created);
        }).ConfigureAwait(false);
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
        var releases = store.Releases.List(limit + 1, before);
        var active = register.Current;
        await JsonOutput.WriteAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteStartArray("releases");
            foreach (var release in releases.Take(limit))
            {
                w.WriteStartObject();
                WriteSummary(w, release, active);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (releases.Count > limit)
            {
                w.WriteString("next", $"/v1/releases?limit={limit}&before={releases[limit - 1].Id}");
            }
            else
            {
                w.WriteNull("next");
            }
        }).ConfigureAwait(false);
    }

    public async Task GetAsync(HttpContext context, string id)
    {
        if (await FindAsync(context, id).ConfigureAwait(false) is { } release)
        {
            await JsonOutput.WriteAsync(context, StatusCodes.Status200OK, w => WriteDetail(w, release)).ConfigureAwait(false);
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
        var current = register.Current;
        await JsonOutput.WriteAsync(context, StatusCodes.Status200OK, w => WriteRegister(w, current)).ConfigureAwait(false);
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
        var acting = Acting.Of(context);
        string path = context.Request.Path.Value ?? "";
        // A plain activation exposes every player: 100% for the two-person rule.
        if (approvals.Options.ActivationNeedsApproval(100))
        {
            await RequestActivationAsync(context, id, change, acting, path).ConfigureAwait(false);
            return;
        }
        await (await ActivateNowAsync(id, change, acting, path).ConfigureAwait(false)).WriteAsync(context).ConfigureAwait(false);
    }

    private async Task<ApiResult> ActivateNowAsync(string id, ChangeRequest change, Acting acting, string path)
    {
        var result = await register.ActivateAsync(id, change.ExpectedVersion, change.Reason).ConfigureAwait(false);
        if (result.Status == ChangeStatus.Changed)
        {
            await RecordChangeAsync("release.activate", result.Entry!.Release.Id, result.Entry, change.Reason, acting).ConfigureAwait(false);
        }
        return Change(result, id, path);
    }

    /// <summary>
    /// Stores the activation for approval (202). The register version it was asked at is pinned:
    /// if someone changes the active release before it is approved, executing it is refused with
    /// version_conflict rather than replacing a release the approver did not see.
    /// </summary>
    private async Task RequestActivationAsync(HttpContext context, string id, ChangeRequest change, Acting acting, string path)
    {
        var current = register.Current;
        if (store.Releases.Find(id) is null)
        {
            await NotFound(context, id).ConfigureAwait(false);
            return;
        }
        long version = current?.Version ?? 0;
        if (change.ExpectedVersion is { } expected && expected != version)
        {
            await Change(ChangeResult.Of(ChangeStatus.VersionConflict, current), id, path).WriteAsync(context).ConfigureAwait(false);
            return;
        }
        if (current?.Release.Id == id)
        {
            // Already active: nothing would change, so there is nothing to approve.
            await Change(ChangeResult.Of(ChangeStatus.Unchanged, current), id, path).WriteAsync(context).ConfigureAwait(false);
            return;
        }
        string body = AuditDetails.Of(w =>
        {
            w.WriteNumber("expected_version", version);
            if (change.Reason is null)
            {
                w.WriteNull("reason");
            }
            else
            {
                w.WriteString("reason", change.Reason);
            }
            w.WriteNumber("percent", 100);
        });
        var (status, approval) = await approvals.RequestAsync(ActivationKind, id, path, body, acting.Actor, change.Reason, context.RequestAborted).ConfigureAwait(false);
        await ApprovalsEndpoints.WriteRequestedAsync(context, status, approval).ConfigureAwait(false);
    }

    /// <summary>The executor of approved activations: the stored request, on behalf of its requester, at the version it was asked at.</summary>
    private async Task<ApprovalOutcome> ExecuteApprovedActivationAsync(ApprovalExecution execution, CancellationToken cancellationToken)
    {
        using var document = JsonDocument.Parse(execution.Body);
        var root = document.RootElement;
        var change = new ChangeRequest(root.GetProperty("expected_version").GetInt64(),
            root.GetProperty("reason").ValueKind == JsonValueKind.String ? root.GetProperty("reason").GetString() : null);
        string path = "/v1/releases/" + execution.Subject + "/activate";
        var result = await ActivateNowAsync(execution.Subject, change, new Acting(execution.RequestedBy, execution.ApprovalId, execution.ApprovedBy), path)
            .ConfigureAwait(false);
        return new ApprovalOutcome(result.Status, result.Text);
    }

    /// <summary>
    /// Records an activation or rollback: before and after are the release ids, the register
    /// versions are in the details. The release before is read from the register's previous
    /// version (every change is a compare-and-set from it), so concurrent changes cannot mix it up.
    /// </summary>
    private Task RecordChangeAsync(string action, string target, RegisterEntry after, string? reason, Acting acting)
    {
        var before = after.Version > 1 ? store.Releases.ReadVersion(after.Version - 1) : null;
        return audit.RecordAsync(new AuditRecord(acting.Actor, action, target, before?.Release.Id, after.Release.Id, reason, AuditDetails.Of(w =>
        {
            w.WriteNumber("version_before", after.Version - 1);
            w.WriteNumber("version_after", after.Version);
            acting.WriteApproval(w);
        })));
    }

    public async Task RollbackAsync(HttpContext context)
    {
        if (await ReadChangeAsync(context).ConfigureAwait(false) is not { } change)
        {
            return;
        }
        var result = await register.RollbackAsync(change.ExpectedVersion, change.Reason).ConfigureAwait(false);
        if (result.Status == ChangeStatus.Changed)
        {
            // The target is the release rolled back: the one active at the version before.
            var rolledBack = store.Releases.ReadVersion(result.Entry!.Version - 1)!.Release.Id;
            await RecordChangeAsync("release.rollback", rolledBack, result.Entry, change.Reason, Acting.Of(context)).ConfigureAwait(false);
        }
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
        await JsonOutput.WriteAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteString("release", release.Id);
            if (player is null)
            {
                w.WriteNull("player");
            }
            else
            {
                w.WriteString("player", player);
            }
            w.WriteBoolean("profile_found", profileFound);
            w.WriteString("evaluated_at", Rfc3339.Format(now.UtcTicks));
            w.WriteStartObject("configs");
            foreach (var (name, values) in resolved.Configs)
            {
                w.WriteStartObject(name);
                foreach (var (key, value) in values)
                {
                    w.WritePropertyName(key);
                    WriteValue(w, value);
                }
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteStartArray("overrides");
            foreach (var applied in resolved.Overrides)
            {
                w.WriteStartObject();
                w.WriteString("event", applied.Event);
                w.WriteNumber("run", applied.Run);
                w.WriteString("config", applied.Config);
                w.WriteStartArray("keys");
                foreach (string key in applied.Keys)
                {
                    w.WriteStringValue(key);
                }
                w.WriteEndArray();
                w.WriteString("until", Rfc3339.Format(applied.Until.UtcTicks));
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }).ConfigureAwait(false);
    }

    private static void WriteValue(Utf8JsonWriter w, ConfigValue value)
    {
        switch (value.Value)
        {
            case long l:
                w.WriteNumberValue(l);
                break;
            case decimal m:
                w.WriteNumberValue(m);
                break;
            case bool b:
                w.WriteBooleanValue(b);
                break;
            default:
                w.WriteStringValue((string)value.Value);
                break;
        }
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
                return ApiResult.Json(StatusCodes.Status200OK, w =>
                {
                    WriteRegister(w, result.Entry);
                    w.WriteBoolean("changed", result.Status == ChangeStatus.Changed);
                });
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


    private void WriteRegister(Utf8JsonWriter w, RegisterEntry? entry)
    {
        w.WriteNumber("version", entry?.Version ?? 0);
        if (entry is null)
        {
            w.WriteNull("release");
            w.WriteNull("kind");
            w.WriteNull("changed_at");
            w.WriteNull("reason");
            w.WriteNull("rollback_to");
            return;
        }
        w.WriteStartObject("release");
        WriteSummary(w, entry.Release, entry);
        w.WriteEndObject();
        w.WriteString("kind", entry.Kind);
        w.WriteString("changed_at", Rfc3339.Format(entry.AtTicks));
        if (entry.Reason is null)
        {
            w.WriteNull("reason");
        }
        else
        {
            w.WriteString("reason", entry.Reason);
        }
        var previous = entry.Restores == 0 ? null : store.Releases.ReadVersion(entry.Restores);
        if (previous is null)
        {
            w.WriteNull("rollback_to");
        }
        else
        {
            w.WriteString("rollback_to", previous.Release.Id);
        }
    }

    private static void WriteSummary(Utf8JsonWriter w, StoredRelease release, RegisterEntry? active)
    {
        w.WriteString("id", release.Id);
        w.WriteString("name", release.Name);
        w.WriteString("merkle_root", release.MerkleRoot);
        w.WriteNumber("size", release.Size);
        w.WriteString("published_at", Rfc3339.Format(release.PublishedAtTicks));
        w.WriteBoolean("active", active?.Release.Ref == release.Ref);
    }

    private void WriteDetail(Utf8JsonWriter w, StoredRelease stored)
    {
        WriteSummary(w, stored, register.Current);
        var release = register.Loaded(stored).Loaded.Bundle.Release;
        if (release.Description is null)
        {
            w.WriteNull("description");
        }
        else
        {
            w.WriteString("description", release.Description);
        }
        w.WriteStartArray("events");
        foreach (var definition in release.Events)
        {
            var schedule = definition.Schedule;
            w.WriteStartObject();
            w.WriteString("id", definition.Id);
            w.WriteString("title", definition.Title);
            w.WriteString("start", Rfc3339.Format(schedule.Start.UtcTicks));
            w.WriteString("duration", schedule.Duration.ToString("c", CultureInfo.InvariantCulture));
            if (schedule.Every is { } every)
            {
                w.WriteString("every", every.ToString("c", CultureInfo.InvariantCulture));
            }
            else
            {
                w.WriteString("end", Rfc3339.Format((schedule.Start + schedule.Duration).UtcTicks));
            }
            w.WriteString("grace", schedule.Grace.ToString("c", CultureInfo.InvariantCulture));
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartObject("actions");
        foreach (var action in release.Actions)
        {
            w.WriteStartObject(action.Type);
            foreach (var field in action.Schema.Fields)
            {
                w.WriteString(field.Name, field.Required ? field.Type.ToString() : $"optional({field.Type})");
            }
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.WriteStartArray("configs");
        foreach (var config in release.Configs)
        {
            w.WriteStringValue(config.Name);
        }
        w.WriteEndArray();
        w.WriteStartArray("currencies");
        foreach (string currency in release.Currencies)
        {
            w.WriteStringValue(currency);
        }
        w.WriteEndArray();
        w.WriteStartArray("items");
        foreach (string item in release.Items)
        {
            w.WriteStringValue(item);
        }
        w.WriteEndArray();
    }


    internal static bool IsReleaseId(string id) => id.Length == 64 && id.All(char.IsAsciiHexDigit);
}
