using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Logging;
using Showrunner.Runtime.Audit;
using Showrunner.Storage.Audit;

namespace Showrunner.Runtime.Approvals;

/// <summary>The two-person rule's settings (<c>Showrunner:Approvals:*</c>, docs/operations.md "Approvals").</summary>
public sealed record ApprovalOptions
{
    /// <summary>Off: no request waits for approval, whatever the settings below say (a single-operator install).</summary>
    public bool Enabled { get; init; } = true;
    /// <summary>Manual grants and corrections need a second person's approval.</summary>
    public bool Grants { get; init; } = true;
    /// <summary>Activating a release to more than this percentage of players needs approval (a plain activation counts as 100); 100 turns it off.</summary>
    public int ActivationPercent { get; init; } = 50;
    /// <summary>How long a request waits for a decision.</summary>
    public TimeSpan Expiry { get; init; } = TimeSpan.FromMinutes(60);

    public const int ExpiryMinutesMin = 1;
    public const int ExpiryMinutesMax = 7 * 24 * 60;
    /// <summary>Most requests pending at once; more are refused (409 <c>approval_limit</c>) until some are decided or expire.</summary>
    public int MaxPending { get; init; } = DefaultMaxPending;

    public const int DefaultMaxPending = 1000;

    public bool GrantsNeedApproval => Enabled && Grants;

    /// <summary>Whether exposing <paramref name="percent"/> of players to a release needs approval.</summary>
    public bool ActivationNeedsApproval(int percent) => Enabled && percent > ActivationPercent;

    public IEnumerable<string> Validate()
    {
        if (ActivationPercent is < 0 or > 100)
        {
            yield return $"ActivationPercent = {ActivationPercent}: must be from 0 to 100 (100: activations never need approval).";
        }
        if (Expiry < TimeSpan.FromMinutes(ExpiryMinutesMin) || Expiry > TimeSpan.FromMinutes(ExpiryMinutesMax))
        {
            yield return $"ExpiryMinutes = {(long)Expiry.TotalMinutes}: must be from {ExpiryMinutesMin} to {ExpiryMinutesMax} (7 days).";
        }
    }
}

/// <summary>What an executor is asked to carry out: the stored request, on behalf of its requester, approved by a second person.</summary>
public sealed record ApprovalExecution(long ApprovalId, string Kind, string Subject, string Body, string RequestedBy, string ApprovedBy);

/// <summary>The answer the executed request gave: its HTTP status and JSON body (the act's result, or the problem that refused it).</summary>
public sealed record ApprovalOutcome(int Status, string Body)
{
    public bool Succeeded => Status is >= 200 and < 300;
}

/// <summary>
/// Carries out one kind of approved request. It must check the request again (the world may have
/// changed since it was made) and be idempotent. It is called with <see cref="CancellationToken.None"/>:
/// once an approval is recorded, its act runs to the end.
/// </summary>
public delegate Task<ApprovalOutcome> ApprovalExecutor(ApprovalExecution execution, CancellationToken cancellationToken);

/// <summary>
/// Carries out one approved command of a kind registered with
/// <see cref="ApprovalService.Register{TCommand}(string, JsonTypeInfo{TCommand}, ApprovalCommandHandler{TCommand})"/>: the
/// command as it was stored (read back through its contract), on behalf of <see cref="ApprovalExecution.RequestedBy"/>.
/// The same rules as <see cref="ApprovalExecutor"/> hold: check again, be idempotent, run to the end.
/// </summary>
public delegate Task<ApprovalOutcome> ApprovalCommandHandler<in TCommand>(TCommand command, ApprovalExecution execution, CancellationToken cancellationToken);

public enum ApprovalRequestStatus
{
    Created,
    /// <summary>The same request (kind, subject and body) is already pending: that one is returned.</summary>
    Existing,
    /// <summary><see cref="ApprovalOptions.MaxPending"/> requests are pending.</summary>
    LimitReached,
}

public enum DecisionStatus
{
    /// <summary>Approved and executed (the outcome may still be a refusal: status failed).</summary>
    Executed,
    Rejected,
    NotFound,
    /// <summary>The decider is the requester.</summary>
    SamePerson,
    Expired,
    /// <summary>Already approved, rejected, expired, executed or failed.</summary>
    AlreadyDecided,
    /// <summary>No executor is registered for the request's kind (written by another version).</summary>
    UnknownKind,
    /// <summary>
    /// The stored command of a typed kind cannot be read by its contract (written by another
    /// version, or damaged): nothing was decided or executed; the request can still be rejected.
    /// </summary>
    CommandUnreadable,
}

public sealed record DecisionResult(DecisionStatus Status, StoredApproval? Approval, ApprovalOutcome? Outcome = null);

/// <summary>
/// The two-person rule: a guarded request is stored instead of executed, and carried out only
/// when a different person approves it before it expires. Generic: each kind of request has an
/// executor, registered once at start with <see cref="Register"/>.
/// </summary>
/// <remarks>
/// <para>
/// Decisions are serialized (one at a time): a request is approved and executed by exactly one
/// call, and two approvers racing get one execution and one <see cref="DecisionStatus.AlreadyDecided"/>.
/// The approval is durable (status approved) before the executor runs, and the outcome after it;
/// a crash in between leaves the request approved without a result, and approving it again
/// executes it again, which is safe because executors are idempotent (a grant by its request id,
/// an activation is unchanged when already active).
/// </para>
/// <para>
/// Cancellation (the caller went away) is honoured only while waiting for the turn to decide:
/// once a decision is durable, its audit entry, the execution and its outcome run to the end, so
/// an approval is never left approved-but-unrecorded because a client disconnected.
/// </para>
/// <para>
/// Every request, approval and rejection is an audit entry (<c>approval.request</c>,
/// <c>approval.approve</c>, <c>approval.reject</c>, target the approval id); the executed act
/// records its own entry, naming both people in its details. Expiry is judged by the injected
/// clock: a pending request whose <c>expires_at</c> is past is expired, and moved to expired
/// whenever requests are read or decided.
/// </para>
/// </remarks>
public sealed partial class ApprovalService : IDisposable
{
    private readonly IApprovalStore _store;
    private readonly IAuditTrail _audit;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Dictionary<string, ApprovalExecutor> _executors = new(StringComparer.Ordinal);
    // The contract of each typed kind: what its stored command is read and written with.
    private readonly Dictionary<string, CommandFormat> _formats = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _decisions = new(1, 1);

    public ApprovalService(IApprovalStore store, IAuditTrail audit, ApprovalOptions options, TimeProvider time, ILogger<ApprovalService> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        _store = store;
        _audit = audit;
        Options = options;
        _time = time;
        _logger = logger;
    }

    public ApprovalOptions Options { get; }

    /// <summary>Registers the executor of <paramref name="kind"/> (e.g. <c>rollout.start</c>); once per kind, at start.</summary>
    public void Register(string kind, ApprovalExecutor executor)
    {
        ArgumentException.ThrowIfNullOrEmpty(kind);
        ArgumentNullException.ThrowIfNull(executor);
        lock (_executors)
        {
            if (!_executors.TryAdd(kind, executor))
            {
                throw new InvalidOperationException($"An executor for approval kind '{kind}' is already registered.");
            }
        }
    }

    /// <summary>
    /// Registers a typed kind: requests of <paramref name="kind"/> store a <typeparamref name="TCommand"/>
    /// written with <paramref name="contract"/> (its contract record: the stored text is what
    /// <c>GET /v1/approvals</c> shows as <c>request</c>), and an approval reads it back with the same
    /// contract and hands it to <paramref name="handler"/>. A stored text the contract cannot read is
    /// refused (<see cref="DecisionStatus.CommandUnreadable"/>) before anything is decided.
    /// </summary>
    public void Register<TCommand>(string kind, JsonTypeInfo<TCommand> contract, ApprovalCommandHandler<TCommand> handler)
        where TCommand : class
    {
        ArgumentNullException.ThrowIfNull(contract);
        ArgumentNullException.ThrowIfNull(handler);
        var format = new CommandFormat<TCommand>(contract);
        Register(kind, (execution, cancellationToken) =>
        {
            // Read (and so checked) before the decision: see ApproveAsync.
            var command = format.Read(execution.Body) ?? throw new InvalidOperationException($"Approval {execution.ApprovalId}: its command became unreadable.");
            return handler(command, execution, cancellationToken);
        });
        lock (_executors)
        {
            _formats.Add(kind, format);
        }
    }

    /// <summary>The stored text of <paramref name="command"/> for a typed <paramref name="kind"/>: what <see cref="RequestAsync{TCommand}"/> stores and compares.</summary>
    public string CommandText<TCommand>(string kind, TCommand command) where TCommand : class => FormatOf<TCommand>(kind).Write(command);

    /// <summary>
    /// Stores a typed command as a pending request (<see cref="RequestAsync(string, string, string, string, string, string?, CancellationToken)"/>),
    /// written with the contract registered for <paramref name="kind"/>.
    /// </summary>
    public Task<(ApprovalRequestStatus Status, StoredApproval? Approval)> RequestAsync<TCommand>(string kind, string subject, string path, TCommand command,
        string requestedBy, string? reason, CancellationToken cancellationToken = default) where TCommand : class =>
        RequestAsync(kind, subject, path, CommandText(kind, command), requestedBy, reason, cancellationToken);

    private CommandFormat<TCommand> FormatOf<TCommand>(string kind) where TCommand : class
    {
        lock (_executors)
        {
            return _formats.TryGetValue(kind, out var format) && format is CommandFormat<TCommand> typed
                ? typed
                : throw new InvalidOperationException($"Approval kind '{kind}' is not registered with a {typeof(TCommand).Name} contract.");
        }
    }

    /// <summary>
    /// Stores a pending request, unless the same one (kind, subject and body) is already pending,
    /// and records <c>approval.request</c>. <paramref name="body"/> is the request as it will be
    /// executed (compact JSON the kind's executor reads).
    /// </summary>
    public async Task<(ApprovalRequestStatus Status, StoredApproval? Approval)> RequestAsync(string kind, string subject, string path, string body,
        string requestedBy, string? reason, CancellationToken cancellationToken = default)
    {
        lock (_executors)
        {
            if (!_executors.ContainsKey(kind))
            {
                throw new InvalidOperationException($"No executor is registered for approval kind '{kind}'.");
            }
        }
        await _decisions.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = _time.GetUtcNow();
            _store.ExpireDue(now.UtcTicks);
            if (_store.FindPending(kind, subject).FirstOrDefault(p => p.Body == body && p.RequestedBy == requestedBy) is { } existing)
            {
                return (ApprovalRequestStatus.Existing, existing);
            }
            if (_store.CountPending() >= Options.MaxPending)
            {
                return (ApprovalRequestStatus.LimitReached, null);
            }
            var stored = _store.Insert(new StoredApproval(0, kind, subject, path, body, requestedBy, reason, now.UtcTicks, (now + Options.Expiry).UtcTicks,
                ApprovalStatuses.Pending));
            await _audit.RecordAsync(new AuditRecord(requestedBy, "approval.request", Id(stored), null, ApprovalStatuses.Pending, reason,
                AuditDetails.Of(w =>
                {
                    w.WriteString("kind", kind);
                    w.WriteString("subject", subject);
                    w.WriteString("path", path);
                    w.WriteString("expires_at", Core.Actions.Rfc3339.Format(stored.ExpiresAtTicks));
                })), CancellationToken.None).ConfigureAwait(false);
            LogRequested(_logger, stored.Id, kind, subject, requestedBy);
            return (ApprovalRequestStatus.Created, stored);
        }
        finally
        {
            _decisions.Release();
        }
    }

    /// <summary>The request with this id (expired if its time is past), or null.</summary>
    public StoredApproval? Find(long id)
    {
        _store.ExpireDue(_time.GetUtcNow().UtcTicks);
        return _store.Find(id);
    }

    /// <summary>Requests newest first (expired ones shown as expired).</summary>
    public IReadOnlyList<StoredApproval> List(int limit, long? beforeId, string? status)
    {
        _store.ExpireDue(_time.GetUtcNow().UtcTicks);
        return _store.List(limit, beforeId, status);
    }

    /// <summary>Pending requests of this kind and subject.</summary>
    public IReadOnlyList<StoredApproval> FindPending(string kind, string subject)
    {
        _store.ExpireDue(_time.GetUtcNow().UtcTicks);
        return _store.FindPending(kind, subject);
    }

    /// <summary>
    /// Approves request <paramref name="id"/> by <paramref name="approver"/> (who must not be its
    /// requester) and executes it on behalf of the requester. The caller has checked that the
    /// approver may approve (the approver role).
    /// </summary>
    public async Task<DecisionResult> ApproveAsync(long id, string approver, string? reason, CancellationToken cancellationToken = default)
    {
        await _decisions.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var (refusal, request) = Check(id, approver, allowUnfinished: true);
            if (refusal is not null)
            {
                return refusal;
            }
            ApprovalExecutor? executor;
            lock (_executors)
            {
                _executors.TryGetValue(request!.Kind, out executor);
            }
            if (executor is null)
            {
                return new DecisionResult(DecisionStatus.UnknownKind, request);
            }
            CommandFormat? format;
            lock (_executors)
            {
                _formats.TryGetValue(request.Kind, out format);
            }
            if (format is not null && !format.CanRead(request.Body))
            {
                LogUnreadable(_logger, id, request.Kind);
                return new DecisionResult(DecisionStatus.CommandUnreadable, request);
            }
            long now = _time.GetUtcNow().UtcTicks;
            if (request.Status == ApprovalStatuses.Pending)
            {
                if (!_store.TryDecide(id, ApprovalStatuses.Pending, ApprovalStatuses.Approved, approver, now, reason))
                {
                    return new DecisionResult(DecisionStatus.AlreadyDecided, _store.Find(id));
                }
                await _audit.RecordAsync(new AuditRecord(approver, "approval.approve", Id(request), ApprovalStatuses.Pending, ApprovalStatuses.Approved, reason,
                    Details(request)), CancellationToken.None).ConfigureAwait(false);
            }
            else
            {
                // Approved earlier, and the execution did not complete (the server stopped): run it again.
                approver = request.DecidedBy ?? approver;
                LogResumed(_logger, id, request.Kind);
            }
            var outcome = await executor(new ApprovalExecution(id, request.Kind, request.Subject, request.Body, request.RequestedBy, approver),
                CancellationToken.None).ConfigureAwait(false);
            string final = outcome.Succeeded ? ApprovalStatuses.Executed : ApprovalStatuses.Failed;
            if (!_store.TryComplete(id, final, outcome.Status, outcome.Body))
            {
                throw new InvalidOperationException($"Approval request {id} was no longer approved when its outcome was recorded.");
            }
            LogExecuted(_logger, id, request.Kind, final, outcome.Status, approver);
            return new DecisionResult(DecisionStatus.Executed, _store.Find(id), outcome);
        }
        finally
        {
            _decisions.Release();
        }
    }

    /// <summary>Rejects request <paramref name="id"/>: nothing is executed.</summary>
    public async Task<DecisionResult> RejectAsync(long id, string decider, string? reason, CancellationToken cancellationToken = default)
    {
        await _decisions.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var (refusal, request) = Check(id, decider, allowUnfinished: false);
            if (refusal is not null)
            {
                return refusal;
            }
            if (!_store.TryDecide(id, ApprovalStatuses.Pending, ApprovalStatuses.Rejected, decider, _time.GetUtcNow().UtcTicks, reason))
            {
                return new DecisionResult(DecisionStatus.AlreadyDecided, _store.Find(id));
            }
            await _audit.RecordAsync(new AuditRecord(decider, "approval.reject", Id(request!), ApprovalStatuses.Pending, ApprovalStatuses.Rejected, reason,
                Details(request!)), CancellationToken.None).ConfigureAwait(false);
            LogRejected(_logger, id, request!.Kind, decider);
            return new DecisionResult(DecisionStatus.Rejected, _store.Find(id));
        }
        finally
        {
            _decisions.Release();
        }
    }

    private (DecisionResult? Refusal, StoredApproval? Request) Check(long id, string decider, bool allowUnfinished)
    {
        long now = _time.GetUtcNow().UtcTicks;
        _store.ExpireDue(now);
        var request = _store.Find(id);
        if (request is null)
        {
            return (new DecisionResult(DecisionStatus.NotFound, null), null);
        }
        if (request.RequestedBy == decider)
        {
            return (new DecisionResult(DecisionStatus.SamePerson, request), request);
        }
        bool unfinished = allowUnfinished && request.Status == ApprovalStatuses.Approved;
        if (request.Status == ApprovalStatuses.Expired)
        {
            return (new DecisionResult(DecisionStatus.Expired, request), request);
        }
        if (request.Status != ApprovalStatuses.Pending && !unfinished)
        {
            return (new DecisionResult(DecisionStatus.AlreadyDecided, request), request);
        }
        return (null, request);
    }

    private static string Details(StoredApproval request) => AuditDetails.Of(w =>
    {
        w.WriteString("kind", request.Kind);
        w.WriteString("subject", request.Subject);
        w.WriteString("requested_by", request.RequestedBy);
    });

    /// <summary>How an approval is named in the audit log: its id in decimal.</summary>
    public static string Id(StoredApproval approval) => approval.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public void Dispose() => _decisions.Dispose();

    /// <summary>How a typed kind's command is stored: its contract, strict on reading (an unknown or malformed text is unreadable, never half-read).</summary>
    private abstract class CommandFormat
    {
        public abstract bool CanRead(string text);
    }

    private sealed class CommandFormat<TCommand>(JsonTypeInfo<TCommand> contract) : CommandFormat where TCommand : class
    {
        public string Write(TCommand command) => JsonSerializer.Serialize(command, contract);

        public TCommand? Read(string text)
        {
            try
            {
                return JsonSerializer.Deserialize(text, contract);
            }
            catch (JsonException)
            {
                // Unreadable is an expected outcome (a text of another version): the caller refuses it with a code.
                return null;
            }
        }

        public override bool CanRead(string text) => Read(text) is not null;
    }

    [LoggerMessage(EventId = 6100, Level = LogLevel.Information, Message = "Approval {Id} requested: {Kind} {Subject} by {RequestedBy}")]
    private static partial void LogRequested(ILogger logger, long id, string kind, string subject, string requestedBy);

    [LoggerMessage(EventId = 6101, Level = LogLevel.Information, Message = "Approval {Id} ({Kind}) approved by {Approver}: {Outcome} ({Status})")]
    private static partial void LogExecuted(ILogger logger, long id, string kind, string outcome, int status, string approver);

    [LoggerMessage(EventId = 6102, Level = LogLevel.Information, Message = "Approval {Id} ({Kind}) rejected by {Decider}")]
    private static partial void LogRejected(ILogger logger, long id, string kind, string decider);

    [LoggerMessage(EventId = 6103, Level = LogLevel.Warning, Message = "Approval {Id} ({Kind}) was approved but its execution did not complete; executing it again")]
    private static partial void LogResumed(ILogger logger, long id, string kind);

    [LoggerMessage(EventId = 6104, Level = LogLevel.Warning, Message = "Approval {Id} ({Kind}): its stored command cannot be read by this version's contract; not executed")]
    private static partial void LogUnreadable(ILogger logger, long id, string kind);
}
