using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Showrunner.Core.Ledger;
using Showrunner.Core.LiveEvents;
using Showrunner.Core.Rollouts;
using Showrunner.Core.Rules.Bundle;
using Showrunner.Runtime.Audit;
using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.Observability;
using Showrunner.Runtime.Releases;
using Showrunner.Storage;

namespace Showrunner.Runtime.Rollouts;

public enum RolloutStatus
{
    Started,
    Advanced,
    Completed,
    RolledBack,
    ReleaseNotFound,
    NoActiveRelease,
    SameRelease,
    InProgress,
    NotRunning,
    VersionConflict,
    Incompatible,
    SoakNotElapsed,
    GatesFailing,
    /// <summary>The next step exposes more players than the two-person rule allows alone: a second person must approve it.</summary>
    ApprovalRequired,
    /// <summary>The plan's audience does not compile against the candidate (<see cref="RolloutResult.Problems"/>: code, "audience", message).</summary>
    AudienceInvalid,
}

/// <summary>The outcome of a rollout operation; <see cref="Problems"/> names compatibility problems.</summary>
public sealed record RolloutResult(RolloutStatus Status, long? RolloutId, string Detail, IReadOnlyList<(string Code, string Event, string Message)> Problems)
{
    public static RolloutResult Of(RolloutStatus status, long? id, string detail) => new(status, id, detail, []);
}

/// <summary>What <c>GET /v1/rollout</c> shows.</summary>
public sealed record RolloutView(
    StoredRollout Rollout, string CandidateId, string CandidateName, string BaselineId, string BaselineName, RolloutPlan Plan, string State,
    int Step, DateTimeOffset StepStartedAt, TimeSpan SoakRemaining, long Assigned, IReadOnlyList<GateResult> Gates, GateStatus Overall,
    long CandidateActions, long BaselineActions, IReadOnlyList<StoredRolloutChange> History);

/// <summary>
/// Staged rollouts of a candidate release beside the active (baseline) one: start, step, gate,
/// roll back, complete (docs/operations.md, "Staged rollout"). Every change is durable in the
/// store first, then put in force on every partition before the call returns.
/// </summary>
/// <remarks>
/// <see cref="TickAsync"/> (every 250 ms from the hosting service) evaluates the gates on the live
/// counts: a failing gate rolls the candidate back within one tick; passing gates advance a plan
/// with <c>auto_advance</c> once the step's soak time is over; gates without enough data hold the
/// rollout at its step (recorded once) for a person to decide. Gate counts are kept in memory and
/// start again at each step and after a restart.
/// </remarks>
public sealed partial class RolloutController : IDisposable
{
    public const string GatesActor = "system:gates";
    public const string AutoActor = "system:rollout";

    private readonly IActionStore _store;
    private readonly IngestPipeline _pipeline;
    private readonly ReleaseRegister _register;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IAuditTrail? _audit;
    private readonly Func<RolloutAlert, Task>? _alert;
    private readonly SemaphoreSlim _changes = new(1, 1);
    private Running? _running;

    private sealed record Running(StoredRollout Stored, RolloutPlan Plan, ActiveRollout Active, int Sequence, bool Held, StoredRelease Candidate, StoredRelease Baseline);

    public RolloutController(IActionStore store, IngestPipeline pipeline, ReleaseRegister register, TimeProvider time, ILogger<RolloutController> logger,
        IAuditTrail? audit = null, Func<RolloutAlert, Task>? alert = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _pipeline = pipeline;
        _register = register;
        _time = time;
        _logger = logger;
        _audit = audit;
        _alert = alert;
        register.ChangeGuard = () => Volatile.Read(ref _running) is null ? null : "A rollout is running; complete or roll it back first (GET /v1/rollout).";
        pipeline.Metrics.ObserveRollout(Gauges);
    }

    /// <summary>The rollout gauges: step, and each gate's candidate, baseline and threshold values and verdict (from the live counts, like <see cref="View"/>).</summary>
    private RolloutGauges Gauges()
    {
        if (Volatile.Read(ref _running) is not { } running)
        {
            return new RolloutGauges(false, 0, [], []);
        }
        var (gates, _, _, _) = Evaluate(running);
        var values = new List<Measurement<double>>(gates.Count * 3);
        var statuses = new Measurement<long>[gates.Count];
        for (int i = 0; i < gates.Count; i++)
        {
            var gate = gates[i];
            var name = new KeyValuePair<string, object?>("gate", gate.Gate);
            var eventId = new KeyValuePair<string, object?>("event", gate.Event ?? "");
            var reward = new KeyValuePair<string, object?>("reward", gate.Reward ?? "");
            foreach (var (side, text) in new[] { ("candidate", gate.Candidate), ("baseline", gate.Baseline), ("threshold", gate.Threshold) })
            {
                if (LeadingNumber(text) is { } value)
                {
                    values.Add(new Measurement<double>(value, name, eventId, reward, new KeyValuePair<string, object?>("side", side)));
                }
            }
            statuses[i] = new Measurement<long>((long)gate.Status, name, eventId, reward);
        }
        return new RolloutGauges(true, running.Active.StepIndex, [.. values], statuses);
    }

    /// <summary>
    /// The number a gate shows ("0.5%" → 0.5, "≤ 1200 µs" → 1200, "+1.5 points" → 1.5, "3.2 per
    /// 1,000 actions" → 3.2): the first decimal number in the text, in the gate's own unit
    /// (docs/observability.md lists the unit of each gate).
    /// </summary>
    internal static double? LeadingNumber(string text)
    {
        var match = System.Text.RegularExpressions.Regex.Match(text, @"-?\d+(\.\d+)?", System.Text.RegularExpressions.RegexOptions.CultureInvariant);
        return match.Success ? double.Parse(match.Value, System.Globalization.CultureInfo.InvariantCulture) : null;
    }

    public bool IsRunning => Volatile.Read(ref _running) is not null;

    /// <summary>
    /// The two-person rule for steps (set by the server): whether a live step at this percentage
    /// (rounded up) needs a second person's approval before the rollout enters it.
    /// </summary>
    public Func<int, bool>? StepNeedsApproval { get; set; }

    /// <summary>Asks for that approval when the automatic advance reaches such a step (rollout id, step, requester).</summary>
    public Func<long, int, string, Task>? RequestStepApproval { get; set; }

    /// <summary>Whether entering step <paramref name="next"/> needs approval: a live step above the rule's percentage that exposes more than any step before it.</summary>
    public bool NeedsApproval(RolloutPlan plan, int next)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (next >= plan.Steps.Count || plan.Steps[next].Mode != StepMode.Live || StepNeedsApproval is null)
        {
            return false;
        }
        int before = plan.Steps.Take(next).Where(s => s.Mode == StepMode.Live).Select(s => s.PercentBasisPoints).DefaultIfEmpty(0).Max();
        return plan.Steps[next].PercentBasisPoints > before && StepNeedsApproval((plan.Steps[next].PercentBasisPoints + 99) / 100);
    }

    /// <summary>Enters step <paramref name="step"/> of rollout <paramref name="rolloutId"/> after a second person approved it (still at the step before, no gate failing).</summary>
    public async Task<RolloutResult> AdvanceApprovedAsync(long rolloutId, int step, string requestedBy, string approvedBy) =>
        await Locked(running =>
        {
            if (running.Stored.Id != rolloutId || running.Active.StepIndex != step - 1)
            {
                return Task.FromResult(RolloutResult.Of(RolloutStatus.VersionConflict, running.Stored.Id,
                    $"Rollout {running.Stored.Id} is at step {running.Active.StepIndex}; the approval was for entering step {step} of rollout {rolloutId}."));
            }
            return AdvanceLockedAsync(running, requestedBy, $"approved by {approvedBy}", automatic: false, approved: true);
        }).ConfigureAwait(false);

    /// <summary>Loads the running rollout, if any, and puts it in force (after the register, before the pipeline starts).</summary>
    public async Task InitializeAsync()
    {
        var latest = _store.Rollouts.List(1).FirstOrDefault();
        if (latest is null)
        {
            return;
        }
        var changes = _store.Rollouts.Changes(latest.Id);
        var last = changes[^1];
        if (last.Kind is "rollback" or "complete")
        {
            return;
        }
        var (plan, _) = RolloutPlan.Parse(System.Text.Json.JsonDocument.Parse(latest.Plan).RootElement);
        var candidate = _store.Releases.Find(latest.CandidateRef)!;
        var baseline = _store.Releases.Find(latest.BaselineRef)!;
        var runtime = _register.Loaded(candidate);
        // The step restarts its soak and its counts at a restart: gate data is kept in memory only.
        long now = _time.GetUtcNow().UtcTicks;
        var audience = plan!.Audience is null ? null : RolloutAudience.Compile(runtime.Loaded, plan.Audience).Audience
            ?? throw new InvalidDataException($"Rollout {latest.Id}: its stored audience no longer compiles against its candidate.");
        var active = ActiveRollout.Create(latest.Id, runtime, latest.Salt, last.Step, plan.Steps[last.Step], now, _pipeline.PartitionCount,
            _store.Rollouts.Assignments(latest.Id), audience);
        Volatile.Write(ref _running, new Running(latest, plan, active, changes.Count, last.Kind == "hold", candidate, baseline));
        await _pipeline.SwitchRolloutAsync(active).ConfigureAwait(false);
        LogResumed(_logger, latest.Id, candidate.Id, last.Step);
    }

    /// <summary>Starts rolling out release <paramref name="candidateId"/> beside the active release.</summary>
    public async Task<RolloutResult> StartAsync(string candidateId, RolloutPlan plan, string? salt, long? expectedVersion, string actor, string? reason)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var target = _store.Releases.Find(candidateId);
        if (target is null)
        {
            return RolloutResult.Of(RolloutStatus.ReleaseNotFound, null, $"No published release has id {candidateId}.");
        }
        await _changes.WaitAsync().ConfigureAwait(false);
        try
        {
            if (Volatile.Read(ref _running) is { } running)
            {
                return RolloutResult.Of(RolloutStatus.InProgress, running.Stored.Id, $"Rollout {running.Stored.Id} is running; complete or roll it back first.");
            }
            var current = _register.Current;
            if (current is null)
            {
                return RolloutResult.Of(RolloutStatus.NoActiveRelease, null, "A rollout runs a candidate beside the active release; activate a release first.");
            }
            if (expectedVersion is { } expected && expected != current.Version)
            {
                return RolloutResult.Of(RolloutStatus.VersionConflict, null, $"The register is at version {current.Version}, not {expected}.");
            }
            if (current.Release.Ref == target.Ref)
            {
                return RolloutResult.Of(RolloutStatus.SameRelease, null, "The candidate is the active release.");
            }
            var candidate = _register.Loaded(target);
            var problems = ReleaseCompatibility.Check(_register.Loaded(current.Release).Loaded.Bundle, candidate.Loaded.Bundle, _time.GetUtcNow());
            if (problems.Count > 0)
            {
                return new RolloutResult(RolloutStatus.Incompatible, null, "The candidate would change what players of a live event already earned.",
                    [.. problems.Select(p => (p.Code, p.EventId, p.Message))]);
            }
            RolloutAudience? audience = null;
            if (plan.Audience is not null)
            {
                var (compiled, diagnostics) = RolloutAudience.Compile(candidate.Loaded, plan.Audience);
                if (compiled is null)
                {
                    return new RolloutResult(RolloutStatus.AudienceInvalid, null, "The plan's audience does not compile against the candidate's player attributes.",
                        [.. diagnostics.Where(d => d.Severity == Core.Rules.Syntax.Severity.Error).Select(d => (d.Code, "audience", d.Message))]);
                }
                audience = compiled;
            }
            long now = _time.GetUtcNow().UtcTicks;
            string effectiveSalt = string.IsNullOrEmpty(salt) ? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)) : salt;
            long[] frontier = [.. _pipeline.CommittedLedgerHeads().Select(h => h.Size)];
            var stored = await _pipeline.RunOnWriterAsync(() => _store.Rollouts.Start(target.Ref, current.Release.Ref, current.Version, plan.ToJson(),
                effectiveSalt, now, actor, frontier, reason)).ConfigureAwait(false);
            var active = ActiveRollout.Create(stored.Id, candidate, effectiveSalt, 0, plan.Steps[0], now, _pipeline.PartitionCount, [], audience);
            Volatile.Write(ref _running, new Running(stored, plan, active, 1, false, target, current.Release));
            await _pipeline.SwitchRolloutAsync(active).ConfigureAwait(false);
            LogStarted(_logger, stored.Id, target.Id, current.Release.Id, plan.Steps[0].Mode.ToString().ToLowerInvariant(), plan.Steps[0].PercentText);
            await AuditAsync(actor, "rollout.start", target.Id, current.Release.Id, target.Id, reason,
                $"{{\"rollout\":{stored.Id},\"steps\":{plan.Steps.Count}}}").ConfigureAwait(false);
            return RolloutResult.Of(RolloutStatus.Started, stored.Id, $"Rollout {stored.Id} started at step 0.");
        }
        finally
        {
            _changes.Release();
        }
    }

    /// <summary>Moves the running rollout to its next step (completing it after the last), once the step's soak time is over and no gate fails.</summary>
    public async Task<RolloutResult> AdvanceAsync(string actor, string? reason) => await Locked(running => AdvanceLockedAsync(running, actor, reason, automatic: false)).ConfigureAwait(false);

    /// <summary>Rolls the running rollout back: the candidate stops evaluating (and granting) on every partition before this returns.</summary>
    public async Task<RolloutResult> RollbackAsync(string actor, string? reason) => await Locked(running => RollbackLockedAsync(running, actor, reason, null)).ConfigureAwait(false);

    private async Task<RolloutResult> Locked(Func<Running, Task<RolloutResult>> work)
    {
        await _changes.WaitAsync().ConfigureAwait(false);
        try
        {
            return Volatile.Read(ref _running) is { } running ? await work(running).ConfigureAwait(false)
                : RolloutResult.Of(RolloutStatus.NotRunning, null, "No rollout is running.");
        }
        finally
        {
            _changes.Release();
        }
    }

    /// <summary>Evaluates the gates once: rolls back on a failure, advances or holds as the plan says.</summary>
    public async Task TickAsync()
    {
        if (Volatile.Read(ref _running) is null)
        {
            return;
        }
        await Locked(async running =>
        {
            var (gates, overall, _, _) = Evaluate(running);
            if (overall == GateStatus.Fail)
            {
                var failed = gates.First(g => g.Status == GateStatus.Fail);
                string why = $"gate {failed.Gate}{(failed.Event is null ? "" : " on " + failed.Event)}{(failed.Reward is null ? "" : " (" + failed.Reward + ")")} failed: " +
                    $"candidate {failed.Candidate}, baseline {failed.Baseline}, allowed {failed.Threshold}";
                return await RollbackLockedAsync(running, GatesActor, why, failed).ConfigureAwait(false);
            }
            var soakLeft = SoakRemaining(running);
            if (soakLeft > TimeSpan.Zero)
            {
                return RolloutResult.Of(RolloutStatus.SoakNotElapsed, running.Stored.Id, "");
            }
            if (overall == GateStatus.Inconclusive)
            {
                if (!running.Held)
                {
                    string why = "held at step " + running.Active.StepIndex + ": gates inconclusive (" + gates.First(g => g.Status == GateStatus.Inconclusive).Detail + ")";
                    await AppendChangeAsync(running, "hold", running.Active.StepIndex, AutoActor, why).ConfigureAwait(false);
                    Volatile.Write(ref _running, running with { Sequence = running.Sequence + 1, Held = true });
                    LogHeld(_logger, running.Stored.Id, running.Active.StepIndex);
                }
                return RolloutResult.Of(RolloutStatus.SoakNotElapsed, running.Stored.Id, "");
            }
            if (!running.Plan.AutoAdvance)
            {
                return RolloutResult.Of(RolloutStatus.SoakNotElapsed, running.Stored.Id, "");
            }
            int next = running.Active.StepIndex + 1;
            if (NeedsApproval(running.Plan, next))
            {
                if (!running.Held)
                {
                    string why = $"gates passed; entering step {next} ({running.Plan.Steps[next].PercentText}%) needs a second person's approval";
                    await AppendChangeAsync(running, "hold", running.Active.StepIndex, AutoActor, why).ConfigureAwait(false);
                    Volatile.Write(ref _running, running with { Sequence = running.Sequence + 1, Held = true });
                    LogHeld(_logger, running.Stored.Id, running.Active.StepIndex);
                    if (RequestStepApproval is not null)
                    {
                        await RequestStepApproval(running.Stored.Id, next, AutoActor).ConfigureAwait(false);
                    }
                }
                return RolloutResult.Of(RolloutStatus.ApprovalRequired, running.Stored.Id, "");
            }
            return await AdvanceLockedAsync(running, AutoActor, "gates passed after the soak time", automatic: true).ConfigureAwait(false);
        }).ConfigureAwait(false);
    }

    private TimeSpan SoakRemaining(Running running)
    {
        var elapsed = _time.GetUtcNow() - new DateTimeOffset(running.Active.StepStartedTicks, TimeSpan.Zero);
        var left = running.Active.Step.MinSoak - elapsed;
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    private static (IReadOnlyList<GateResult> Gates, GateStatus Overall, CohortTotals Baseline, CohortTotals Candidate) Evaluate(Running running)
    {
        var (baseline, candidate) = running.Active.Totals();
        var gates = Gates.Evaluate(running.Plan.Gates, baseline, candidate);
        return (gates, Gates.Overall(gates), baseline, candidate);
    }

    private async Task<RolloutResult> AdvanceLockedAsync(Running running, string actor, string? reason, bool automatic, bool approved = false)
    {
        if (!automatic)
        {
            var left = SoakRemaining(running);
            if (left > TimeSpan.Zero)
            {
                return RolloutResult.Of(RolloutStatus.SoakNotElapsed, running.Stored.Id,
                    $"Step {running.Active.StepIndex} soaks for {(long)Math.Ceiling(left.TotalSeconds)} more seconds.");
            }
            var (gates, overall, _, _) = Evaluate(running);
            if (overall == GateStatus.Fail)
            {
                return RolloutResult.Of(RolloutStatus.GatesFailing, running.Stored.Id,
                    "A gate fails: " + gates.First(g => g.Status == GateStatus.Fail).Gate + "; the rollout is being rolled back.");
            }
        }
        int next = running.Active.StepIndex + 1;
        if (!approved && !automatic && NeedsApproval(running.Plan, next))
        {
            return RolloutResult.Of(RolloutStatus.ApprovalRequired, running.Stored.Id,
                $"Entering step {next} ({running.Plan.Steps[next].PercentText}%) needs a second person's approval.");
        }
        long now = _time.GetUtcNow().UtcTicks;
        if (next >= running.Plan.Steps.Count)
        {
            var promoted = await _register.PromoteAsync(running.Candidate, reason ?? $"rollout {running.Stored.Id} completed").ConfigureAwait(false);
            if (promoted.Status != ChangeStatus.Changed)
            {
                return RolloutResult.Of(RolloutStatus.VersionConflict, running.Stored.Id, "The register changed under the rollout: " + promoted.Status);
            }
            await AppendChangeAsync(running, "complete", running.Active.StepIndex, actor, reason).ConfigureAwait(false);
            Volatile.Write(ref _running, null);
            await _pipeline.SwitchRolloutAsync(null).ConfigureAwait(false);
            LogCompleted(_logger, running.Stored.Id, running.Candidate.Id, promoted.CurrentVersion);
            await AuditAsync(actor, "rollout.complete", running.Candidate.Id, running.Baseline.Id, running.Candidate.Id, reason,
                $"{{\"rollout\":{running.Stored.Id},\"register_version\":{promoted.CurrentVersion}}}").ConfigureAwait(false);
            return RolloutResult.Of(RolloutStatus.Completed, running.Stored.Id, $"Rollout {running.Stored.Id} completed: {running.Candidate.Id} is the active release.");
        }
        await AppendChangeAsync(running, "step", next, actor, reason).ConfigureAwait(false);
        var step = running.Plan.Steps[next];
        var active = running.Active.AtStep(next, step, now);
        Volatile.Write(ref _running, running with { Active = active, Sequence = running.Sequence + 1, Held = false });
        await _pipeline.SwitchRolloutAsync(active).ConfigureAwait(false);
        LogStepped(_logger, running.Stored.Id, next, step.Mode.ToString().ToLowerInvariant(), step.PercentText, actor);
        await AuditAsync(actor, "rollout.step", running.Candidate.Id, running.Active.StepIndex.ToString(System.Globalization.CultureInfo.InvariantCulture),
            next.ToString(System.Globalization.CultureInfo.InvariantCulture), reason,
            $"{{\"rollout\":{running.Stored.Id},\"mode\":\"{step.Mode.ToString().ToLowerInvariant()}\",\"percent\":{step.PercentText}}}").ConfigureAwait(false);
        return RolloutResult.Of(RolloutStatus.Advanced, running.Stored.Id, $"Rollout {running.Stored.Id} is at step {next} ({step.Mode.ToString().ToLowerInvariant()}, {step.PercentText}%).");
    }

    private async Task<RolloutResult> RollbackLockedAsync(Running running, string actor, string? reason, GateResult? failed)
    {
        // Out of force first (the emergency comes before the paperwork), then recorded.
        Volatile.Write(ref _running, null);
        await _pipeline.SwitchRolloutAsync(null).ConfigureAwait(false);
        await AppendChangeAsync(running, "rollback", running.Active.StepIndex, actor, reason).ConfigureAwait(false);
        _pipeline.Metrics.RolloutRollbacks.Add(1, new KeyValuePair<string, object?>("trigger", failed is null ? "operator" : "gate"));
        LogRolledBack(_logger, running.Stored.Id, running.Candidate.Id, actor, reason ?? "");
        int reversed = 0;
        if (running.Plan.OnRollback == RollbackPolicy.Reverse)
        {
            reversed = await ReverseAsync(running, reason).ConfigureAwait(false);
        }
        await AuditAsync(actor, "rollout.rollback", running.Candidate.Id, running.Candidate.Id, running.Baseline.Id, reason,
            $"{{\"rollout\":{running.Stored.Id},\"step\":{running.Active.StepIndex},\"reversed\":{reversed}}}").ConfigureAwait(false);
        if (_alert is not null)
        {
            try
            {
                await _alert(new RolloutAlert(running.Stored.Id, running.Candidate.Id, running.Baseline.Id, actor, reason ?? "", failed,
                    _time.GetUtcNow(), reversed)).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException or InvalidOperationException)
            {
                LogAlertFailed(_logger, exception, running.Stored.Id);
            }
        }
        return RolloutResult.Of(RolloutStatus.RolledBack, running.Stored.Id,
            $"Rollout {running.Stored.Id} rolled back{(reversed > 0 ? $"; {reversed} grant(s) reversed by correction entries" : "")}.");
    }

    /// <summary>
    /// The <c>reverse</c> policy: a correction entry with negated amounts for each grant the candidate
    /// made during the rollout (entries after the rollout's ledger frontier whose release is the
    /// candidate). Idempotent: a correction's grant id derives from the grant it corrects.
    /// </summary>
    private async Task<int> ReverseAsync(Running running, string? reason)
    {
        int count = 0;
        string candidateId = running.Candidate.Id;
        string why = $"rollout {running.Stored.Id} rolled back (reverse policy)" + (reason is null ? "" : ": " + reason);
        if (why.Length > GrantEntry.IdentifierLengthMax)
        {
            why = why[..GrantEntry.IdentifierLengthMax];
        }
        // Everything the candidate granted before the switch is committed first, so none is missed.
        await _pipeline.FlushAsync().ConfigureAwait(false);
        var heads = _pipeline.CommittedLedgerHeads();
        for (int p = 0; p < heads.Length; p++)
        {
            long from = p < running.Stored.LedgerFrontier.Length ? running.Stored.LedgerFrontier[p] : 0;
            var corrections = new List<PendingGrant>();
            while (from < heads[p].Size)
            {
                var rows = _store.Ledger.ReadEntries(p, from, 1000);
                if (rows.Count == 0)
                {
                    break;
                }
                foreach (var row in rows)
                {
                    from = row.Index + 1;
                    var (entry, _) = GrantEntry.Decode(row.Entry, row.PrevHash);
                    if (entry is null || entry.ReleaseId != candidateId || entry.CauseKind is CauseKind.Correction or CauseKind.Operator)
                    {
                        continue;
                    }
                    var cause = new GrantCause(entry.EventId, entry.Run, entry.Player, "correction:" + entry.GrantId, CauseKind.Correction, "rollout-" + running.Stored.Id);
                    corrections.Add(new PendingGrant(cause, [.. entry.Rewards.Select(r => new RewardLine(r.Name, -r.Amount))], running.Baseline.Id,
                        _pipeline.StampNow, Author: AutoActor, Reason: why));
                }
            }
            if (corrections.Count == 0)
            {
                continue;
            }
            count += await _pipeline.OnPartitionAsync(p, partition =>
            {
                var due = corrections.Where(c => partition.ManualGrants.Add(c.Cause.GrantId) && _store.Ledger.FindGrant(Convert.FromHexString(c.Cause.GrantId)) is null).ToList();
                return (due.Count, (IReadOnlyList<PendingGrant>)due);
            }).ConfigureAwait(false);
        }
        return count;
    }

    private async Task AppendChangeAsync(Running running, string kind, int step, string actor, string? reason)
    {
        var change = new StoredRolloutChange(running.Stored.Id, running.Sequence, kind, step, _time.GetUtcNow().UtcTicks, actor, reason);
        if (!await _pipeline.RunOnWriterAsync(() => _store.Rollouts.Append(change)).ConfigureAwait(false))
        {
            throw new InvalidOperationException($"Rollout {running.Stored.Id} change {running.Sequence} was recorded by another writer.");
        }
    }

    private Task AuditAsync(string actor, string action, string target, string? before, string? after, string? reason, string? details) =>
        _audit is null ? Task.CompletedTask : _audit.RecordAsync(new AuditRecord(actor, action, target, before, after, reason, details));

    /// <summary>The running rollout with its live gate values, or the latest finished one; null when there was never one.</summary>
    public RolloutView? View()
    {
        if (Volatile.Read(ref _running) is { } running)
        {
            var (gates, overall, baseline, candidate) = Evaluate(running);
            return new RolloutView(running.Stored, running.Candidate.Id, running.Candidate.Name, running.Baseline.Id, running.Baseline.Name, running.Plan,
                running.Held ? "held" : "running", running.Active.StepIndex, new DateTimeOffset(running.Active.StepStartedTicks, TimeSpan.Zero),
                SoakRemaining(running), running.Active.Assigned.Sum(a => (long)a.Count), gates, overall,
                candidate.Actions, baseline.Actions, _store.Rollouts.Changes(running.Stored.Id));
        }
        var latest = _store.Rollouts.List(1).FirstOrDefault();
        if (latest is null)
        {
            return null;
        }
        var changes = _store.Rollouts.Changes(latest.Id);
        var (plan, _) = RolloutPlan.Parse(System.Text.Json.JsonDocument.Parse(latest.Plan).RootElement);
        var c = _store.Releases.Find(latest.CandidateRef)!;
        var b = _store.Releases.Find(latest.BaselineRef)!;
        var last = changes[^1];
        string state = last.Kind switch { "complete" => "completed", "rollback" => "rolled_back", _ => "interrupted" };
        return new RolloutView(latest, c.Id, c.Name, b.Id, b.Name, plan!, state, last.Step, new DateTimeOffset(last.AtTicks, TimeSpan.Zero), TimeSpan.Zero,
            _store.Rollouts.CountAssignments(latest.Id), [], GateStatus.Pass, 0, 0, changes);
    }

    /// <summary>The running rollout's cohort counts for its current step (what the gates compare; the dashboard charts them), or null when none runs.</summary>
    internal (long RolloutId, int Step, CohortTotals Baseline, CohortTotals Candidate)? CohortCounts()
    {
        if (Volatile.Read(ref _running) is not { } running)
        {
            return null;
        }
        var (baseline, candidate) = running.Active.Totals();
        return (running.Stored.Id, running.Active.StepIndex, baseline, candidate);
    }

    public void Dispose() => _changes.Dispose();

    [LoggerMessage(EventId = 3100, Level = LogLevel.Warning, Message = "Rollout {Id} started: candidate {Candidate} beside {Baseline}, step 0 ({Mode}, {Percent}%)")]
    private static partial void LogStarted(ILogger logger, long id, string candidate, string baseline, string mode, string percent);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning, Message = "Rollout {Id} advanced to step {Step} ({Mode}, {Percent}%) by {Actor}")]
    private static partial void LogStepped(ILogger logger, long id, int step, string mode, string percent, string actor);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Error, Message = "ALERT rollout {Id} rolled back: candidate {Candidate} by {Actor}: {Reason}")]
    private static partial void LogRolledBack(ILogger logger, long id, string candidate, string actor, string reason);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Warning, Message = "Rollout {Id} completed: {Candidate} is active at register version {Version}")]
    private static partial void LogCompleted(ILogger logger, long id, string candidate, long version);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Warning, Message = "Rollout {Id} held at step {Step}: gates inconclusive after the soak time; a person decides (advance or rollback)")]
    private static partial void LogHeld(ILogger logger, long id, int step);

    [LoggerMessage(EventId = 3105, Level = LogLevel.Information, Message = "Rollout {Id} resumed at step {Step}: candidate {Candidate}")]
    private static partial void LogResumed(ILogger logger, long id, string candidate, int step);

    [LoggerMessage(EventId = 3106, Level = LogLevel.Error, Message = "Rollout {Id}: the rollback alert webhook failed")]
    private static partial void LogAlertFailed(ILogger logger, Exception exception, long id);
}

/// <summary>What a rollback alert says (log line, metric, and the alert webhook's JSON body).</summary>
public sealed record RolloutAlert(long RolloutId, string CandidateId, string BaselineId, string Actor, string Reason, GateResult? FailedGate,
    DateTimeOffset At, int Reversed);
