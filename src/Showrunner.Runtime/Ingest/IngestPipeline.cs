using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Showrunner.Core.Actions;
using Showrunner.Core.LiveEvents;
using Showrunner.Core.Partitioning;
using Showrunner.Runtime.LiveEvents;
using Showrunner.Runtime.Observability;
using Showrunner.Storage;

namespace Showrunner.Runtime.Ingest;

/// <summary>
/// The ingest pipeline after validation: admission (bounded inboxes), deduplication, routing to
/// the partition executors, group commit, and the answer — given only once every accepted action
/// of the batch is durably committed.
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
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly PartitionRouter _router;
    private readonly Partition[] _partitions;
    private readonly PartitionExecutor[] _executors;
    private readonly GroupCommitter _committer;
    private readonly InFlightRegistry _registry = new();
    private readonly ConcurrentDictionary<string, long> _rejectedByCode = new(StringComparer.Ordinal);
    private readonly DateTimeOffset _since;
    private int _state = (int)RuntimeState.Starting;
    private int _activeSubmissions;
    private long _duplicates;
    private long _rejected;
    private long _overloaded;
    private Task? _recovery;
    private RuntimeRelease? _activeRelease;
    private Rollouts.ActiveRollout? _activeRollout;
    private bool _started;
    private readonly StampClock _stamps;
    private RunControls _controls = RunControls.None;
    private long _sequenced;

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
        _time = time;
        _logger = logger;
        _since = time.GetUtcNow();
        _router = new PartitionRouter(options.PartitionCount);
        _partitions = new Partition[options.PartitionCount];
        for (int p = 0; p < _partitions.Length; p++)
        {
            _partitions[p] = new Partition(p, options.PartitionInboxCapacity);
        }
        _stamps = new StampClock(time);
        Metrics = metrics ?? new ShowrunnerMetrics();
        Metrics.ObserveQueue(QueueDepths);
        Metrics.ObserveOldestWait(OldestWait);
        _committer = new GroupCommitter(store, _registry, options.MaxActionsPerCommit, logger, Metrics);
        _committer.Faulted += OnCommitFaulted;
        _executors = new PartitionExecutor[options.EffectiveExecutorCount];
        var snapshots = new SnapshotPolicy(options.SnapshotEveryActions, options.SnapshotMaxLagActions);
        for (int e = 0; e < _executors.Length; e++)
        {
            _executors[e] = new PartitionExecutor(this, _committer, options.MaxActionsPerCommit, snapshots, time) { Index = e };
        }
        foreach (var partition in _partitions)
        {
            _executors[partition.Index % _executors.Length].Own(partition);
        }
    }

    public RuntimeState State => (RuntimeState)Volatile.Read(ref _state);

    /// <summary>The host's instruments: the pipeline's stages record into them, and so do the components built on the pipeline (signer, rollouts).</summary>
    internal ShowrunnerMetrics Metrics { get; }

    /// <summary>The release in force on every partition (the last one switched to), or null.</summary>
    public RuntimeRelease? ActiveRelease => Volatile.Read(ref _activeRelease);
    public int PartitionCount => _partitions.Length;

    /// <summary>Rebuilds partition state from the store and starts the executors and the committer.</summary>
    public Task StartAsync(CancellationToken cancellationToken = default) => Task.Run(() =>
    {
        LoadState();
        LoadControls();
        var report = new LiveStateLoader(_store, ReleaseInForce).Load(_partitions, Controls);
        LastLoad = report;
        LogLiveLoaded(_logger, report.Players, report.ReplayedActions, report.LedgerEntries, (long)report.Elapsed.TotalMilliseconds);
        _started = true;
        _committer.Start();
        foreach (var executor in _executors)
        {
            executor.Start();
        }
        Interlocked.Exchange(ref _state, (int)RuntimeState.Ready);
        LogReady(_logger, _partitions.Length, _executors.Length, _partitions.Sum(p => p.CommittedHead));
    }, cancellationToken);

    /// <summary>Runs another durable write on the store's single writer thread, between group commits.</summary>
    internal Task<T> RunOnWriterAsync<T>(Func<T> work) => _committer.RunExclusiveAsync(work);

    /// <summary>
    /// Like <see cref="RunOnWriterAsync"/>, for a write that in-memory state already relies on (an
    /// operator's run controls are in force before their record is durable): if it throws or
    /// returns false, the committer faults before it takes another group, and the runtime reloads
    /// everything from the store, so no action committed after it was counted under controls the
    /// store does not hold.
    /// </summary>
    internal Task<bool> RunOnWriterOrFailStopAsync(Func<bool> work) => _committer.RunExclusiveAsync(() =>
    {
        bool written;
        try
        {
            written = work();
        }
        catch (Exception exception)
        {
            _committer.FailStop(exception);
            throw;
        }
        if (!written)
        {
            _committer.FailStop(new InvalidDataException("A run transition was already recorded by another writer."));
        }
        return written;
    });

    private void LoadControls()
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

    /// <summary>Actions sequenced since start (all partitions): the clock of the snapshot policy.</summary>
    internal long Sequenced => Interlocked.Read(ref _sequenced);

    internal void CountSequenced(int count) => Interlocked.Add(ref _sequenced, count);

    /// <summary>Total grants durably committed since start.</summary>
    public long CommittedGrants => _committer.CommittedGrants;

    /// <summary>Raised (on the committer thread, must not block) after a commit that enqueued grant deliveries.</summary>
    public event Action? GrantsCommitted
    {
        add => _committer.GrantsCommitted += value;
        remove => _committer.GrantsCommitted -= value;
    }

    /// <summary>The ingest stamp clock's reading: every batch stamped from now on gets at least this.</summary>
    internal long StampNow => _stamps.Now;

    /// <summary>The smallest ingest stamp of a batch still in flight, or null.</summary>
    internal long? OldestInFlightStamp => _stamps.OldestInFlight;

    /// <summary>
    /// Takes an operator decision at an ingest stamp T above every stamp handed out so far, with no
    /// batch stamped meanwhile: <paramref name="decide"/> publishes the new controls (in force for
    /// every batch stamped from now on) and queues their durable record on the writer, which runs
    /// before any later-stamped action commits (<see cref="GroupCommitter"/>).
    /// </summary>
    internal T DecideAtStamp<T>(Func<long, T> decide) => _stamps.Decide(decide);

    /// <summary>Puts new operator controls in force (inside <see cref="DecideAtStamp"/>, or before start).</summary>
    internal void PublishControls(RunControls controls) => Volatile.Write(ref _controls, controls);

    private RuntimeRelease? ReleaseInForce(long releaseRef)
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

    public PartitionRouter Router => _router;

    /// <summary>Every partition's durably committed ledger head, indexed by partition.</summary>
    internal LedgerCommitted[] CommittedLedgerHeads() => [.. _partitions.Select(p => p.CommittedLedger)];

    /// <summary>
    /// Runs <paramref name="work"/> on the executor of partition <paramref name="partition"/>,
    /// behind every action already queued there. It may read the partition's live state and return
    /// grants to append to its ledger; the task completes once those are durably committed.
    /// </summary>
    internal Task<T> OnPartitionAsync<T>(int partition, Func<Partition, (T Result, IReadOnlyList<PendingGrant> Grants)> work)
    {
        var target = _partitions[partition];
        var executor = _executors[partition % _executors.Length];
        var item = new ControlItem<T>((owner, group) =>
        {
            var (result, grants) = work(target);
            owner.AppendGrants(target, grants, group);
            return (result, grants.Count > 0);
        });
        executor.Enqueue(item);
        return item.Done;
    }

    /// <summary>Reads the live state of one partition on its executor (the state includes actions being committed).</summary>
    internal Task<T> ReadPartitionAsync<T>(int partition, Func<Partition, T> read) =>
        OnPartitionAsync(partition, p => (read(p), (IReadOnlyList<PendingGrant>)[])).WaitAsync(_options.AnswerTimeout);

    /// <summary>Reads every partition's live state on its executor; results are indexed by partition.</summary>
    internal async Task<T[]> ReadAllAsync<T>(Func<Partition, T> read)
    {
        var tasks = new Task<List<(int, T)>>[_executors.Length];
        for (int e = 0; e < _executors.Length; e++)
        {
            var executor = _executors[e];
            var item = new ControlItem<List<(int, T)>>((owner, _) => ([.. owner.Partitions.Select(p => (p.Index, read(p)))], false));
            executor.Enqueue(item);
            tasks[e] = item.Done;
        }
        var results = new T[_partitions.Length];
        // Bounded like every read a request waits for (IngestOptions.AnswerTimeout): TimeoutException past it.
        foreach (var list in await Task.WhenAll(tasks).WaitAsync(_options.AnswerTimeout).ConfigureAwait(false))
        {
            foreach (var (index, value) in list)
            {
                results[index] = value;
            }
        }
        return results;
    }

    /// <summary>Completes once everything every executor sequenced before the call is durably committed (groups of an executor commit in order).</summary>
    internal async Task FlushAsync()
    {
        var tasks = new Task<bool>[_executors.Length];
        for (int e = 0; e < _executors.Length; e++)
        {
            var item = new ControlItem<bool>((_, _) => (true, true));
            _executors[e].Enqueue(item);
            tasks[e] = item.Done;
        }
        await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    /// <summary>Writes a snapshot of every changed partition and waits until it is durable (a clean stop leaves no log to replay).</summary>
    internal async Task SnapshotAllAsync()
    {
        var items = _executors.Select(_ => new SnapshotAllItem()).ToArray();
        for (int e = 0; e < _executors.Length; e++)
        {
            _executors[e].Enqueue(items[e]);
        }
        await Task.WhenAll(items.Select(i => i.Done)).ConfigureAwait(false);
    }

    /// <summary>Reloads every executor's partitions from the store, each on its own executor (after a failed write).</summary>
    private async Task ReloadLiveAsync()
    {
        var loader = new LiveStateLoader(_store, ReleaseInForce);
        var tasks = new List<Task<LiveLoadReport>>();
        foreach (var executor in _executors)
        {
            var item = new ControlItem<LiveLoadReport>((owner, _) =>
            {
                foreach (var partition in owner.Partitions)
                {
                    partition.AssignedHead = partition.CommittedHead;
                }
                var report = loader.Load(owner.Partitions, Controls);
                foreach (var partition in owner.Partitions)
                {
                    // Assignments in memory may include players whose first candidate action did not commit.
                    if (partition.Rollout is { } rollout)
                    {
                        rollout.Reload(partition.Index, _store.Rollouts.Assignments(rollout.Id));
                    }
                }
                owner.Restart();
                return (report, false);
            })
            { Reloads = true };
            executor.Enqueue(item);
            tasks.Add(item.Done);
        }
        await Task.WhenAll(tasks).ConfigureAwait(false);
    }

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
        if (!_started)
        {
            foreach (var partition in _partitions)
            {
                partition.Rules = release;
            }
            Volatile.Write(ref _activeRelease, release);
            return;
        }
        var switches = new Task[_executors.Length];
        for (int e = 0; e < _executors.Length; e++)
        {
            var change = new ReleaseSwitch(release);
            _executors[e].Enqueue(change);
            switches[e] = change.Done;
        }
        await Task.WhenAll(switches).ConfigureAwait(false);
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
        if (!_started)
        {
            foreach (var partition in _partitions)
            {
                partition.Rollout = rollout;
            }
            Volatile.Write(ref _activeRollout, rollout);
            return;
        }
        var switches = new Task[_executors.Length];
        for (int e = 0; e < _executors.Length; e++)
        {
            var change = new Rollouts.RolloutSwitch(rollout);
            _executors[e].Enqueue(change);
            switches[e] = change.Done;
        }
        await Task.WhenAll(switches).ConfigureAwait(false);
        Volatile.Write(ref _activeRollout, rollout);
    }

    private void LoadState()
    {
        long[] heads = _store.LoadPartitionHeads();
        if (heads.Length != _partitions.Length)
        {
            throw new InvalidOperationException($"The store holds {heads.Length} partitions, the runtime {_partitions.Length}.");
        }
        for (int p = 0; p < heads.Length; p++)
        {
            _partitions[p].AssignedHead = heads[p];
            _partitions[p].CommittedHead = heads[p];
        }
    }

    /// <summary>Submits one parsed batch. Results come back in request order.</summary>
    public async Task<SubmitOutcome> SubmitAsync(BatchItem[] items)
    {
        ArgumentNullException.ThrowIfNull(items);
        Interlocked.Increment(ref _activeSubmissions);
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
            Interlocked.Decrement(ref _activeSubmissions);
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
            if (!_partitions[partition].TryReserve(count))
            {
                foreach (var (undo, undoCount) in reserved)
                {
                    if (undo == partition)
                    {
                        break;
                    }
                    _partitions[undo].Release(undoCount);
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
            _partitions[partitionOf[i]].Release(1);
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
                _partitions[entry.Partition].Release(1);
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
            _partitions[entry.Partition].Release(1);
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
            _executors[partition % _executors.Length].Enqueue(
                new WorkUnit(batch, _partitions[partition], [.. unit.Entries], [.. unit.Indexes]) { Trace = trace, EnqueuedAt = enqueuedAt });
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

    /// <summary>The queue gauges: actions in every partition inbox, and in the fullest one.</summary>
    private (int Total, int Max) QueueDepths()
    {
        int total = 0, max = 0;
        foreach (var partition in _partitions)
        {
            int count = partition.InboxCount;
            total += count;
            max = Math.Max(max, count);
        }
        return (total, max);
    }

    /// <summary>Totals of the inboxes and the committer, for diagnostics and metrics.</summary>
    public (int InboxActions, int InFlightIds, long Commits, long CommittedActions) GetPipelineGauges()
    {
        int inbox = 0;
        foreach (var partition in _partitions)
        {
            inbox += partition.InboxCount;
        }
        return (inbox, _registry.Count, _committer.Commits, _committer.CommittedActions);
    }

    private volatile bool _committerFaulted;

    private readonly Lock _recoveryLock = new();
    private bool _recoverAgain;

    private void OnCommitFaulted(Exception exception)
    {
        _committerFaulted = true;
        Interlocked.Exchange(ref _state, (int)RuntimeState.Recovering);
        lock (_recoveryLock)
        {
            // A fault during a recovery (another executor, a reload that failed) makes the running
            // recovery go round once more instead of starting a second one beside it.
            if (_recovery is { IsCompleted: false })
            {
                _recoverAgain = true;
                return;
            }
            _recovery = Task.Run(RecoverAsync);
        }
    }

    /// <summary>
    /// Supervision of the executors: an unexpected failure while an executor ran an item. The
    /// executor has already stopped taking work; the failure is logged with its work item and
    /// counted, and the runtime fail-stops as after a failed write (the committer refuses further
    /// groups, every partition reloads from the store), so no partition continues from in-memory
    /// state the store does not have. Called on the executor's thread; never blocks.
    /// </summary>
    internal void OnExecutorFaulted(PartitionExecutor executor, Exception exception, ExecutorItem? item)
    {
        Metrics.WorkerFaults.Add(1, new KeyValuePair<string, object?>("worker", "executor"));
        switch (item)
        {
            case WorkUnit unit:
                LogExecutorFaultOnUnit(_logger, exception, executor.Index, unit.Partition.Index, unit.Entries[0].Action.Id, unit.Entries.Length);
                break;
            default:
                LogExecutorFault(_logger, exception, executor.Index, item?.GetType().Name ?? "closing a commit group");
                break;
        }
        // On the committer's thread, between two commits: the groups this executor handed over
        // before the failure are consistent and may still commit; none taken after it will.
        _ = _committer.RunExclusiveAsync(() =>
        {
            _committer.FailStop(new ExecutorFaultException(exception));
            return true;
        });
    }

    /// <summary>Test hook: runs on the executor's thread before each work unit (throw or block to simulate a bug). Null in production.</summary>
    internal Action<WorkUnit>? FaultInjection { get; set; }

    /// <summary>The in-flight registry (executors fail their units through it).</summary>
    internal InFlightRegistry Registry => _registry;

    /// <summary>The oldest wait of any executor (the <c>showrunner.partition.oldest_wait</c> gauge).</summary>
    private TimeSpan OldestWait()
    {
        var oldest = TimeSpan.Zero;
        foreach (var executor in _executors)
        {
            var wait = executor.OldestWait();
            if (wait > oldest)
            {
                oldest = wait;
            }
        }
        return oldest;
    }

    /// <summary>
    /// Whether the runtime can take work now, and if not, why: not started or recovering; a
    /// stopped executor (its partitions reload); an executor whose oldest work waited longer than
    /// <see cref="IngestOptions.StallAfter"/>; a durable commit running longer than that; or a
    /// worker whose loop has ended. <c>/readyz</c> reports it.
    /// </summary>
    public Readiness CheckReadiness()
    {
        var state = State;
        if (state != RuntimeState.Ready)
        {
            return new Readiness(false, state == RuntimeState.Recovering ? "recovering" : state.ToString().ToLowerInvariant(),
                state == RuntimeState.Recovering ? "The runtime is reloading its state from the store after a failure." : $"The runtime is {state.ToString().ToLowerInvariant()}.");
        }
        foreach (var executor in _executors)
        {
            if (executor.Stopped)
            {
                return new Readiness(false, "partition_stopped",
                    $"Executor {executor.Index} ({executor.Partitions.Count} partitions) stopped after an internal failure and is reloading.");
            }
            if (!executor.IsRunning)
            {
                return new Readiness(false, "worker_stopped", $"Executor {executor.Index} is not running.");
            }
            var wait = executor.OldestWait();
            if (wait > _options.StallAfter)
            {
                return new Readiness(false, "partition_stalled",
                    $"Executor {executor.Index}'s oldest work has waited {wait.TotalSeconds:0.0} s (limit {_options.StallAfter.TotalSeconds:0} s).");
            }
        }
        if (!_committer.IsAlive)
        {
            return new Readiness(false, "worker_stopped", "The group committer is not running.");
        }
        var commit = _committer.CommitRunningFor();
        if (commit > _options.StallAfter)
        {
            return new Readiness(false, "commit_stalled",
                $"A durable commit has run for {commit.TotalSeconds:0.0} s (limit {_options.StallAfter.TotalSeconds:0} s).");
        }
        return Readiness.Ready;
    }

    /// <summary>
    /// After a failed commit: wait until no submission is in progress (they all fail fast, since the
    /// committer refuses everything while faulted), reopen the store's writer, reload every
    /// partition's head from durable state, and only then accept work again.
    /// </summary>
    private async Task RecoverAsync()
    {
        while (true)
        {
            // Drain and back-off waits use the real clock: they pace infrastructure, not domain time.
            while (Volatile.Read(ref _activeSubmissions) > 0)
            {
                await Task.Delay(10).ConfigureAwait(false);
            }
            for (int attempt = 1; ; attempt++)
            {
                if (State is RuntimeState.Stopping or RuntimeState.Stopped)
                {
                    return;
                }
                try
                {
                    _store.ResetWriter();
                    LoadState();
                    LoadControls();
                    await ReloadLiveAsync().ConfigureAwait(false);
                    break;
                }
                catch (Exception exception)
                {
                    LogRecoveryFailed(_logger, exception, attempt);
                    // A short back-off: a disk that was full a moment ago usually has room again at
                    // once, and every second here is a second of refused ingest (each attempt only
                    // reopens the writer and reads the store).
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(250 * attempt, 2_000))).ConfigureAwait(false);
                }
            }
            lock (_recoveryLock)
            {
                if (_recoverAgain)
                {
                    // Another failure arrived while reloading: reload once more from what is durable now.
                    _recoverAgain = false;
                    continue;
                }
                if (State != RuntimeState.Recovering)
                {
                    return;
                }
                _committer.ClearFault();
                _committerFaulted = false;
                Interlocked.Exchange(ref _state, (int)RuntimeState.Ready);
            }
            LogRecovered(_logger, _partitions.Sum(p => p.CommittedHead));
            return;
        }
    }

    /// <summary>Waits for a recovery in progress, if any (tests use it).</summary>
    internal Task RecoveryTask => _recovery ?? Task.CompletedTask;

    private Task? _disposal;
    private readonly Lock _disposalLock = new();

    /// <summary>Tests stop without the final snapshot, as a crash would, so that the next start replays the log tail.</summary>
    internal bool SkipFinalSnapshotForTests { get; set; }

    /// <summary>
    /// Stops the pipeline: drains, writes the final snapshots, stops the executors and the
    /// committer. Both the host (on stop) and the service container dispose the pipeline; every
    /// caller returns only once the one disposal has finished, so nobody closes the store under a
    /// committer that is still writing.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        Task disposal;
        lock (_disposalLock)
        {
            disposal = _disposal ??= DisposeOnceAsync();
        }
        await disposal.ConfigureAwait(false);
    }

    private async Task DisposeOnceAsync()
    {
        await Task.Yield();
        Interlocked.Exchange(ref _state, (int)RuntimeState.Stopping);
        // The whole stop is bounded (IngestOptions.StopTimeout) whatever state a worker is in; its
        // waits use the real clock: they pace infrastructure, not domain time.
        long started = Stopwatch.GetTimestamp();
        TimeSpan Left() => _options.StopTimeout - Stopwatch.GetElapsedTime(started) is var left && left > TimeSpan.Zero ? left : TimeSpan.Zero;
        var drainUntil = TimeSpan.FromSeconds(Math.Min(10, _options.StopTimeout.TotalSeconds / 2));
        while (Volatile.Read(ref _activeSubmissions) > 0 && Stopwatch.GetElapsedTime(started) < drainUntil)
        {
            await Task.Delay(10).ConfigureAwait(false);
        }
        if (_started && State == RuntimeState.Stopping && !_committerFaulted && !SkipFinalSnapshotForTests)
        {
            try
            {
                await SnapshotAllAsync().WaitAsync(Left()).ConfigureAwait(false);
            }
            catch (StoreWriteException exception)
            {
                // The log is the truth: the next start replays what the snapshot would have held.
                LogFinalSnapshotFailed(_logger, exception);
            }
            catch (TimeoutException exception)
            {
                LogFinalSnapshotFailed(_logger, exception);
            }
        }
        var stuck = new List<int>();
        foreach (var executor in _executors)
        {
            if (!await executor.StopAsync(Left()).ConfigureAwait(false))
            {
                stuck.Add(executor.Index);
            }
        }
        if (stuck.Count > 0)
        {
            // A thread-pool loop stuck in one item does not keep the process alive; the committer
            // below still stops cleanly, so the store closes with everything committed intact.
            LogStopIncomplete(_logger, "executors " + string.Join(", ", stuck), (long)_options.StopTimeout.TotalSeconds);
        }
        // The committer gets at least a second of its own: it only has to finish the commit in progress.
        if (!_committer.Stop(Left() > TimeSpan.FromSeconds(1) ? Left() : TimeSpan.FromSeconds(1)))
        {
            LogStopIncomplete(_logger, "the group committer (a durable write did not return)", (long)_options.StopTimeout.TotalSeconds);
            CommitterStuck = true;
        }
        Interlocked.Exchange(ref _state, (int)RuntimeState.Stopped);
    }

    /// <summary>
    /// True when the stop ended with a durable write still running (a disk that does not answer):
    /// the store must not be closed under it; the host ends the process instead (as safe as a crash).
    /// </summary>
    public bool CommitterStuck { get; private set; }

    [LoggerMessage(EventId = 1008, Level = LogLevel.Critical,
        Message = "Executor {ExecutorIndex} failed on a work unit of partition {Partition} (first action id {ActionId}, {ActionCount} actions); its partitions stop and the runtime reloads from the store")]
    private static partial void LogExecutorFaultOnUnit(ILogger logger, Exception exception, int executorIndex, int partition, string actionId, int actionCount);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Critical,
        Message = "Executor {ExecutorIndex} failed while running {Work}; its partitions stop and the runtime reloads from the store")]
    private static partial void LogExecutorFault(ILogger logger, Exception exception, int executorIndex, string work);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Critical,
        Message = "The stop did not finish within {StopTimeoutSeconds} s: {What} did not end; the next start replays the log tail")]
    private static partial void LogStopIncomplete(ILogger logger, string what, long stopTimeoutSeconds);

    [LoggerMessage(EventId = 1000, Level = LogLevel.Information,
        Message = "Ingest ready: {PartitionCount} partitions on {ExecutorCount} executors, {ActionCount} actions in the log")]
    private static partial void LogReady(ILogger logger, int partitionCount, int executorCount, long actionCount);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Error, Message = "Reloading state after a failed write did not succeed (attempt {Attempt})")]
    private static partial void LogRecoveryFailed(ILogger logger, Exception exception, int attempt);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "Recovered after a failed write: {ActionCount} actions in the log")]
    private static partial void LogRecovered(ILogger logger, long actionCount);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Information,
        Message = "Live state loaded: {PlayerCount} players from snapshots, {ReplayedCount} actions replayed, {EntryCount} ledger entries, in {ElapsedMs} ms")]
    private static partial void LogLiveLoaded(ILogger logger, long playerCount, long replayedCount, long entryCount, long elapsedMs);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Warning, Message = "The final snapshot at stop failed; the next start replays the log tail instead")]
    private static partial void LogFinalSnapshotFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Error, Message = "The deduplication probe could not read the store")]
    private static partial void LogProbeFailed(ILogger logger, Exception exception);
}
