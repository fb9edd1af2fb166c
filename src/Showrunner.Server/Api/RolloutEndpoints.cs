using System.Globalization;
using System.Text.Json;
using Showrunner.Core.Actions;
using Showrunner.Core.Rollouts;
using Showrunner.Runtime.Rollouts;
using Showrunner.Server.Security;

namespace Showrunner.Server.Api;

/// <summary>
/// Staged rollout: <c>GET /v1/rollout</c> (plan, step, live gate values), <c>POST /v1/rollout</c>
/// (start), <c>…/advance</c>, <c>…/rollback</c>. The contract is in docs/api.md; the concepts in
/// docs/operations.md ("Staged rollout").
/// </summary>
internal sealed class RolloutEndpoints(RolloutController rollouts)
{
    public const int MaxBodyBytes = 16 * 1024;
    public const int MaxReasonLength = 500;
    public const int MaxSaltLength = 64;

    public static void Map(WebApplication app)
    {
        var endpoints = app.Services.GetRequiredService<RolloutEndpoints>();
        app.MapGet("/v1/rollout", endpoints.GetAsync).Allow(Access.Viewer);
        app.MapPost("/v1/rollout", endpoints.StartAsync).Allow(Access.Operator);
        app.MapPost("/v1/rollout/advance", endpoints.AdvanceAsync).Allow(Access.Operator);
        app.MapPost("/v1/rollout/rollback", endpoints.RollbackAsync).Allow(Access.Operator);
    }

    internal static string ActorOf(HttpContext context) => context.GetPrincipal()!.Actor;

    public Task GetAsync(HttpContext context)
    {
        var view = rollouts.View();
        return JsonOutput.WriteAsync(context, StatusCodes.Status200OK, w =>
        {
            if (view is null)
            {
                w.WriteNull("rollout");
                return;
            }
            w.WriteStartObject("rollout");
            WriteView(w, view);
            w.WriteEndObject();
        });
    }

    internal static void WriteView(Utf8JsonWriter w, RolloutView view)
    {
        w.WriteNumber("id", view.Rollout.Id);
        w.WriteString("state", view.State);
        w.WriteStartObject("candidate");
        w.WriteString("id", view.CandidateId);
        w.WriteString("name", view.CandidateName);
        w.WriteEndObject();
        w.WriteStartObject("baseline");
        w.WriteString("id", view.BaselineId);
        w.WriteString("name", view.BaselineName);
        w.WriteEndObject();
        w.WriteString("started_at", Rfc3339.Format(view.Rollout.CreatedAtTicks));
        w.WriteString("started_by", view.Rollout.CreatedBy);
        w.WriteString("salt", view.Rollout.Salt);
        w.WritePropertyName("plan");
        view.Plan.Write(w);
        var step = view.Plan.Steps[view.Step];
        w.WriteStartObject("step");
        w.WriteNumber("index", view.Step);
        w.WriteString("mode", step.Mode == StepMode.Shadow ? "shadow" : "live");
        w.WriteNumber("percent", step.PercentBasisPoints / 100m);
        w.WriteString("started_at", Rfc3339.Format(view.StepStartedAt.UtcTicks));
        w.WriteNumber("soak_remaining_seconds", (long)Math.Ceiling(view.SoakRemaining.TotalSeconds));
        w.WriteEndObject();
        w.WriteNumber("assigned_players", view.Assigned);
        w.WriteStartObject("cohorts");
        w.WriteNumber("candidate_actions", view.CandidateActions);
        w.WriteNumber("baseline_actions", view.BaselineActions);
        w.WriteEndObject();
        w.WriteString("gates_overall", Status(view.Overall));
        w.WriteStartArray("gates");
        foreach (var gate in view.Gates)
        {
            w.WriteStartObject();
            w.WriteString("gate", gate.Gate);
            if (gate.Event is not null)
            {
                w.WriteString("event", gate.Event);
            }
            if (gate.Reward is not null)
            {
                w.WriteString("reward", gate.Reward);
            }
            w.WriteString("status", Status(gate.Status));
            w.WriteString("candidate", gate.Candidate);
            w.WriteString("baseline", gate.Baseline);
            w.WriteString("threshold", gate.Threshold);
            w.WriteString("detail", gate.Detail);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("history");
        foreach (var change in view.History)
        {
            w.WriteStartObject();
            w.WriteString("kind", change.Kind);
            w.WriteNumber("step", change.Step);
            w.WriteString("at", Rfc3339.Format(change.AtTicks));
            w.WriteString("actor", change.Actor);
            if (change.Reason is null)
            {
                w.WriteNull("reason");
            }
            else
            {
                w.WriteString("reason", change.Reason);
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static string Status(GateStatus status) => status switch
    {
        GateStatus.Pass => "pass",
        GateStatus.Fail => "fail",
        _ => "inconclusive",
    };

    public async Task StartAsync(HttpContext context)
    {
        using var document = await ReadObjectAsync(context).ConfigureAwait(false);
        if (document is null)
        {
            return;
        }
        var root = document.RootElement;
        string? candidate = null, salt = null, reason = null;
        long? expected = null;
        RolloutPlan plan = RolloutPlan.Default;
        foreach (var member in root.EnumerateObject())
        {
            switch (member.Name)
            {
                case "candidate" when member.Value.ValueKind == JsonValueKind.String && ReleasesEndpoints.IsReleaseId(member.Value.GetString()!):
                    candidate = member.Value.GetString()!.ToLowerInvariant();
                    break;
                case "candidate":
                    await Requests.InvalidParameterAsync(context, "candidate", "candidate must be a release id (64 hexadecimal characters).").ConfigureAwait(false);
                    return;
                case "salt" when member.Value.ValueKind == JsonValueKind.String && member.Value.GetString()!.Length is > 0 and <= MaxSaltLength:
                    salt = member.Value.GetString();
                    break;
                case "salt":
                    await Requests.InvalidParameterAsync(context, "salt", $"salt must be a string of 1 to {MaxSaltLength} characters.").ConfigureAwait(false);
                    return;
                case "expected_version" when member.Value.ValueKind == JsonValueKind.Number && member.Value.TryGetInt64(out long v) && v >= 0:
                    expected = v;
                    break;
                case "expected_version":
                    await Requests.InvalidParameterAsync(context, "expected_version", "expected_version must be a whole number ≥ 0.").ConfigureAwait(false);
                    return;
                case "reason" when member.Value.ValueKind == JsonValueKind.String && member.Value.GetString()!.Length <= MaxReasonLength:
                    reason = member.Value.GetString();
                    break;
                case "reason":
                    await Requests.InvalidParameterAsync(context, "reason", $"reason must be a string of at most {MaxReasonLength} characters.").ConfigureAwait(false);
                    return;
                case "plan":
                    var (parsed, errors) = RolloutPlan.Parse(member.Value);
                    if (parsed is null)
                    {
                        await Problems.WriteAsync(context, StatusCodes.Status400BadRequest, ProblemCodes.RolloutPlanInvalid, "Invalid rollout plan",
                            $"The plan has {errors.Count} problem(s); nothing was started.", extensions: w =>
                            {
                                w.WriteStartArray("errors");
                                foreach (var (field, message) in errors)
                                {
                                    w.WriteStartObject();
                                    w.WriteString("field", field);
                                    w.WriteString("message", message);
                                    w.WriteEndObject();
                                }
                                w.WriteEndArray();
                            }).ConfigureAwait(false);
                        return;
                    }
                    plan = parsed;
                    break;
                default:
                    await Requests.InvalidParameterAsync(context, member.Name, "Unknown member (known: candidate, plan, salt, expected_version, reason).").ConfigureAwait(false);
                    return;
            }
        }
        if (candidate is null)
        {
            await Requests.InvalidParameterAsync(context, "candidate", "candidate (the release id to roll out) is required.").ConfigureAwait(false);
            return;
        }
        var result = await rollouts.StartAsync(candidate, plan, salt, expected, ActorOf(context), reason).ConfigureAwait(false);
        await WriteResultAsync(context, result, StatusCodes.Status201Created).ConfigureAwait(false);
    }

    public async Task AdvanceAsync(HttpContext context)
    {
        var reason = await ReadReasonAsync(context).ConfigureAwait(false);
        if (reason is null)
        {
            return;
        }
        await WriteResultAsync(context, await rollouts.AdvanceAsync(ActorOf(context), reason.Value.Reason).ConfigureAwait(false), StatusCodes.Status200OK).ConfigureAwait(false);
    }

    public async Task RollbackAsync(HttpContext context)
    {
        var reason = await ReadReasonAsync(context).ConfigureAwait(false);
        if (reason is null)
        {
            return;
        }
        await WriteResultAsync(context, await rollouts.RollbackAsync(ActorOf(context), reason.Value.Reason).ConfigureAwait(false), StatusCodes.Status200OK).ConfigureAwait(false);
    }

    private async Task WriteResultAsync(HttpContext context, RolloutResult result, int successStatus)
    {
        (int status, string? code, string title) = result.Status switch
        {
            RolloutStatus.Started => (successStatus, null, ""),
            RolloutStatus.Advanced or RolloutStatus.Completed or RolloutStatus.RolledBack => (StatusCodes.Status200OK, null, ""),
            RolloutStatus.ReleaseNotFound => (StatusCodes.Status404NotFound, ProblemCodes.ReleaseNotFound, "Release not found"),
            RolloutStatus.NoActiveRelease => (StatusCodes.Status409Conflict, ProblemCodes.NoActiveRelease, "No active release"),
            RolloutStatus.SameRelease => (StatusCodes.Status409Conflict, ProblemCodes.SameRelease, "Candidate is active"),
            RolloutStatus.InProgress => (StatusCodes.Status409Conflict, ProblemCodes.RolloutInProgress, "Rollout in progress"),
            RolloutStatus.NotRunning => (StatusCodes.Status409Conflict, ProblemCodes.RolloutNotRunning, "No rollout running"),
            RolloutStatus.VersionConflict => (StatusCodes.Status409Conflict, ProblemCodes.VersionConflict, "Version conflict"),
            RolloutStatus.SoakNotElapsed => (StatusCodes.Status409Conflict, ProblemCodes.SoakNotElapsed, "Soak time not over"),
            RolloutStatus.GatesFailing => (StatusCodes.Status409Conflict, ProblemCodes.GatesFailing, "Gates failing"),
            _ => (StatusCodes.Status422UnprocessableEntity, ProblemCodes.ReleaseIncompatible, "Incompatible release"),
        };
        if (result.Status == RolloutStatus.AudienceInvalid)
        {
            await Problems.WriteAsync(context, StatusCodes.Status400BadRequest, ProblemCodes.RolloutPlanInvalid, "Invalid rollout plan", result.Detail, extensions: w =>
            {
                w.WriteStartArray("errors");
                foreach (var (problem, _, message) in result.Problems)
                {
                    w.WriteStartObject();
                    w.WriteString("field", "plan.audience");
                    w.WriteString("code", problem);
                    w.WriteString("message", message);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }).ConfigureAwait(false);
            return;
        }
        if (code is not null)
        {
            await Problems.WriteAsync(context, status, code, title, result.Detail, extensions: result.Problems.Count == 0 ? null : w =>
            {
                w.WriteStartArray("problems");
                foreach (var (problem, eventId, message) in result.Problems)
                {
                    w.WriteStartObject();
                    w.WriteString("code", problem);
                    w.WriteString("event", eventId);
                    w.WriteString("message", message);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }).ConfigureAwait(false);
            return;
        }
        var view = rollouts.View();
        await JsonOutput.WriteAsync(context, status, w =>
        {
            w.WriteString("result", result.Status.ToString().ToLowerInvariant() switch { "rolledback" => "rolled_back", var s => s });
            w.WriteString("detail", result.Detail);
            w.WriteStartObject("rollout");
            if (view is not null)
            {
                WriteView(w, view);
            }
            w.WriteEndObject();
        }).ConfigureAwait(false);
    }

    private static async Task<JsonDocument?> ReadObjectAsync(HttpContext context)
    {
        if (MediaTypes.Of(context.Request.ContentType) != "application/json")
        {
            await Problems.WriteAsync(context, StatusCodes.Status415UnsupportedMediaType, ProblemCodes.UnsupportedMediaType, "Unsupported media type",
                "Send the request as application/json.").ConfigureAwait(false);
            return null;
        }
        var body = await Requests.ReadBodyAsync(context, MaxBodyBytes).ConfigureAwait(false);
        if (body is null)
        {
            return null;
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException exception)
        {
            await Problems.WriteAsync(context, StatusCodes.Status400BadRequest, ProblemCodes.InvalidJson, "Invalid JSON", exception.Message).ConfigureAwait(false);
            return null;
        }
        if (document.RootElement.ValueKind == JsonValueKind.Object)
        {
            return document;
        }
        document.Dispose();
        await Problems.WriteAsync(context, StatusCodes.Status400BadRequest, ProblemCodes.InvalidJson, "Invalid JSON", "The body must be a JSON object.").ConfigureAwait(false);
        return null;
    }

    /// <summary>An optional body <c>{"reason": "..."}</c>; null after writing a problem.</summary>
    internal static async Task<(string? Reason, bool Ok)?> ReadReasonAsync(HttpContext context)
    {
        if (context.Request.ContentLength is 0 || (context.Request.ContentLength is null && context.Request.ContentType is null))
        {
            return (null, true);
        }
        using var document = await ReadObjectAsync(context).ConfigureAwait(false);
        if (document is null)
        {
            return null;
        }
        string? reason = null;
        foreach (var member in document.RootElement.EnumerateObject())
        {
            if (member.Name == "reason" && member.Value.ValueKind == JsonValueKind.String && member.Value.GetString()!.Length <= MaxReasonLength)
            {
                reason = member.Value.GetString();
            }
            else if (!(member.Name == "reason" && member.Value.ValueKind == JsonValueKind.Null))
            {
                await Requests.InvalidParameterAsync(context, member.Name, $"The body is {{\"reason\": \"...\"}} (at most {MaxReasonLength} characters).").ConfigureAwait(false);
                return null;
            }
        }
        return (reason, true);
    }
}
