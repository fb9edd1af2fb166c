using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Showrunner.Runtime.Observability;
using Showrunner.Storage;

namespace Showrunner.Runtime.Partitions;

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
    private readonly PartitionHost _host;
    private readonly int _maxItemsPerCommit;
    private readonly ILogger _logger;
    private readonly ShowrunnerMetrics _metrics;
    private readonly List<CommitGroup> _taken = [];
    private readonly CommitBatch _batch = new();
    private readonly System.Collections.Concurrent.ConcurrentQueue<WriterTask> _exclusive = new();
    private Thread? _thread;
    private volatile bool _faulted;
    private volatile bool _running;

    public GroupCommitter(IActionStore store, PartitionHost host, int maxItemsPerCommit, ILogger logger, ShowrunnerMetrics metrics)
    {
        _metrics = metrics;
        _store = store;
        _host = host;
        _maxItemsPerCommit = maxItemsPerCommit;
        _logger = logger;
    }

    /// <summary>Raised on the committer thread after a failed commit.</summary>
    public event Action<Exception>? Faulted;

    public long Commits { get; private set; }

    /// <summary>Items of work in the commit being built (the sum of its groups' sizes): bounds the commit.</summary>
    private int _items;

    /// <summary>
    /// Log records the commit writes (live actions and module log records): what the commit size
    /// histogram counts. Work that was applied but refused (an action its release's schema rejects)
    /// holds inbox room and counts in <see cref="_items"/>, but writes no record.
    /// </summary>
    private int LogRecords => _batch.Actions.Count + _batch.ModuleLog.Count;

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
    private static readonly CommitGroup Wake = new([]);

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
        _items = 0;
        while (_items < _maxItemsPerCommit)
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
            _items += group.Size;
            // In group order, and within a group in the order of the write sets' first use: a
            // module may rely on its earlier groups' rows preceding its later ones in the batch.
            foreach (var write in group.WriteSets)
            {
                write.AddTo(_batch);
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
            LogCommitFailed(_logger, exception, LogRecords);
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
        Measure(started, startedAt);
        // In order (a partition's committed head only moves forward); a failure while completing
        // fails only the groups not yet answered.
        for (_answered = 0; _answered < _taken.Count; _answered++)
        {
            CompleteGroup(_taken[_answered]);
        }
        _taken.Clear();
    }

    /// <summary>Runs inside the commit, before the store writes (tests: a slow or stuck disk). Null in production.</summary>
    internal Action? CommitHook { get; set; }

    /// <summary>Records one successful commit: its size and latency, and a commit span per traced piece of work.</summary>
    private void Measure(long started, DateTime startedAt)
    {
        if (_batch.IsEmpty)
        {
            return;
        }
        var elapsed = Stopwatch.GetElapsedTime(started);
        _metrics.CommitLatency.Record(elapsed.TotalSeconds);
        _metrics.CommitBatchSize.Record(LogRecords);
        if (!ShowrunnerActivities.Source.HasListeners())
        {
            return;
        }
        foreach (var group in _taken)
        {
            foreach (var work in group.Works)
            {
                if (work.Trace == default)
                {
                    continue;
                }
                using var span = ShowrunnerActivities.Source.StartActivity(ShowrunnerActivities.Spans.Commit, ActivityKind.Internal, work.Trace,
                    startTime: startedAt);
                if (span is null)
                {
                    continue;
                }
                span.SetTag(ShowrunnerActivities.Tags.ActionId, work.Describe());
                span.SetTag(ShowrunnerActivities.Tags.ActionCount, work.Reserved);
                span.SetTag(ShowrunnerActivities.Tags.Partition, work.Partition);
                span.SetTag(ShowrunnerActivities.Tags.CommitActions, LogRecords);
                span.SetEndTime(startedAt + elapsed);
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

    /// <summary>
    /// Answers a durable group: first each module's write set (heads move, counters), then the
    /// group's work (its inbox room returned before its sender hears, so a sender that submits again
    /// at once finds the room), then the control items that wrote into it.
    /// </summary>
    private void CompleteGroup(CommitGroup group)
    {
        foreach (var write in group.WriteSets)
        {
            write.Committed();
        }
        foreach (var work in group.Works)
        {
            _host.PartitionAt(work.Partition).Release(work.Reserved);
            work.Committed();
        }
        foreach (var control in group.Completions)
        {
            control.Complete();
        }
    }

    private void FailGroup(CommitGroup group, Exception exception)
    {
        foreach (var work in group.Works)
        {
            _host.FailWork(work, exception);
        }
        foreach (var control in group.Completions)
        {
            control.Fail(exception);
        }
    }

    [LoggerMessage(EventId = 1007, Level = LogLevel.Critical,
        Message = "The group committer failed outside a store write with {GroupCount} groups taken; they are failed and the runtime reloads from the store")]
    private static partial void LogCommitterFault(ILogger logger, Exception exception, int groupCount);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Critical,
        Message = "Group commit of {RecordCount} log records failed; refusing writes and reloading state from the store")]
    private static partial void LogCommitFailed(ILogger logger, Exception exception, int recordCount);
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
