using System.Text.Json;
using Showrunner.Core.Actions;
using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.Rollouts;
using Showrunner.Server.Security;
using Showrunner.Storage;

namespace Showrunner.Server.Api;

/// <summary>Kill switches: <c>GET /v1/flags</c>, <c>PUT /v1/flags/events/{id}</c>, <c>PUT /v1/flags/configs/{name}</c> (docs/api.md).</summary>
internal sealed class FlagsEndpoints(FlagBoard flags, IngestPipeline pipeline)
{
    public static void Map(WebApplication app)
    {
        var endpoints = app.Services.GetRequiredService<FlagsEndpoints>();
        app.MapGet("/v1/flags", endpoints.ListAsync).Allow(Access.Viewer);
        app.MapPut("/v1/flags/events/{id}", (HttpContext context, string id) => endpoints.SetAsync(context, "event", id)).Allow(Access.Operator);
        app.MapPut("/v1/flags/configs/{name}", (HttpContext context, string name) => endpoints.SetAsync(context, "config", name)).Allow(Access.Operator);
    }

    public Task ListAsync(HttpContext context) => JsonOutput.WriteAsync(context, StatusCodes.Status200OK, w =>
    {
        w.WriteStartArray("flags");
        foreach (var flag in flags.Latest())
        {
            Write(w, flag);
        }
        w.WriteEndArray();
        w.WriteStartArray("killed_events");
        foreach (string id in flags.KilledEvents.Order(StringComparer.Ordinal))
        {
            w.WriteStringValue(id);
        }
        w.WriteEndArray();
        w.WriteStartArray("killed_configs");
        foreach (string name in flags.KilledConfigs.Order(StringComparer.Ordinal))
        {
            w.WriteStringValue(name);
        }
        w.WriteEndArray();
    });

    private static void Write(Utf8JsonWriter w, StoredFlag flag)
    {
        w.WriteStartObject();
        w.WriteString("kind", flag.Kind);
        w.WriteString("target", flag.Target);
        w.WriteBoolean("enabled", flag.Enabled);
        w.WriteString("since", Rfc3339.Format(flag.AtTicks));
        w.WriteString("actor", flag.Actor);
        if (flag.Reason is null)
        {
            w.WriteNull("reason");
        }
        else
        {
            w.WriteString("reason", flag.Reason);
        }
        w.WriteNumber("sequence", flag.Sequence);
        w.WriteEndObject();
    }

    public async Task SetAsync(HttpContext context, string kind, string target)
    {
        var release = pipeline.ActiveRelease;
        bool known = release is not null && (kind == "event"
            ? release.Loaded.Bundle.Release.Events.Any(e => e.Id == target)
            : release.Loaded.Bundle.Release.Configs.Any(c => c.Name == target));
        if (!known)
        {
            await Problems.WriteAsync(context, StatusCodes.Status404NotFound, ProblemCodes.FlagTargetUnknown, "Unknown flag target",
                $"The active release has no {kind} '{(target.Length > FlagBoard.MaxTargetLength ? target[..FlagBoard.MaxTargetLength] + "…" : target)}'.").ConfigureAwait(false);
            return;
        }
        if (MediaTypes.Of(context.Request.ContentType) != "application/json")
        {
            await Problems.WriteAsync(context, StatusCodes.Status415UnsupportedMediaType, ProblemCodes.UnsupportedMediaType, "Unsupported media type",
                "Send {\"enabled\": false, \"reason\": \"...\"} as application/json.").ConfigureAwait(false);
            return;
        }
        var body = await Requests.ReadBodyAsync(context, 4096).ConfigureAwait(false);
        if (body is null)
        {
            return;
        }
        bool? enabled = null;
        string? reason = null;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 4 });
        }
        catch (JsonException exception)
        {
            await Problems.WriteAsync(context, StatusCodes.Status400BadRequest, ProblemCodes.InvalidJson, "Invalid JSON", exception.Message).ConfigureAwait(false);
            return;
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                await Problems.WriteAsync(context, StatusCodes.Status400BadRequest, ProblemCodes.InvalidJson, "Invalid JSON", "The body must be a JSON object.").ConfigureAwait(false);
                return;
            }
            foreach (var member in document.RootElement.EnumerateObject())
            {
                switch (member.Name)
                {
                    case "enabled" when member.Value.ValueKind is JsonValueKind.True or JsonValueKind.False:
                        enabled = member.Value.GetBoolean();
                        break;
                    case "reason" when member.Value.ValueKind == JsonValueKind.String && member.Value.GetString()!.Length <= RolloutEndpoints.MaxReasonLength:
                        reason = member.Value.GetString();
                        break;
                    default:
                        await Requests.InvalidParameterAsync(context, member.Name,
                            $"The body is {{\"enabled\": true|false, \"reason\": \"...\"}} (reason at most {RolloutEndpoints.MaxReasonLength} characters).").ConfigureAwait(false);
                        return;
                }
            }
        }
        if (enabled is null)
        {
            await Requests.InvalidParameterAsync(context, "enabled", "enabled (true or false) is required.").ConfigureAwait(false);
            return;
        }
        var flag = await flags.SetAsync(kind, target, enabled.Value, RolloutEndpoints.ActorOf(context), reason).ConfigureAwait(false);
        await JsonOutput.WriteAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WritePropertyName("flag");
            Write(w, flag);
        }).ConfigureAwait(false);
    }
}
