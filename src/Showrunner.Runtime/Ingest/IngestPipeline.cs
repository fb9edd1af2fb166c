using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Showrunner.Core.Actions;
using Showrunner.Core.LiveEvents;
using Showrunner.Core.Partitioning;
using Showrunner.Runtime.LiveEvents;
using Showrunner.Runtime.Observability;
using Showrunner.Runtime.Partitions;
using Showrunner.Storage;

namespace Showrunner.Runtime.Ingest;

/// <summary>
/// The ingest pipeline after validation: admission (bounded inboxes), deduplication, routing to
/// the partition executors, group commit, and the answer — given only once every accepted action
/// of the batch is durably committed. Built on the generic <see cref="PartitionHost"/> with live
/// events as its first module (<see cref="LiveModule"/>); the facade keeps the API the server,
/// the services and the tests were written against (docs/internals/runtime.md, "The live module").
/// </summary>
/// <remarks>
/// Order of a submission (docs/internals/ingest.md explains each step):
/// <list type="number">
/// <item>Refuse unless ready (503, nothing applied).</item>
/// <item>Reserve room for every valid action in its partition's inbox; refuse the whole batch if any inbox is full (503, nothing applied).</item>
/// <item>Register each id in the in-flight registry; an id already in flight waits for that delivery's outcome.</item>
/// <item>Probe the store for the registered ids: stored ones are duplicates (same content) or conflicts.</item>
/// <item>Hand the new actions, grouped by partition, to the executors; wait for the commit.</item>
/// </list>
/// </remarks>
public sealed partial class IngestPipeline : IAsyncDisposable
{
    private readonly IngestOptions _options;
    private readonly IActionStore _store;
    private readonly ILogger _logger;
    private readonly PartitionRouter _router;
    private readonly PartitionHost _host;
    private readonly LiveModule _live;
    private readonly Partition[] _partitions;
    private readonly InFlightRegistry _registry;
    private readonly ConcurrentDictionary<string, long> _rejectedByCode = new(StringComparer.Ordinal);
    private readonly DateTimeOffset _since;
    private long _duplicates;
    private long _rejected;
    private long _overloaded;
    private RuntimeRelease? _activeRelease;
    private Rollouts.ActiveRollout? _activeRollout;
    private readonly StampClock _stamps;
    private RunControls _controls = RunControls.None;

    public IngestPipeline(IngestOptions options, IActionStore store, TimeProvider time, ILogger<IngestPipeline> logger, ShowrunnerMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid ingest options: " + string.Join(" ", errors), nameof(options));
        }
        _options = options;
        _store = store;
        _logger = logger;
        _since = time.GetUtcNow();
        _router = new PartitionRouter(options.PartitionCount);
        _stamps = new StampClock(time);
        _host = new PartitionHost(options.ToHostOptions(), store, time, logger, metrics);
        _live = new LiveModule(this, store, time, options.PartitionCount);
        _host.AddModule(_live);
        _partitions = _live.Partitions;
        _registry = _live.Registry;
    }

    /// <summary>
    /// The partition host under the pipeline. Another module may be added to it before
    /// <see cref="StartAsync"/> (<see cref="PartitionHost.AddModule"/>): it then shares the
    /// executors, the group commit, supervision and readiness with live events.
    /// </summary>
    public PartitionHost Host => _host;

    public RuntimeState State => _host.State;

    /// <summary>The host's instruments: the pipeline's stages record into them, and so do the components built on the pipeline (signer, rollouts).</summary>
    internal ShowrunnerMetrics Metrics => _host.Metrics;

    /// <summary>The release in force on every partition (the last one switched to), or null.</summary>
    public RuntimeRelease? ActiveRelease => Volatile.Read(ref _activeRelease);
    public int PartitionCount => _partitions.Length;

    /// <summary>Rebuilds every module's state from the store and starts the executors and the committer.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _host.StartAsync(cancellationToken).ConfigureAwait(false);
        var report = _live.FirstLoad!;
        LastLoad = report;
        LogLiveLoaded(_logger, report.Players, report.ReplayedActions, report.LedgerEntries, (long)report.Elapsed.TotalMilliseconds);
        LogReady(_logger, _partitions.Length, _host.ExecutorCount, _partitions.Sum(p => p.CommittedHead));
    }

    /// <summary>Runs another durable write on the store's single writer thread, between group commits.</summary>
    internal Task<T> RunOnWriterAsync<T>(Func<T> work) => _host.RunOnWriterAsync(work);

    /// <summary>
    /// Like <see cref="RunOnWriterAsync"/>, for a write that in-memory state already relies on (an
    /// operator's run controls are in force before their record is durable): if it throws or
    /// returns false, the committer faults before it takes another group, and the runtime reloads
    /// everything from the store, so no action committed after it was counted under controls the
    /// store does not hold.
    /// </summary>
    internal Task<bool> RunOnWriterOrFailStopAsync(Func<bool> work) =>
        _host.RunOnWriterOrFailStopAsync(work, "A run transition was already recorded by another writer.");

    /// <summary>Reads the operator controls in force from the store (the live module's load, before its partitions are rebuilt).</summary>
    internal void LoadControls()
    {
        EventFlags = [.. _store.Rollouts.Flags().Where(f => f.Kind == "event").Select(f => new EventFlag(f.Target, f.Enabled, f.AtTicks))];
        PublishControls(RunControls.From(_store.Runs.Load().Select(LifecycleCoordinator.FromStored), EventFlags));
    }

    /// <summary>Every recorded flip of an event kill switch, in order (part of <see cref="Controls"/>). Written under the lifecycle coordinator's lock.</summary>
    internal IReadOnlyList<EventFlag> EventFlags { get; set; } = [];

    /// <summary>What the last load of live state (at start or after a failed write) did.</summary>
    public LiveLoadReport? LastLoad { get; private set; }

    /// <summary>Operator pauses and cancels in force; every executor reads it for each action.</summary>
    internal RunControls Controls => Volatile.Read(ref _controls);

    /// <summary>Total grants durably committed since start.</summary>
    public long CommittedGrants => _live.CommittedGrants;

    /// <summary>Raised (on the committer thread, must not block) after a commit that enqueued grant deliveries.</summary>
    public event Action? GrantsCommitted
    {
        add => _live.GrantsCommitted += value;
        remove => _live.GrantsCommitted -= value;
    }

    /// <summary>The ingest stamp clock's reading: every batch stamped from now on gets at least this.</summary>
    internal long StampNow => _stamps.Now;

    /// <summary>The smallest ingest stamp of a batch still in flight, or null.</summary>
    internal long? OldestInFlightStamp => _stamps.OldestInFlight;

    /// <summary>
    /// Takes an operator decision at an ingest stamp T above every stamp handed out so far, with no
    /// batch stamped meanwhile: <paramref name="decide"/> publishes the new controls (in force for
    /// every batch stamped from now on) and queues their durable record on the writer, which runs
    /// before any later-stamped action commits (the group committer runs exclusive work first).
    /// </summary>
    internal T DecideAtStamp<T>(Func<long, T> decide) => _stamps.Decide(decide);

    /// <summary>Puts new operator controls in force (inside <see cref="DecideAtStamp"/>, or before start).</summary>
    internal void PublishControls(RunControls controls) => Volatile.Write(ref _controls, controls);

    internal RuntimeRelease? ReleaseInForce(long releaseRef)
    {
        foreach (var partition in _partitions)
        {
            if (partition.Rules?.Ref == releaseRef)
            {
                return partition.Rules;
            }
            if (partition.Rollout?.Candidate.Ref == releaseRef)
            {
                return partition.Rollout.Candidate;
            }
        }
        return null;
    }

    /// <summary>Routes players to partitions: the same function as <see cref="PartitionHost.PartitionOf"/> for module "live".</summary>
    public PartitionRouter Router => _router;

    /// <summary>Every partition's durably committed ledger head, indexed by partition.</summary>
    internal LedgerCommitted[] CommittedLedgerHeads() => [.. _partitions.Select(p => p.CommittedLedger)];

    /// <summary>
    /// Runs <paramref name="work"/> on the executor of partition <paramref name="partition"/>,
    /// behind every action already queued there. It may read the partition's live state and return
    /// grants to append to its ledger; the task completes once those are durably committed.
    /// </summary>
    internal Task<T> OnPartitionAsync<T>(int partition, Func<Partition, (T Result, IReadOnlyList<PendingGrant> Grants)> work) =>
        _host.ExecuteAsync(LiveModule.ModuleName, partition, (state, group) =>
        {
            var target = (Partition)state;
            var (result, grants) = work(target);
            _live.AppendGrants(target, grants, group);
            return (result, grants.Count > 0);
        });

    /// <summary>Reads the live state of one partition on its executor (the state includes actions being committed).</summary>
    internal Task<T> ReadPartitionAsync<T>(int partition, Func<Partition, T> read) =>
        _host.ReadAsync(LiveModule.ModuleName, partition, state => read((Partition)state));

    /// <summary>Reads every partition's live state on its executor; results are indexed by partition.</summary>
    internal Task<T[]> ReadAllAsync<T>(Func<Partition, T> read) =>
        _host.ReadAllAsync(LiveModule.ModuleName, state => read((Partition)state));

    /// <summary>Completes once everything every executor sequenced before the call is durably committed (groups of an executor commit in order).</summary>
    internal Task FlushAsync() => _host.FlushAsync();

    /// <summary>Writes a snapshot of every changed partition and waits until it is durable (a clean stop leaves no log to replay).</summary>
    internal Task SnapshotAllAsync() => _host.SnapshotAllAsync();

    /// <summary>
    /// Puts <paramref name="release"/> in force on every partition and returns once it is: every
    /// action sequenced after this returns is checked by, and records, the new release; every action
    /// sequenced before it, the old one. Callers serialize switches (the release register does).
    /// </summary>
    /// <remarks>
    /// Before the pipeline starts, the release is set directly. Once it runs, a fence goes through
    /// each executor's inbox behind the work already queued, so no partition ever sees the old
    /// release after the call returns and none sees the new one before the call began.
    /// </remarks>
    public async Task SwitchReleaseAsync(RuntimeRelease? release)
    {
        await _host.FenceAsync(LiveModule.ModuleName, state => ((Partition)state).Rules = release).ConfigureAwait(false);
        Volatile.Write(ref _activeRelease, release);
    }

    /// <summary>The rollout in force on every partition (the last one switched to), or null.</summary>
    internal Rollouts.ActiveRollout? ActiveRollout => Volatile.Read(ref _activeRollout);

    /// <summary>
    /// Puts <paramref name="rollout"/> (or none) in force on every partition and returns once it is,
    /// like <see cref="SwitchReleaseAsync"/>: no action sequenced after the call returns is evaluated
    /// under the previous rollout (after a rollback: no candidate grant follows).
    /// </summary>
    internal async Task SwitchRolloutAsync(Rollouts.ActiveRollout? rollout)
    {
        await _host.FenceAsync(LiveModule.ModuleName, state => ((Partition)state).Rollout = rollout).ConfigureAwait(false);
        Volatile.Write(ref _activeRollout, rollout);
    }

    /// <summary>Submits one parsed batch. Results come back in request order.</summary>
    public async Task<SubmitOutcome> SubmitAsync(BatchItem[] items)
    {
        ArgumentNullException.ThrowIfNull(items);
        _host.EnterSubmission();
        using var span = ShowrunnerActivities.Source.StartActivity(ShowrunnerActivities.Spans.Route);
        if (span is not null && items.Length > 0)
        {
            span.SetTag(ShowrunnerActivities.Tags.ActionId, items[0].Id);
            span.SetTag(ShowrunnerActivities.Tags.ActionCount, items.Length);
        }
        try
        {
            var state = State;
            if (state != RuntimeState.Ready)
            {
                span?.SetTag(ShowrunnerActivities.Tags.Outcome, "not_ready");
                return new SubmitOutcome(SubmitStatus.NotReady, null, _options.RetryAfter,
                    state == RuntimeState.Recovering ? "The server is reloading its state after a failed write." : $"The server is {state.ToString().ToLowerInvariant()}.");
            }
            var outcome = await SubmitReadyAsync(items, span).ConfigureAwait(false);
            if (span is not null)
            {
                Describe(span, outcome);
            }
            return outcome;
        }
        finally
        {
            _host.ExitSubmission();
        }
    }

    private static void Describe(Activity span, SubmitOutcome outcome)
    {
        span.SetTag(ShowrunnerActivities.Tags.Outcome, outcome.Status switch
        {
            SubmitStatus.Completed => "completed",
            SubmitStatus.Overloaded => "overloaded",
            SubmitStatus.NotReady => "not_ready",
            SubmitStatus.Faulted => "faulted",
            _ => "store_failed",
        });
        if (outcome.Results is { } results)
        {
            int accepted = 0, duplicates = 0, rejected = 0;
            foreach (var result in results)
            {
                switch (result.Status)
                {
                    case ActionStatus.Accepted: accepted++; break;
                    case ActionStatus.Duplicate: duplicates++; break;
                    default: rejected++; break;
                }
            }
            span.SetTag(ShowrunnerActivities.Tags.Accepted, accepted);
            span.SetTag(ShowrunnerActivities.Tags.Duplicates, duplicates);
            span.SetTag(ShowrunnerActivities.Tags.Rejected, rejected);
        }
        else
        {
            span.SetStatus(ActivityStatusCode.Error, outcome.Message);
        }
    }

    private async Task<SubmitOutcome> SubmitReadyAsync(BatchItem[] items, Activity? span)
    {
        var results = new ActionResult[items.Length];
        int[] partitionOf = new int[items.Length];
        // 1. Admission: reserve inbox room for every valid action, all or nothing.
        var reserved = new Dictionary<int, int>();
        for (int i = 0; i < items.Length; i++)
        {
            var item = items[i];
            if (item.Action is null)
            {
                results[i] = new ActionResult(item.Id, ActionStatus.Rejected, 0, -1, item.Rejection);
                continue;
            }
            int partition = _router.PartitionOf(item.Action.Player);
            partitionOf[i] = partition;
            reserved[partition] = reserved.GetValueOrDefault(partition) + 1;
        }
        span?.SetTag(ShowrunnerActivities.Tags.PartitionCount, reserved.Count);
        foreach (var (partition, count) in reserved)
        {
            if (!_host.TryReserve(partition, count))
            {
                foreach (var (undo, undoCount) in reserved)
                {
                    if (undo == partition)
                    {
                        break;
                    }
                    _host.ReleaseReserved(undo, undoCount);
                }
                Interlocked.Increment(ref _overloaded);
                return new SubmitOutcome(SubmitStatus.Overloaded, null, _options.RetryAfter,
                    $"Partition {partition} has no room for {count} more actions (capacity {_options.PartitionInboxCapacity}); nothing of the batch was applied.");
            }
        }

        long stamp = _stamps.Begin();
        try
        {
            return await SubmitStampedAsync(items, results, partitionOf, stamp).ConfigureAwait(false);
        }
        finally
        {
            _stamps.End(stamp);
        }
    }

    private async Task<SubmitOutcome> SubmitStampedAsync(BatchItem[] items, ActionResult[] results, int[] partitionOf, long stamp)
    {
        var batch = new IngestBatch(results, stamp);
        // 2. Register ids; an id already in flight (this batch or another) waits for its holder.
        var mine = new List<(int Index, InFlightEntry Entry)>(items.Length);
        List<(int Index, InFlightEntry Holder)>? waits = null;
        for (int i = 0; i < items.Length; i++)
        {
            var action = items[i].Action;
            if (action is null)
            {
                continue;
            }
            var entry = new InFlightEntry(action, partitionOf[i]);
            var holder = _registry.TryRegister(entry);
            if (holder is null)
            {
                mine.Add((i, entry));
                continue;
            }
            _host.ReleaseReserved(partitionOf[i], 1);
            if (holder.Action.SameContentAs(action))
            {
                (waits ??= []).Add((i, holder));
            }
            else
            {
                results[i] = Conflict(action.Id);
            }
        }

        // 3. Probe the store for the ids this batch holds.
        var found = new Dictionary<string, ActionRecord>(StringComparer.Ordinal);
        try
        {
            _store.FindMany(mine.ConvertAll(m => m.Entry.Action.Id), found);
        }
        catch (Exception exception)
        {
            // Nothing was handed to an executor yet: undo everything this batch holds.
            foreach (var (_, entry) in mine)
            {
                _host.ReleaseReserved(entry.Partition, 1);
                entry.Complete(new InFlightOutcome(InFlightOutcomeKind.Failed, 0, 0));
                _registry.Remove(entry);
            }
            LogProbeFailed(_logger, exception);
            return new SubmitOutcome(SubmitStatus.StoreFailed, null, _options.RetryAfter, "The store could not be read.");
        }
        var fresh = new List<(int Index, InFlightEntry Entry)>(mine.Count);
        foreach (var (index, entry) in mine)
        {
            if (!found.TryGetValue(entry.Action.Id, out var stored))
            {
                fresh.Add((index, entry));
                continue;
            }
            _host.ReleaseReserved(entry.Partition, 1);
            if (entry.Action.SameContentAs(stored.Player, stored.Type, stored.AtTicks, stored.Data))
            {
                results[index] = new ActionResult(entry.Action.Id, ActionStatus.Duplicate, stored.Seq, stored.Partition, null);
                entry.Complete(new InFlightOutcome(InFlightOutcomeKind.Stored, stored.Partition, stored.Seq));
            }
            else
            {
                results[index] = Conflict(entry.Action.Id);
                entry.Complete(new InFlightOutcome(InFlightOutcomeKind.Conflict, 0, 0));
            }
            _registry.Remove(entry);
        }

        // 4. Route the new actions, grouped by partition, to their executors.
        var units = new Dictionary<int, (List<InFlightEntry> Entries, List<int> Indexes)>();
        foreach (var (index, entry) in fresh)
        {
            if (!units.TryGetValue(entry.Partition, out var unit))
            {
                unit = ([], []);
                units[entry.Partition] = unit;
            }
            unit.Entries.Add(entry);
            unit.Indexes.Add(index);
        }
        batch.Expect(units.Count);
        // The units carry the route span's context to the executor and committer threads (only when someone listens).
        var trace = ShowrunnerActivities.Source.HasListeners() && Activity.Current is { } current ? current.Context : default;
        long enqueuedAt = Metrics.QueueWait.Enabled ? Stopwatch.GetTimestamp() : 0;
        foreach (var (partition, unit) in units)
        {
            _host.Enqueue(new WorkUnit(_live, batch, _partitions[partition], [.. unit.Entries], [.. unit.Indexes]) { Trace = trace, EnqueuedAt = enqueuedAt });
        }

        // 5. Wait for the durable commit, then for any id this batch found in flight elsewhere.
        // Bounded: a partition that stops answering (readiness reports it) never holds its senders forever.
        try
        {
            await batch.Done.WaitAsync(_options.AnswerTimeout).ConfigureAwait(false);
        }
        catch (StoreWriteException exception)
        {
            return new SubmitOutcome(SubmitStatus.StoreFailed, null, _options.RetryAfter, exception.Message);
        }
        catch (ExecutorFaultException exception)
        {
            return new SubmitOutcome(SubmitStatus.Faulted, null, _options.RetryAfter, exception.Message);
        }
        catch (TimeoutException)
        {
            return new SubmitOutcome(SubmitStatus.StoreFailed, null, _options.RetryAfter, NoAnswerMessage());
        }
        if (waits is not null)
        {
            foreach (var (index, holder) in waits)
            {
                InFlightOutcome outcome;
                try
                {
                    outcome = await holder.WaitAsync().WaitAsync(_options.AnswerTimeout).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    return new SubmitOutcome(SubmitStatus.StoreFailed, null, _options.RetryAfter, NoAnswerMessage());
                }
                switch (outcome.Kind)
                {
                    case InFlightOutcomeKind.Stored:
                        results[index] = new ActionResult(holder.Action.Id, ActionStatus.Duplicate, outcome.Seq, outcome.Partition, null);
                        break;
                    case InFlightOutcomeKind.Conflict:
                        results[index] = Conflict(holder.Action.Id);
                        break;
                    case InFlightOutcomeKind.Rejected:
                        results[index] = new ActionResult(holder.Action.Id, ActionStatus.Rejected, 0, -1, outcome.Rejection);
                        break;
                    default:
                        return new SubmitOutcome(SubmitStatus.StoreFailed, null, _options.RetryAfter,
                            $"A concurrent delivery of id '{holder.Action.Id}' failed to commit; retry the batch.");
                }
            }
        }
        Count(results);
        return SubmitOutcome.Completed(results);
    }

    private string NoAnswerMessage() =>
        $"The batch's partitions gave no answer within {_options.AnswerTimeout.TotalSeconds:0} s; its actions may still commit.";

    private static ActionResult Conflict(string id) => new(id, ActionStatus.Rejected, 0, -1,
        new ActionRejection(RejectionCodes.IdConflict, "This id was already used for an action with different content (player, type, at or data).", "id"));

    private void Count(ActionResult[] results)
    {
        long accepted = 0, duplicates = 0;
        foreach (var result in results)
        {
            switch (result.Status)
            {
                case ActionStatus.Accepted:
                    accepted++;
                    break;
                case ActionStatus.Duplicate:
                    duplicates++;
                    Interlocked.Increment(ref _duplicates);
                    break;
                case ActionStatus.Rejected:
                    Interlocked.Increment(ref _rejected);
                    _rejectedByCode.AddOrUpdate(result.Rejection!.Code, 1, static (_, n) => n + 1);
                    Metrics.ActionsRejected.Add(1, new KeyValuePair<string, object?>("code", result.Rejection.Code));
                    break;
            }
        }
        // One measurement per batch and outcome, not per action.
        if (accepted > 0)
        {
            Metrics.ActionsAccepted.Add(accepted);
        }
        if (duplicates > 0)
        {
            Metrics.ActionsDuplicates.Add(duplicates);
        }
    }

    /// <summary>Counts a batch that was refused whole before it reached the pipeline (malformed body, too large).</summary>
    public void CountRefusedBatch(string code) => _rejectedByCode.AddOrUpdate("batch:" + code, 1, static (_, n) => n + 1);

    /// <summary>The stored action with this id, or null. Only committed (acknowledged or acknowledgeable) actions are visible.</summary>
    public ActionRecord? Find(string id) => _store.Find(id);

    public IngestStats GetStats()
    {
        long accepted = 0;
        foreach (var partition in _partitions)
        {
            accepted += partition.CommittedHead;
        }
        var byCode = new SortedDictionary<string, long>(_rejectedByCode, StringComparer.Ordinal);
        return new IngestStats(accepted, Interlocked.Read(ref _duplicates), Interlocked.Read(ref _rejected), byCode,
            Interlocked.Read(ref _overloaded), _partitions.Length, State.ToString().ToLowerInvariant(), _since);
    }

    /// <summary>Totals of the inboxes and the committer, for diagnostics and metrics.</summary>
    public (int InboxActions, int InFlightIds, long Commits, long CommittedActions) GetPipelineGauges() =>
        (_host.InboxItems, _registry.Count, _host.Commits, _live.CommittedActions);

    /// <summary>Test hook: runs on the executor's thread before each work unit (throw or block to simulate a bug). Null in production.</summary>
    internal Action<WorkUnit>? FaultInjection
    {
        get => _faultInjection;
        set
        {
            _faultInjection = value;
            _host.FaultInjection = value is null ? null : work =>
            {
                if (work is WorkUnit unit)
                {
                    value(unit);
                }
            };
        }
    }

    private Action<WorkUnit>? _faultInjection;

    /// <summary>The in-flight registry (work units leave it when answered).</summary>
    internal InFlightRegistry Registry => _registry;

    /// <summary>
    /// Whether the runtime can take work now, and if not, why: not started or recovering; a
    /// stopped executor (its partitions reload); an executor whose oldest work waited longer than
    /// <see cref="IngestOptions.StallAfter"/>; a durable commit running longer than that; or a
    /// worker whose loop has ended. <c>/readyz</c> reports it.
    /// </summary>
    public Readiness CheckReadiness() => _host.CheckReadiness();

    /// <summary>Waits for a recovery in progress, if any (tests use it).</summary>
    internal Task RecoveryTask => _host.RecoveryTask;

    /// <summary>Tests stop without the final snapshot, as a crash would, so that the next start replays the log tail.</summary>
    internal bool SkipFinalSnapshotForTests
    {
        get => _host.SkipFinalSnapshotForTests;
        set => _host.SkipFinalSnapshotForTests = value;
    }

    /// <summary>
    /// Stops the pipeline: drains, writes the final snapshots, stops the executors and the
    /// committer (<see cref="PartitionHost.DisposeAsync"/>). Both the host (on stop) and the service
    /// container dispose the pipeline; every caller returns only once the one disposal has finished.
    /// </summary>
    public ValueTask DisposeAsync() => _host.DisposeAsync();

    /// <summary>
    /// True when the stop ended with a durable write still running (a disk that does not answer):
    /// the store must not be closed under it; the host ends the process instead (as safe as a crash).
    /// </summary>
    public bool CommitterStuck => _host.CommitterStuck;

    [LoggerMessage(EventId = 1000, Level = LogLevel.Information,
        Message = "Ingest ready: {PartitionCount} partitions on {ExecutorCount} executors, {ActionCount} actions in the log")]
    private static partial void LogReady(ILogger logger, int partitionCount, int executorCount, long actionCount);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Information,
        Message = "Live state loaded: {PlayerCount} players from snapshots, {ReplayedCount} actions replayed, {EntryCount} ledger entries, in {ElapsedMs} ms")]
    private static partial void LogLiveLoaded(ILogger logger, long playerCount, long replayedCount, long entryCount, long elapsedMs);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Error, Message = "The deduplication probe could not read the store")]
    private static partial void LogProbeFailed(ILogger logger, Exception exception);
}
