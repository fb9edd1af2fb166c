using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Showrunner.Core.Ledger;
using Showrunner.Runtime.Observability;
using Showrunner.Storage;

namespace Showrunner.Runtime.Ingest;

/// <summary>
/// The one writer of the store. It takes every commit group that is waiting — from all executors,
/// so from many partitions and requests — and writes them in one durable transaction, then
/// completes them. While one transaction is being written and synced, the next groups queue up:
/// the batch size grows with the load, with no timer.
/// </summary>
/// <remarks>
/// Fail-stop: if a transaction fails, every group in it fails, the committer refuses all further
/// groups without writing them, and <see cref="Faulted"/> is raised so that the runtime reloads
/// its state from the store before it accepts work again. A failed commit is never retried
/// (its fsync outcome is unknown; see PostgreSQL's fsync lesson).
/// </remarks>
internal sealed partial class GroupCommitter
{
    private readonly Channel<CommitGroup> _queue = Channel.CreateUnbounded<CommitGroup>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
    private readonly IActionStore _store;
    private readonly InFlightRegistry _registry;
    private readonly int _maxActionsPerCommit;
    private readonly ILogger _logger;
    private readonly ShowrunnerMetrics _metrics;
    private readonly Dictionary<(string Event, CauseKind Kind), long> _grantCounts = [];
    private readonly Dictionary<(string Event, string Currency), (long Granted, long Reversed)> _amounts = [];
    private readonly List<CommitGroup> _taken = [];
    private readonly CommitBatch _batch = new();
    private readonly System.Collections.Concurrent.ConcurrentQueue<WriterTask> _exclusive = new();
    private Thread? _thread;
    private volatile bool _faulted;
    private volatile bool _running;

    public GroupCommitter(IActionStore store, InFlightRegistry registry, int maxActionsPerCommit, ILogger logger, ShowrunnerMetrics metrics)
    {
        _metrics = metrics;
        _store = store;
        _registry = registry;
        _maxActionsPerCommit = maxActionsPerCommit;
        _logger = logger;
    }

    /// <summary>Raised on the committer thread after a failed commit.</summary>
    public event Action<Exception>? Faulted;

    public long Commits { get; private set; }
    public long CommittedActions { get; private set; }
    public long CommittedGrants { get; private set; }

    /// <summary>Raised on the committer thread after a commit that enqueued deliveries (the outbox worker listens). Must not block.</summary>
    public event Action? GrantsCommitted;

    public void Start()
    {
        _running = true;
        _thread = new Thread(Run) { IsBackground = true, Name = "showrunner-group-commit" };
        _thread.Start();
    }

    /// <summary>
    /// Runs <paramref name="work"/> (another durable write, such as a change of the release
    /// register) on the committer thread, between two group commits: the store has one writer, so
    /// such a write never waits for SQLite's write lock, and commits never wait for it. Before the
    /// committer starts, the work runs at once on the caller's thread.
    /// </summary>
    public Task<T> RunExclusiveAsync<T>(Func<T> work)
    {
        if (!_running)
        {
            return Task.FromResult(work());
        }
        var task = new WriterTask<T>(work);
        _exclusive.Enqueue(task);
        if (!_queue.Writer.TryWrite(Wake))
        {
            // Stopping: nothing will run it.
            task.Cancel();
        }
        return task.Task;
    }

    /// <summary>An empty group that only wakes the committer to run exclusive work.</summary>
    private static readonly CommitGroup Wake = new();

    public void Enqueue(CommitGroup group)
    {
        if (!_queue.Writer.TryWrite(group))
        {
            FailGroup(group, new InvalidOperationException("The runtime is stopping."));
        }
    }

    /// <summary>Faults the committer from exclusive work on its thread: no further group is written until the runtime reloads.</summary>
    public void FailStop(Exception exception)
    {
        _faulted = true;
        LogCommitFailed(_logger, exception, 0);
        Faulted?.Invoke(exception);
    }

    /// <summary>Lets the committer write again once the runtime has reset the store and reloaded its state.</summary>
    public void ClearFault() => _faulted = false;

    /// <summary>Stops taking groups and waits for the thread, at most <paramref name="timeout"/> (false: it did not end in time; a stuck store write cannot hold shutdown hostage).</summary>
    public bool Stop(TimeSpan timeout)
    {
        _queue.Writer.TryComplete();
        bool ended = _thread is null || _thread.Join(timeout);
        _running = false;
        while (_exclusive.TryDequeue(out var left))
        {
            left.Cancel();
        }
        return ended;
    }

    /// <summary>When the commit in progress started (a Stopwatch timestamp), 0 between commits: readiness reads it.</summary>
    private long _committingSince;

    /// <summary>How long the durable commit in progress has been running (zero between commits).</summary>
    public TimeSpan CommitRunningFor()
    {
        long since = Volatile.Read(ref _committingSince);
        return since == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(since);
    }

    /// <summary>False once the committer's thread has ended (it only ends when stopped).</summary>
    public bool IsAlive => _thread is { IsAlive: true };

    private void Run()
    {
        var reader = _queue.Reader;
        while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            try
            {
                CommitWaiting(reader);
            }
            catch (Exception exception)
            {
                // Supervision: a failure outside the store's commit (completing, measuring, a
                // listener) must neither end this thread nor leave a taken group unanswered. The
                // runtime fail-stops as for a failed write and reloads from the store.
                _metrics.WorkerFaults.Add(1, new KeyValuePair<string, object?>("worker", "committer"));
                Volatile.Write(ref _committingSince, 0);
                _faulted = true;
                LogCommitterFault(_logger, exception, _taken.Count);
                Faulted?.Invoke(exception);
                var failure = new StoreWriteException("An internal failure stopped the group commit; the runtime is reloading from the store.", exception);
                for (int i = _answered; i < _taken.Count; i++)
                {
                    FailGroup(_taken[i], failure);
                }
                _taken.Clear();
            }
        }
    }

    /// <summary>How many groups of <see cref="_taken"/> were answered (completed or failed) so far.</summary>
    private int _answered;

    private void CommitWaiting(ChannelReader<CommitGroup> reader)
    {
        _answered = 0;
        _taken.Clear();
        _batch.Clear();
        while (_batch.Actions.Count < _maxActionsPerCommit)
        {
            // Exclusive work queued while groups are being taken runs before any group taken
            // after it: an operator's run transition, recorded at a stamp T, is durable before
            // any action stamped after T commits (docs/internals/live-events.md).
            RunExclusive();
            if (!reader.TryRead(out var group))
            {
                break;
            }
            if (ReferenceEquals(group, Wake))
            {
                continue;
            }
            _taken.Add(group);
            _batch.Actions.AddRange(group.Records);
            _batch.Ledger.AddRange(group.Ledger);
            _batch.Nodes.AddRange(group.Nodes);
            _batch.Outbox.AddRange(group.Outbox);
            _batch.Assignments.AddRange(group.Assignments);
            foreach (var snapshot in group.Snapshots)
            {
                // Behind every action of its partition up to its seq, all of which are in this
                // batch or an earlier one (one executor's groups arrive in order).
                snapshot.ActionsBefore = _batch.Actions.Count;
                _batch.Snapshots.Add(snapshot);
            }
        }
        if (_taken.Count == 0)
        {
            return;
        }
        if (_faulted)
        {
            var refused = new StoreWriteException("An earlier durable write failed; the runtime is reloading from the store.", null);
            foreach (var group in _taken)
            {
                FailGroup(group, refused);
            }
            _taken.Clear();
            return;
        }
        long started = Stopwatch.GetTimestamp();
        // Span timestamps are wall-clock time by definition (the clock the Activity API itself uses), taken only when someone traces.
        var startedAt = ShowrunnerActivities.Source.HasListeners() ? DateTime.UtcNow : default;
        Volatile.Write(ref _committingSince, started);
        try
        {
            if (!_batch.IsEmpty)
            {
                CommitHook?.Invoke();
                _store.Commit(_batch);
            }
        }
        catch (Exception exception)
        {
            Volatile.Write(ref _committingSince, 0);
            _metrics.CommitFailures.Add(1);
            _faulted = true;
            LogCommitFailed(_logger, exception, _batch.Actions.Count);
            // The runtime learns of the fault (and starts recovering) before any sender hears of
            // it, so a sender that retries at once finds the runtime recovering, never a
            // committer that still refuses everything while the runtime looks ready.
            Faulted?.Invoke(exception);
            var failure = new StoreWriteException("The durable write failed.", exception);
            foreach (var group in _taken)
            {
                FailGroup(group, failure);
            }
            _taken.Clear();
            return;
        }
        Volatile.Write(ref _committingSince, 0);
        Commits++;
        CommittedActions += _batch.Actions.Count;
        CommittedGrants += _batch.Ledger.Count;
        Measure(started, startedAt);
        // In order (a partition's committed head only moves forward); a failure while completing
        // fails only the groups not yet answered.
        for (_answered = 0; _answered < _taken.Count; _answered++)
        {
            CompleteGroup(_taken[_answered]);
        }
        _taken.Clear();
        if (_batch.Outbox.Count > 0)
        {
            GrantsCommitted?.Invoke();
        }
    }

    /// <summary>Runs inside the commit, before the store writes (tests: a slow or stuck disk). Null in production.</summary>
    internal Action? CommitHook { get; set; }

    /// <summary>Records one successful commit: its size and latency, the grants it made durable, and a commit span per traced unit.</summary>
    private void Measure(long started, DateTime startedAt)
    {
        if (_batch.IsEmpty)
        {
            return;
        }
        var elapsed = Stopwatch.GetElapsedTime(started);
        _metrics.CommitLatency.Record(elapsed.TotalSeconds);
        _metrics.CommitBatchSize.Record(_batch.Actions.Count);
        if (_batch.Ledger.Count > 0 && (_metrics.Grants.Enabled || _metrics.CurrencyGranted.Enabled || _metrics.CurrencyReversed.Enabled))
        {
            CountGrants();
        }
        if (!ShowrunnerActivities.Source.HasListeners())
        {
            return;
        }
        foreach (var group in _taken)
        {
            foreach (var unit in group.Units)
            {
                if (unit.Trace == default)
                {
                    continue;
                }
                using var span = ShowrunnerActivities.Source.StartActivity(ShowrunnerActivities.Spans.Commit, ActivityKind.Internal, unit.Trace,
                    startTime: startedAt);
                if (span is null)
                {
                    continue;
                }
                span.SetTag(ShowrunnerActivities.Tags.ActionId, unit.Entries[0].Action.Id);
                span.SetTag(ShowrunnerActivities.Tags.ActionCount, unit.Entries.Length);
                span.SetTag(ShowrunnerActivities.Tags.Partition, unit.Partition.Index);
                span.SetTag(ShowrunnerActivities.Tags.CommitActions, _batch.Actions.Count);
                span.SetEndTime(startedAt + elapsed);
            }
        }
    }

    /// <summary>
    /// Counts the commit's grants per (event, kind) and their amounts per (event, currency): summed
    /// here first, so a commit of hundreds of grants of a few events makes a few measurements, not
    /// hundreds, on the one thread that writes the store. The dictionaries are reused.
    /// </summary>
    private void CountGrants()
    {
        _grantCounts.Clear();
        _amounts.Clear();
        foreach (var group in _taken)
        {
            foreach (var grant in group.Grants)
            {
                var kind = (grant.Cause.EventId, grant.Cause.Kind);
                _grantCounts[kind] = _grantCounts.GetValueOrDefault(kind) + 1;
                foreach (var reward in grant.Rewards)
                {
                    var key = (grant.Cause.EventId, reward.Name);
                    var (granted, reversed) = _amounts.GetValueOrDefault(key);
                    _amounts[key] = reward.Amount >= 0 ? (granted + reward.Amount, reversed) : (granted, reversed - reward.Amount);
                }
            }
        }
        foreach (var ((eventId, kind), count) in _grantCounts)
        {
            _metrics.Grants.Add(count, new KeyValuePair<string, object?>("event", eventId), new KeyValuePair<string, object?>("kind", GrantEntry.KindName(kind)));
        }
        foreach (var ((eventId, currency), (granted, reversed)) in _amounts)
        {
            var eventTag = new KeyValuePair<string, object?>("event", eventId);
            var currencyTag = new KeyValuePair<string, object?>("currency", currency);
            if (granted > 0)
            {
                _metrics.CurrencyGranted.Add(granted, eventTag, currencyTag);
            }
            if (reversed > 0)
            {
                _metrics.CurrencyReversed.Add(reversed, eventTag, currencyTag);
            }
        }
    }

    private void RunExclusive()
    {
        while (_exclusive.TryDequeue(out var work))
        {
            work.Run();
        }
    }

    private void CompleteGroup(CommitGroup group)
    {
        foreach (var unit in group.Units)
        {
            var partition = unit.Partition;
            long last = 0;
            for (int i = 0; i < unit.Entries.Length; i++)
            {
                var entry = unit.Entries[i];
                if (entry.Rejection is { } rejection)
                {
                    unit.Batch.Results[unit.ResultIndexes[i]] = new ActionResult(entry.Action.Id, ActionStatus.Rejected, 0, -1, rejection);
                    entry.Complete(new InFlightOutcome(InFlightOutcomeKind.Rejected, partition.Index, 0, rejection));
                }
                else
                {
                    last = entry.Seq;
                    unit.Batch.Results[unit.ResultIndexes[i]] = new ActionResult(entry.Action.Id, ActionStatus.Accepted, last, partition.Index, null);
                    entry.Complete(new InFlightOutcome(InFlightOutcomeKind.Stored, partition.Index, last));
                }
                _registry.Remove(entry);
            }
            if (last > 0)
            {
                partition.CommittedHead = last;
            }
            partition.Release(unit.Entries.Length);
            unit.Batch.UnitCommitted();
        }
        foreach (var (partition, head) in group.Heads)
        {
            partition.CommittedLedger = head;
        }
        foreach (var control in group.Completions)
        {
            control.Complete();
        }
    }

    private void FailGroup(CommitGroup group, Exception exception)
    {
        foreach (var unit in group.Units)
        {
            Fail(unit, _registry, exception);
        }
        foreach (var control in group.Completions)
        {
            control.Fail(exception);
        }
    }

    /// <summary>Fails one work unit that will never be committed: its ids leave the in-flight registry, its inbox room is returned, its request hears <paramref name="exception"/>.</summary>
    public static void Fail(WorkUnit unit, InFlightRegistry registry, Exception exception)
    {
        foreach (var entry in unit.Entries)
        {
            entry.Complete(new InFlightOutcome(InFlightOutcomeKind.Failed, unit.Partition.Index, 0));
            registry.Remove(entry);
        }
        unit.Partition.Release(unit.Entries.Length);
        unit.Batch.Fail(exception);
    }

    [LoggerMessage(EventId = 1007, Level = LogLevel.Critical,
        Message = "The group committer failed outside a store write with {GroupCount} groups taken; they are failed and the runtime reloads from the store")]
    private static partial void LogCommitterFault(ILogger logger, Exception exception, int groupCount);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Critical,
        Message = "Group commit of {ActionCount} actions failed; refusing writes and reloading state from the store")]
    private static partial void LogCommitFailed(ILogger logger, Exception exception, int actionCount);
}

internal abstract class WriterTask
{
    public abstract void Run();
    public abstract void Cancel();
}

internal sealed class WriterTask<T>(Func<T> work) : WriterTask
{
    private readonly TaskCompletionSource<T> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<T> Task => _done.Task;

    public override void Run()
    {
        try
        {
            _done.TrySetResult(work());
        }
        catch (Exception exception)
        {
            // Handed to the caller, who awaits the task: the failure is reported there, not here.
            _done.TrySetException(exception);
        }
    }

    public override void Cancel() => _done.TrySetException(new InvalidOperationException("The runtime is stopping."));
}

/// <summary>A durable write failed (or was refused because an earlier one failed).</summary>
public sealed class StoreWriteException(string message, Exception? inner) : Exception(message, inner);
