using System.Text.Json;
using Showrunner.Contracts.Rollouts;
using Showrunner.Core.Actions;
using Showrunner.Core.Rollouts;
using Showrunner.Runtime.Releases;
using Showrunner.Runtime.Rollouts;
using Showrunner.Server.Security;

namespace Showrunner.Server.Api;

/// <summary>
/// Staged rollout: <c>GET /v1/rollout</c> (plan, step, live gate values), <c>POST /v1/rollout</c>
/// (start), <c>…/advance</c>, <c>…/rollback</c>. The contract is in docs/api.md; the concepts in
/// docs/operations.md ("Staged rollout"). HTTP only: the use cases are <see cref="RolloutService"/>'s;
/// the answers are <see cref="Contracts.Rollouts"/> records.
/// </summary>
internal sealed class RolloutEndpoints(RolloutService rollouts)
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
        // An approved start or step keeps the answer the request would have had.
        app.Services.GetRequiredService<RolloutService>().RegisterApprovals((result, kind) =>
        {
            var answer = kind == StartKind
                ? endpoints.Result(result, StatusCodes.Status201Created, "/v1/rollout")
                : endpoints.Result(result, StatusCodes.Status200OK, RolloutService.AdvancePath);
            return new Runtime.Approvals.ApprovalOutcome(answer.Status, answer.Text);
        });
    }

    /// <summary>The approval kind of entering a step above <c>Showrunner:Approvals:ActivationPercent</c>.</summary>
    public const string StepKind = RolloutService.StepKind;

    /// <summary>The approval kind of a rollout whose plan exposes more players than <c>Showrunner:Approvals:ActivationPercent</c>.</summary>
    public const string StartKind = RolloutService.StartKind;

    internal static string ActorOf(HttpContext context) => context.GetPrincipal()!.Actor;

    public Task GetAsync(HttpContext context)
    {
        var view = rollouts.View();
        return ContractOutput.WriteAsync(context, StatusCodes.Status200OK, new RolloutGetResponse(view is null ? null : Contract(view)));
    }

    internal static RolloutViewContract Contract(RolloutView view)
    {
        var step = view.Plan.Steps[view.Step];
        return new RolloutViewContract(view.Rollout.Id, view.State, new RolloutReleaseRef(view.CandidateId, view.CandidateName),
            new RolloutReleaseRef(view.BaselineId, view.BaselineName), Rfc3339.Format(view.Rollout.CreatedAtTicks), view.Rollout.CreatedBy, view.Rollout.Salt,
            Contract(view.Plan),
            new RolloutStepState(view.Step, Mode(step.Mode), step.PercentBasisPoints / 100m, Rfc3339.Format(view.StepStartedAt.UtcTicks),
                (long)Math.Ceiling(view.SoakRemaining.TotalSeconds)),
            view.Assigned, new RolloutCohorts(view.CandidateActions, view.BaselineActions), Status(view.Overall),
            [.. view.Gates.Select(gate => new RolloutGateContract(gate.Gate, gate.Event, gate.Reward, Status(gate.Status), gate.Candidate, gate.Baseline,
                gate.Threshold, gate.Detail))],
            [.. view.History.Select(change => new RolloutChangeContract(change.Kind, change.Step, Rfc3339.Format(change.AtTicks), change.Actor, change.Reason))]);
    }

    /// <summary>The plan as the API shows it (every default filled in); the same fields as <see cref="RolloutPlan.Write"/>.</summary>
    internal static RolloutPlanContract Contract(RolloutPlan plan) => new(
        [.. plan.Steps.Select(step => new RolloutStepContract(Mode(step.Mode), step.PercentBasisPoints / 100m, (long)step.MinSoak.TotalSeconds))],
        plan.Audience, plan.AutoAdvance, plan.OnRollback == RollbackPolicy.Reverse ? "reverse" : "keep",
        new RolloutGatesContract(plan.Gates.MinActions, plan.Gates.MaxRejectionIncreaseBasisPoints, plan.Gates.MaxLatencyRatioPercent,
            plan.Gates.LatencySlackMicroseconds, plan.Gates.MaxRewardRatioPercent, plan.Gates.FalsePositivePerMillion / 1_000_000m));

    private static string Mode(StepMode mode) => mode == StepMode.Shadow ? "shadow" : "live";

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
        var outcome = await rollouts.StartAsync(new StartRollout(candidate, plan, salt, expected, reason), new OperatorAct(ActorOf(context)), path,
            context.RequestAborted).ConfigureAwait(false);
        if (outcome.WaitsForApproval)
        {
            await ApprovalsEndpoints.WriteRequestedAsync(context, outcome.ApprovalStatus, outcome.Approval).ConfigureAwait(false);
            return;
        }
        await Result(outcome.Result!, StatusCodes.Status201Created, path).WriteAsync(context).ConfigureAwait(false);
    }

    public async Task AdvanceAsync(HttpContext context)
    {
        var reason = await ReadReasonAsync(context).ConfigureAwait(false);
        if (reason is null)
        {
            return;
        }
        var outcome = await rollouts.AdvanceAsync(reason.Value.Reason, new OperatorAct(ActorOf(context)), context.RequestAborted).ConfigureAwait(false);
        if (outcome.WaitsForApproval)
        {
            await ApprovalsEndpoints.WriteRequestedAsync(context, outcome.ApprovalStatus, outcome.Approval).ConfigureAwait(false);
            return;
        }
        await Result(outcome.Result!, StatusCodes.Status200OK, context.Request.Path.Value ?? "").WriteAsync(context).ConfigureAwait(false);
    }

    public async Task RollbackAsync(HttpContext context)
    {
        var reason = await ReadReasonAsync(context).ConfigureAwait(false);
        if (reason is null)
        {
            return;
        }
        await Result(await rollouts.RollbackAsync(reason.Value.Reason, new OperatorAct(ActorOf(context))).ConfigureAwait(false), StatusCodes.Status200OK,
                context.Request.Path.Value ?? "")
            .WriteAsync(context).ConfigureAwait(false);
    }

    internal ApiResult Result(RolloutResult result, int successStatus, string path)
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
        return ContractOutput.Result(status, new RolloutChangeResponse(
            result.Status.ToString().ToLowerInvariant() switch { "rolledback" => "rolled_back", var s => s }, result.Detail, view is null ? null : Contract(view)));
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
