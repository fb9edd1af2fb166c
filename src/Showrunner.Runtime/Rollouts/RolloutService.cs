using System.Globalization;
using System.Text.Json;
using Showrunner.Core.Rollouts;
using Showrunner.Runtime.Approvals;
using Showrunner.Runtime.Audit;
using Showrunner.Runtime.Releases;
using Showrunner.Storage.Audit;

namespace Showrunner.Runtime.Rollouts;

/// <summary>Start a staged rollout of <paramref name="CandidateId"/> (lower-case) beside the active release, if the register is at <paramref name="ExpectedVersion"/> (when given).</summary>
public sealed record StartRollout(string CandidateId, RolloutPlan Plan, string? Salt, long? ExpectedVersion, string? Reason);

/// <summary>
/// A rollout start as it waits for approval: the plan as written, the register version it was
/// asked at (pinned: approved later, it starts beside the same baseline or not at all) and the
/// first step's exposure the two-person rule counted.
/// </summary>
public sealed record ApprovedRolloutStart(string Candidate, JsonElement Plan, string? Salt, long ExpectedVersion, string? Reason, int Percent);

/// <summary>Entering <paramref name="Step"/> of rollout <paramref name="Rollout"/>, as it waits for approval.</summary>
public sealed record ApprovedRolloutStep(long Rollout, int Step, string? Reason);

/// <summary>A rollout use case's outcome: the controller's result, or the approval request it now waits for.</summary>
public sealed record RolloutOutcome(RolloutResult? Result, ApprovalRequestStatus ApprovalStatus = ApprovalRequestStatus.Created, StoredApproval? Approval = null)
{
    public bool WaitsForApproval => Result is null;
}

/// <summary>
/// The staged-rollout use cases (docs/operations.md, "Staged rollout"): start, advance, roll back,
/// under the two-person rule where it guards exposure: a start whose first live step exposes more
/// than <c>Showrunner:Approvals:ActivationPercent</c>, and entering a step above it (asked by the
/// operator, or by the automatic advance). The rollout mechanics are <see cref="RolloutController"/>'s.
/// </summary>
public sealed class RolloutService(RolloutController rollouts, ApprovalService approvals, ReleaseRegister register)
{
    /// <summary>The approval kind of a rollout whose plan exposes more players than the rule's percentage.</summary>
    public const string StartKind = "rollout.start";
    /// <summary>The approval kind of entering a step above the rule's percentage.</summary>
    public const string StepKind = "rollout.step";
    /// <summary>Where a step approval is kept as asked (the automatic advance asks it too).</summary>
    public const string AdvancePath = "/v1/rollout/advance";
    /// <summary>The reason the automatic advance gives when it asks for a step's approval.</summary>
    public const string AutomaticStepReason = "gates passed after the soak time";

    public RolloutView? View() => rollouts.View();

    /// <summary>Starts the rollout now, or stores it for approval when its first live step exposes more than the rule allows.</summary>
    public async Task<RolloutOutcome> StartAsync(StartRollout command, OperatorAct act, string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(act);
        // The first step's exposure decides here; later steps above the rule's percentage are
        // approved as the rollout reaches them (advance answers that it waits for approval).
        var first = command.Plan.Steps[0];
        int percent = first.Mode == StepMode.Live ? (first.PercentBasisPoints + 99) / 100 : 0;
        if (approvals.Options.ActivationNeedsApproval(percent))
        {
            long version = command.ExpectedVersion ?? register.Current?.Version ?? 0;
            var approved = new ApprovedRolloutStart(command.CandidateId, PlanElement(command.Plan), command.Salt, version, command.Reason, percent);
            var (status, approval) = await approvals.RequestAsync(StartKind, command.CandidateId, path, approved, act.Actor, command.Reason, cancellationToken)
                .ConfigureAwait(false);
            return new RolloutOutcome(null, status, approval);
        }
        return new RolloutOutcome(await rollouts.StartAsync(command.CandidateId, command.Plan, command.Salt, command.ExpectedVersion, act.Actor, command.Reason)
            .ConfigureAwait(false));
    }

    /// <summary>Enters the next step now, or asks for approval when that step needs it.</summary>
    public async Task<RolloutOutcome> AdvanceAsync(string? reason, OperatorAct act, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(act);
        var result = await rollouts.AdvanceAsync(act.Actor, reason).ConfigureAwait(false);
        if (result.Status == RolloutStatus.ApprovalRequired && rollouts.View() is { } view)
        {
            var (status, approval) = await RequestStepAsync(view.Rollout.Id, view.Step + 1, act.Actor, reason, cancellationToken).ConfigureAwait(false);
            return new RolloutOutcome(null, status, approval);
        }
        return new RolloutOutcome(result);
    }

    public Task<RolloutResult> RollbackAsync(string? reason, OperatorAct act)
    {
        ArgumentNullException.ThrowIfNull(act);
        return rollouts.RollbackAsync(act.Actor, reason);
    }

    /// <summary>
    /// Registers the executors of approved starts and steps, and hooks the automatic advance to the
    /// two-person rule. <paramref name="answer"/> turns a result of a kind (<see cref="StartKind"/>,
    /// <see cref="StepKind"/>) into the outcome the approval keeps (the HTTP answer the act would have had).
    /// </summary>
    public void RegisterApprovals(Func<RolloutResult, string, ApprovalOutcome> answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        approvals.Register(StartKind, OperatorCommandsJson.Stored.ApprovedRolloutStart, async (approved, execution, _) =>
        {
            var (plan, _) = RolloutPlan.Parse(approved.Plan);
            var result = await rollouts.StartAsync(execution.Subject, plan!, approved.Salt, approved.ExpectedVersion, execution.RequestedBy, approved.Reason)
                .ConfigureAwait(false);
            return answer(result, StartKind);
        });
        approvals.Register(StepKind, OperatorCommandsJson.Stored.ApprovedRolloutStep, async (approved, execution, _) =>
            answer(await rollouts.AdvanceApprovedAsync(approved.Rollout, approved.Step, execution.RequestedBy, execution.ApprovedBy).ConfigureAwait(false), StepKind));
        rollouts.StepNeedsApproval = approvals.Options.ActivationNeedsApproval;
        // The automatic advance reached a step that needs approval: the request waits for any approver.
        rollouts.RequestStepApproval = (rollout, step, actor) => RequestStepAsync(rollout, step, actor, AutomaticStepReason, CancellationToken.None);
    }

    private Task<(ApprovalRequestStatus, StoredApproval?)> RequestStepAsync(long rollout, int step, string actor, string? reason, CancellationToken cancellationToken) =>
        approvals.RequestAsync(StepKind, rollout.ToString(CultureInfo.InvariantCulture) + ":" + step.ToString(CultureInfo.InvariantCulture), AdvancePath,
            new ApprovedRolloutStep(rollout, step, reason), actor, reason, cancellationToken);

    /// <summary>The plan as the API writes it (relaxed escaping), as a JSON value to store with the command.</summary>
    private static JsonElement PlanElement(RolloutPlan plan)
    {
        using var document = JsonDocument.Parse(AuditDetails.Of(w =>
        {
            w.WritePropertyName("plan");
            plan.Write(w);
        }));
        return document.RootElement.GetProperty("plan").Clone();
    }
}
