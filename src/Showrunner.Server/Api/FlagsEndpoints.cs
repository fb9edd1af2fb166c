using System.Text.Json;
using Showrunner.Contracts.Flags;
using Showrunner.Core.Actions;
using Showrunner.Runtime.Flags;
using Showrunner.Runtime.Rollouts;
using Showrunner.Server.Security;
using Showrunner.Storage;

namespace Showrunner.Server.Api;

/// <summary>
/// Kill switches: <c>GET /v1/flags</c>, <c>PUT /v1/flags/events/{id}</c>, <c>PUT /v1/flags/configs/{name}</c> (docs/api.md).
/// HTTP only: the use case is <see cref="FlagService"/>; answers are <see cref="Contracts.Flags"/> records.
/// </summary>
internal sealed class FlagsEndpoints(FlagService flags)
{
    public static void Map(WebApplication app)
    {
        var endpoints = app.Services.GetRequiredService<FlagsEndpoints>();
        app.MapGet("/v1/flags", endpoints.ListAsync).Allow(Access.Viewer);
        app.MapPut("/v1/flags/events/{id}", (HttpContext context, string id) => endpoints.SetAsync(context, FlagKind.Event, id)).Allow(Access.Operator);
        app.MapPut("/v1/flags/configs/{name}", (HttpContext context, string name) => endpoints.SetAsync(context, FlagKind.Config, name)).Allow(Access.Operator);
    }

    public Task ListAsync(HttpContext context)
    {
        var list = flags.List();
        return ContractOutput.WriteAsync(context, StatusCodes.Status200OK,
            new FlagListResponse([.. list.Flags.Select(Contract)], list.KilledEvents, list.KilledConfigs));
    }

    internal static FlagResponse Contract(StoredFlag flag) =>
        new(flag.Kind, flag.Target, flag.Enabled, Rfc3339.Format(flag.AtTicks), flag.Actor, flag.Reason, flag.Sequence);

    public async Task SetAsync(HttpContext context, FlagKind kind, string target)
    {
        // The target is judged first: an unknown one is 404 whatever the body says (as before the service existed).
        if (!flags.IsKnown(kind, target))
        {
            await UnknownAsync(context, kind, target).ConfigureAwait(false);
            return;
        }
        if (await ReadAsync(context).ConfigureAwait(false) is not { } request)
        {
            return;
        }
        var result = await flags.SetAsync(new SetFlag(kind, target, request.Enabled, request.Reason), RolloutEndpoints.ActorOf(context)).ConfigureAwait(false);
        if (result.Status == SetFlagStatus.UnknownTarget)
        {
            // The active release changed while the body was read.
            await UnknownAsync(context, kind, target).ConfigureAwait(false);
            return;
        }
        await ContractOutput.WriteAsync(context, StatusCodes.Status200OK, new FlagSetResponse(Contract(result.Flag!))).ConfigureAwait(false);
    }

    private static Task UnknownAsync(HttpContext context, FlagKind kind, string target) =>
        Problems.WriteAsync(context, StatusCodes.Status404NotFound, ProblemCodes.FlagTargetUnknown, "Unknown flag target",
            $"The active release has no {FlagService.Name(kind)} '{(target.Length > FlagBoard.MaxTargetLength ? target[..FlagBoard.MaxTargetLength] + "…" : target)}'.");

    /// <summary>
    /// Reads <see cref="FlagSetRequest"/> with a hand parser rather than the serializer: its problems
    /// (415, the parser's own message for invalid JSON, the member named in invalid_parameter) are the API's.
    /// </summary>
    private static async Task<FlagSetRequest?> ReadAsync(HttpContext context)
    {
        if (MediaTypes.Of(context.Request.ContentType) != "application/json")
        {
            await Problems.WriteAsync(context, StatusCodes.Status415UnsupportedMediaType, ProblemCodes.UnsupportedMediaType, "Unsupported media type",
                "Send {\"enabled\": false, \"reason\": \"...\"} as application/json.").ConfigureAwait(false);
            return null;
        }
        var body = await Requests.ReadBodyAsync(context, 4096).ConfigureAwait(false);
        if (body is null)
        {
            return null;
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
            return null;
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                await Problems.WriteAsync(context, StatusCodes.Status400BadRequest, ProblemCodes.InvalidJson, "Invalid JSON", "The body must be a JSON object.").ConfigureAwait(false);
                return null;
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
                        return null;
                }
            }
        }
        if (enabled is null)
        {
            await Requests.InvalidParameterAsync(context, "enabled", "enabled (true or false) is required.").ConfigureAwait(false);
            return null;
        }
        return new FlagSetRequest(enabled.Value, reason);
    }
}
