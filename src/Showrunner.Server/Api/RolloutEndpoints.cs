using System.Globalization;
using System.Text.Json;
using Showrunner.Core.Actions;
using Showrunner.Core.Rollouts;
using Showrunner.Runtime.Audit;
using Showrunner.Runtime.Rollouts;
using Showrunner.Server.Security;

namespace Showrunner.Server.Api;

/// <summary>
/// Staged rollout: <c>GET /v1/rollout</c> (plan, step, live gate values), <c>POST /v1/rollout</c>
/// (start), <c>…/advance</c>, <c>…/rollback</c>. The contract is in docs/api.md; the concepts in
/// docs/operations.md ("Staged rollout").
/// </summary>
internal sealed class RolloutEndpoints(RolloutController rollouts, Runtime.Approvals.ApprovalService approvals, Runtime.Releases.ReleaseRegister register)
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
        var approvals = app.Services.GetRequiredService<Runtime.Approvals.ApprovalService>();
        approvals.Register(StartKind, endpoints.ExecuteApprovedStartAsync);
        approvals.Register(StepKind, endpoints.ExecuteApprovedStepAsync);
        var rollouts = app.Services.GetRequiredService<RolloutController>();
        rollouts.StepNeedsApproval = approvals.Options.ActivationNeedsApproval;
        rollouts.RequestStepApproval = endpoints.RequestStepAsync;
    }

    /// <summary>The approval kind of entering a step above <c>Showrunner:Approvals:ActivationPercent</c>.</summary>
    public const string StepKind = "rollout.step";

    private async Task<(Runtime.Approvals.ApprovalRequestStatus, Storage.Audit.StoredApproval?)> RequestStepCoreAsync(long rollout, int step, string actor, string? reason,
        CancellationToken cancellationToken)
    {
        string body = AuditDetails.Of(w =>
        {
            w.WriteNumber("rollout", rollout);
            w.WriteNumber("step", step);
            if (reason is null)
            {
                w.WriteNull("reason");
            }
            else
            {
                w.WriteString("reason", reason);
            }
        });
        return await approvals.RequestAsync(StepKind, rollout.ToString(CultureInfo.InvariantCulture) + ":" + step.ToString(CultureInfo.InvariantCulture),
            "/v1/rollout/advance", body, actor, reason, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The automatic advance reached a step that needs approval: the request waits for any approver.</summary>
    private Task RequestStepAsync(long rollout, int step, string actor) =>
        RequestStepCoreAsync(rollout, step, actor, "gates passed after the soak time", CancellationToken.None);

    private async Task<Runtime.Approvals.ApprovalOutcome> ExecuteApprovedStepAsync(Runtime.Approvals.ApprovalExecution execution, CancellationToken cancellationToken)
    {
        using var document = JsonDocument.Parse(execution.Body);
        var root = document.RootElement;
        var result = await rollouts.AdvanceApprovedAsync(root.GetProperty("rollout").GetInt64(), root.GetProperty("step").GetInt32(),
            execution.RequestedBy, execution.ApprovedBy).ConfigureAwait(false);
        var answer = Result(result, StatusCodes.Status200OK, "/v1/rollout/advance");
        return new Runtime.Approvals.ApprovalOutcome(answer.Status, answer.Text);
    }

    /// <summary>The approval kind of a rollout whose plan exposes more players than <c>Showrunner:Approvals:ActivationPercent</c>.</summary>
    public const string StartKind = "rollout.start";

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
        string path = context.Request.Path.Value ?? "";
        // The first step's exposure decides here; later steps above the rule's percentage are
        // approved as the rollout reaches them (POST /v1/rollout/advance answers 202).
        int percent = plan.Steps[0].Mode == StepMode.Live ? (plan.Steps[0].PercentBasisPoints + 99) / 100 : 0;
        if (approvals.Options.ActivationNeedsApproval(percent))
        {
            // The register version is pinned: approved later, the rollout starts beside the same
            // baseline the requester saw, or not at all (version_conflict).
            long version = expected ?? register.Current?.Version ?? 0;
            string body = AuditDetails.Of(w =>
            {
                w.WriteString("candidate", candidate);
                w.WritePropertyName("plan");
                plan.Write(w);
                if (salt is null)
                {
                    w.WriteNull("salt");
                }
                else
                {
                    w.WriteString("salt", salt);
                }
                w.WriteNumber("expected_version", version);
                if (reason is null)
                {
                    w.WriteNull("reason");
                }
                else
                {
                    w.WriteString("reason", reason);
                }
                w.WriteNumber("percent", percent);
            });
            var (status, approval) = await approvals.RequestAsync(StartKind, candidate, path, body, ActorOf(context), reason, context.RequestAborted).ConfigureAwait(false);
            await ApprovalsEndpoints.WriteRequestedAsync(context, status, approval).ConfigureAwait(false);
            return;
        }
        var result = await rollouts.StartAsync(candidate, plan, salt, expected, ActorOf(context), reason).ConfigureAwait(false);
        await Result(result, StatusCodes.Status201Created, path).WriteAsync(context).ConfigureAwait(false);
    }

    /// <summary>The executor of approved rollouts: the stored request, on behalf of its requester, at the register version it was asked at.</summary>
    private async Task<Runtime.Approvals.ApprovalOutcome> ExecuteApprovedStartAsync(Runtime.Approvals.ApprovalExecution execution, CancellationToken cancellationToken)
    {
        using var document = JsonDocument.Parse(execution.Body);
        var root = document.RootElement;
        var (plan, _) = RolloutPlan.Parse(root.GetProperty("plan"));
        string? Text(string name) => root.GetProperty(name).ValueKind == JsonValueKind.String ? root.GetProperty(name).GetString() : null;
        var result = await rollouts.StartAsync(execution.Subject, plan!, Text("salt"), root.GetProperty("expected_version").GetInt64(), execution.RequestedBy,
            Text("reason")).ConfigureAwait(false);
        var answer = Result(result, StatusCodes.Status201Created, "/v1/rollout");
        return new Runtime.Approvals.ApprovalOutcome(answer.Status, answer.Text);
    }

    public async Task AdvanceAsync(HttpContext context)
    {
        var reason = await ReadReasonAsync(context).ConfigureAwait(false);
        if (reason is null)
        {
            return;
        }
        var result = await rollouts.AdvanceAsync(ActorOf(context), reason.Value.Reason).ConfigureAwait(false);
        if (result.Status == RolloutStatus.ApprovalRequired && rollouts.View() is { } view)
        {
            var (status, approval) = await RequestStepCoreAsync(view.Rollout.Id, view.Step + 1, ActorOf(context), reason.Value.Reason, context.RequestAborted)
                .ConfigureAwait(false);
            await ApprovalsEndpoints.WriteRequestedAsync(context, status, approval).ConfigureAwait(false);
            return;
        }
        await Result(result, StatusCodes.Status200OK, context.Request.Path.Value ?? "").WriteAsync(context).ConfigureAwait(false);
    }

    public async Task RollbackAsync(HttpContext context)
    {
        var reason = await ReadReasonAsync(context).ConfigureAwait(false);
        if (reason is null)
        {
            return;
        }
        await Result(await rollouts.RollbackAsync(ActorOf(context), reason.Value.Reason).ConfigureAwait(false), StatusCodes.Status200OK, context.Request.Path.Value ?? "")
            .WriteAsync(context).ConfigureAwait(false);
    }

    private ApiResult Result(RolloutResult result, int successStatus, string path)
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
            return Problems.Of(path, StatusCodes.Status400BadRequest, ProblemCodes.RolloutPlanInvalid, "Invalid rollout plan", result.Detail, extensions: w =>
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
            });
        }
        if (code is not null)
        {
            return Problems.Of(path, status, code, title, result.Detail, extensions: result.Problems.Count == 0 ? null : w =>
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
            });
        }
        var view = rollouts.View();
        return ApiResult.Json(status, w =>
        {
            w.WriteString("result", result.Status.ToString().ToLowerInvariant() switch { "rolledback" => "rolled_back", var s => s });
            w.WriteString("detail", result.Detail);
            w.WriteStartObject("rollout");
            if (view is not null)
            {
                WriteView(w, view);
            }
            w.WriteEndObject();
        });
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
