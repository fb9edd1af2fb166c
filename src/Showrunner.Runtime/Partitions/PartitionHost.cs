using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Showrunner.Runtime.Observability;
using Showrunner.Storage;

namespace Showrunner.Runtime.Partitions;

/// <summary>
/// The generic partition host: P partitions with bounded inboxes, E executors (one loop each, each
/// owning the partitions p with p mod E = its index), one group committer, supervision with
/// fail-stop and reload, readiness, snapshot scheduling and load (snapshot + replay) at start. It
/// knows no feature: live events, chat or a wallet plug in as <see cref="IPartitionModule"/>s
/// (docs/internals/runtime.md).
/// </summary>
/// <remarks>
/// Invariants: a partition's module state is touched only by its executor (or by a load while no
/// executor runs the module's work); work is answered only after the group holding its effects is
/// durable; an executor fault or a failed durable write stops the whole host's writes until every
/// partition reloaded from the store (no partition continues from state the store does not have);
/// every wait of a caller is bounded; admission refuses (never queues) past an inbox's capacity.
/// </remarks>
public sealed partial class PartitionHost : IAsyncDisposable
{
    private readonly PartitionHostOptions _options;
    private readonly IActionStore _store;
    private readonly ILogger _logger;
    private readonly EntityRouter _router;
    private readonly HostPartition[] _partitions;
    private readonly PartitionExecutor[] _executors;
    private readonly GroupCommitter _committer;
    private readonly List<IPartitionModule> _modules = [];
    private readonly Dictionary<string, int> _moduleIndexes = new(StringComparer.Ordinal);
    private int _state = (int)RuntimeState.Starting;
    private int _activeSubmissions;
    private Task? _recovery;
    private bool _started;
    private long _sequenced;

    public PartitionHost(PartitionHostOptions options, IActionStore store, TimeProvider time, ILogger logger, ShowrunnerMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid partition host options: " + string.Join(" ", errors), nameof(options));
        }
        _options = options;
        _store = store;
        _logger = logger;
        _router = new EntityRouter(options.PartitionCount);
        Metrics = metrics ?? new ShowrunnerMetrics();
        Metrics.ObserveQueue(QueueDepths);
        Metrics.ObserveOldestWait(OldestWait);
        _committer = new GroupCommitter(store, this, options.MaxItemsPerCommit, logger, Metrics);
        _committer.Faulted += OnCommitFaulted;
        _partitions = new HostPartition[options.PartitionCount];
        for (int p = 0; p < _partitions.Length; p++)
        {
            _partitions[p] = new HostPartition(p, options.PartitionInboxCapacity);
        }
        _executors = new PartitionExecutor[options.EffectiveExecutorCount];
        var snapshots = new SnapshotPolicy(options.SnapshotEveryItems, options.SnapshotMaxLagItems);
        for (int e = 0; e < _executors.Length; e++)
        {
            _executors[e] = new PartitionExecutor(this, _committer, options.MaxItemsPerCommit, snapshots) { Index = e };
        }
        foreach (var partition in _partitions)
        {
            _executors[partition.Index % _executors.Length].Own(partition);
        }
    }

    /// <summary>The host's instruments (queue depths, commit latency, worker faults); modules built on the host record into them too.</summary>
    public ShowrunnerMetrics Metrics { get; }

    public RuntimeState State => (RuntimeState)Volatile.Read(ref _state);

    public int PartitionCount => _options.PartitionCount;

    public int ExecutorCount => _executors.Length;

    /// <summary>The modules in the host, in the order they were added (their indexes).</summary>
    public IReadOnlyList<IPartitionModule> Modules => _modules;

    /// <summary>The partition that owns entity <paramref name="key"/> of <paramref name="module"/> (<see cref="EntityRouter"/>).</summary>
    public int PartitionOf(string module, string key) => _router.PartitionOf(module, key);

    /// <summary>
    /// Adds a module before the host starts: its state is created in every partition now, loaded at
    /// start, and run by the partitions' executors from then on.
    /// </summary>
    public void AddModule(IPartitionModule module)
    {
        ArgumentNullException.ThrowIfNull(module);
        if (_started || State != RuntimeState.Starting)
        {
            throw new InvalidOperationException($"Module '{module.Name}' must be added before the host starts.");
        }
        if (!EntityRouter.IsValidModuleName(module.Name))
        {
            throw new ArgumentException($"Module name '{module.Name}': must be 1-64 characters of [a-z0-9_-].", nameof(module));
        }
        if (!_moduleIndexes.TryAdd(module.Name, _modules.Count))
        {
            throw new ArgumentException($"A module named '{module.Name}' is already in the host.", nameof(module));
        }
        _modules.Add(module);
        foreach (var partition in _partitions)
        {
            partition.AddState(module.CreatePartition(partition.Index));
        }
    }

    private int ModuleIndex(string module) =>
        _moduleIndexes.TryGetValue(module, out int index) ? index : throw new ArgumentException($"No module named '{module}' is in the host.", nameof(module));

    internal HostPartition PartitionAt(int partition) => _partitions[partition];

    /// <summary>Loads every module's state from the store and starts the executors and the committer.</summary>
    public Task StartAsync(CancellationToken cancellationToken = default) => Task.Run(() =>
    {
        if (_modules.Count == 0)
        {
            throw new InvalidOperationException("The host has no module.");
        }
        foreach (var module in _modules)
        {
            module.BeginLoad();
        }
        for (int m = 0; m < _modules.Count; m++)
        {
            _modules[m].Load([.. _partitions.Select(p => p.States[m])]);
        }
        _started = true;
        _committer.Start();
        foreach (var executor in _executors)
        {
            executor.Start();
        }
        Interlocked.Exchange(ref _state, (int)RuntimeState.Ready);
        LogHostReady(_logger, _partitions.Length, _executors.Length, string.Join(", ", _modules.Select(m => m.Name)));
    }, cancellationToken);

    /// <summary>
    /// Admits one piece of work: refused when the host is not ready or the partition's inbox is
    /// full; otherwise queued behind everything already in the partition's inbox.
    /// </summary>
    public Admission TrySubmit(PartitionWork work)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (State != RuntimeState.Ready)
        {
            return Admission.NotReady;
        }
        if (!TryReserve(work.Partition, work.Reserved))
        {
            return Admission.Overloaded;
        }
        Enqueue(work);
        return Admission.Queued;
    }

    /// <summary>Reserves room for <paramref name="count"/> items in a partition's inbox (all-or-nothing admission of a batch spanning partitions); false when full.</summary>
    public bool TryReserve(int partition, int count) => _partitions[partition].TryReserve(count);

    /// <summary>Returns room reserved with <see cref="TryReserve"/> that no work will use.</summary>
    public void ReleaseReserved(int partition, int count) => _partitions[partition].Release(count);

    /// <summary>Queues work whose <see cref="PartitionWork.Reserved"/> room is reserved. Never blocks.</summary>
    public void Enqueue(PartitionWork work)
    {
        ArgumentNullException.ThrowIfNull(work);
        work.ModuleIndex = ModuleIndex(work.Module);
        _executors[work.Partition % _executors.Length].Enqueue(work);
    }

    /// <summary>Answers work that will never be committed: its inbox room is returned, then it hears <paramref name="exception"/>.</summary>
    internal void FailWork(PartitionWork work, Exception exception)
    {
        _partitions[work.Partition].Release(work.Reserved);
        work.Failed(exception);
    }

    /// <summary>Marks a submission in progress (recovery and stop wait for none to be): callers that admit in several steps bracket them.</summary>
    internal void EnterSubmission() => Interlocked.Increment(ref _activeSubmissions);

    internal void ExitSubmission() => Interlocked.Decrement(ref _activeSubmissions);

    /// <summary>
    /// Runs <paramref name="work"/> on the executor of <paramref name="partition"/>, behind every item
    /// already queued there, against the module's state in it. It may add rows to the open group and
    /// says whether it did: the task then completes once they are durable, otherwise at once.
    /// </summary>
    public Task<T> ExecuteAsync<T>(string module, int partition, Func<IModulePartition, CommitGroup, (T Result, bool Wrote)> work)
    {
        int m = ModuleIndex(module);
        var target = _partitions[partition];
        var item = new ControlItem<T>((_, group) =>
        {
            target.Touched[m] = true;
            return work(target.States[m], group);
        });
        _executors[partition % _executors.Length].Enqueue(item);
        return item.Done;
    }

    /// <summary>Reads the module's state in one partition on its executor (the state includes work being committed); bounded by the answer timeout.</summary>
    public Task<T> ReadAsync<T>(string module, int partition, Func<IModulePartition, T> read)
    {
        int m = ModuleIndex(module);
        var target = _partitions[partition];
        var item = new ControlItem<T>((_, _) => (read(target.States[m]), false));
        _executors[partition % _executors.Length].Enqueue(item);
        return item.Done.WaitAsync(_options.AnswerTimeout);
    }

    /// <summary>Reads the module's state in every partition, each on its executor; results are indexed by partition. Bounded by the answer timeout.</summary>
    public async Task<T[]> ReadAllAsync<T>(string module, Func<IModulePartition, T> read)
    {
        int m = ModuleIndex(module);
        var tasks = new Task<List<(int, T)>>[_executors.Length];
        for (int e = 0; e < _executors.Length; e++)
        {
            var executor = _executors[e];
            var item = new ControlItem<List<(int, T)>>((owner, _) => ([.. owner.Partitions.Select(p => (p.Index, read(p.States[m])))], false));
            executor.Enqueue(item);
            tasks[e] = item.Done;
        }
        var results = new T[_partitions.Length];
        foreach (var list in await Task.WhenAll(tasks).WaitAsync(_options.AnswerTimeout).ConfigureAwait(false))
        {
            foreach (var (index, value) in list)
            {
                results[index] = value;
            }
        }
        return results;
    }

    /// <summary>
    /// Applies a module-wide change (a release switch, a rollout switch) to the module's state in
    /// every partition and returns once it is in force everywhere: work queued before the call sees
    /// the old value, work queued after it returns the new one. Before the host starts, the change
    /// is applied at once. Callers serialize their changes.
    /// </summary>
    public async Task FenceAsync(string module, Action<IModulePartition> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        int m = ModuleIndex(module);
        if (!_started)
        {
            foreach (var partition in _partitions)
            {
                change(partition.States[m]);
            }
            return;
        }
        var fences = new Task[_executors.Length];
        for (int e = 0; e < _executors.Length; e++)
        {
            var fence = new FenceItem(owner =>
            {
                foreach (var partition in owner.Partitions)
                {
                    change(partition.States[m]);
                }
            });
            _executors[e].Enqueue(fence);
            fences[e] = fence.Done;
        }
        await Task.WhenAll(fences).ConfigureAwait(false);
    }

    /// <summary>Completes once everything every executor sequenced before the call is durably committed (groups of an executor commit in order).</summary>
    public async Task FlushAsync()
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

    /// <summary>Writes a snapshot of every changed partition state and waits until it is durable (a clean stop leaves no log to replay).</summary>
    public async Task SnapshotAllAsync()
    {
        var items = _executors.Select(_ => new SnapshotAllItem()).ToArray();
        for (int e = 0; e < _executors.Length; e++)
        {
            _executors[e].Enqueue(items[e]);
        }
        await Task.WhenAll(items.Select(i => i.Done)).ConfigureAwait(false);
    }

    /// <summary>Runs another durable write on the store's single writer thread, between group commits.</summary>
    internal Task<T> RunOnWriterAsync<T>(Func<T> work) => _committer.RunExclusiveAsync(work);

    /// <summary>
    /// Like <see cref="RunOnWriterAsync"/>, for a write that in-memory state already relies on: if it
    /// throws or returns false, the committer faults before it takes another group, and the host
    /// reloads everything from the store.
    /// </summary>
    internal Task<bool> RunOnWriterOrFailStopAsync(Func<bool> work, string refusal) => _committer.RunExclusiveAsync(() =>
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
            _committer.FailStop(new InvalidDataException(refusal));
        }
        return written;
    });

    /// <summary>Items of work sequenced since start (all partitions): the clock of the snapshot policy.</summary>
    internal long Sequenced => Interlocked.Read(ref _sequenced);

    internal void CountSequenced(int count) => Interlocked.Add(ref _sequenced, count);

    /// <summary>Durable group commits since start.</summary>
    public long Commits => _committer.Commits;

    /// <summary>Items admitted to every partition's inbox and not yet answered.</summary>
    public int InboxItems => _partitions.Sum(p => p.InboxCount);

    /// <summary>Runs inside each commit before the store writes (tests: a slow or stuck disk). Null in production.</summary>
    internal Action? CommitHook
    {
        get => _committer.CommitHook;
        set => _committer.CommitHook = value;
    }

    /// <summary>Test hook: runs on the executor's thread before each piece of work (throw or block to simulate a bug). Null in production.</summary>
    internal Action<PartitionWork>? FaultInjection { get; set; }

    /// <summary>The queue gauges: items in every partition inbox, and in the fullest one.</summary>
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
    /// counted, and the host fail-stops as after a failed write (the committer refuses further
    /// groups, every partition reloads from the store), so no partition continues from in-memory
    /// state the store does not have. Called on the executor's thread; never blocks.
    /// </summary>
    internal void OnExecutorFaulted(PartitionExecutor executor, Exception exception, object? item)
    {
        Metrics.WorkerFaults.Add(1, new KeyValuePair<string, object?>("worker", "executor"));
        switch (item)
        {
            case PartitionWork work:
                LogExecutorFaultOnUnit(_logger, exception, executor.Index, work.Partition, work.Describe(), work.Reserved);
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

    /// <summary>
    /// Whether the host can take work now, and if not, why: not started or recovering; a stopped
    /// executor (its partitions reload); an executor whose oldest work waited longer than
    /// <see cref="PartitionHostOptions.StallAfter"/>; a durable commit running longer than that; or a
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
    /// After a failure: wait until no submission is in progress (they all fail fast, since the
    /// committer refuses everything while faulted), reopen the store's writer, reload every module's
    /// partitions from durable state (each executor its own), and only then accept work again.
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
                    foreach (var module in _modules)
                    {
                        module.BeginLoad();
                    }
                    await ReloadAsync().ConfigureAwait(false);
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
            LogRecovered(_logger, _partitions.Length);
            return;
        }
    }

    /// <summary>Reloads every executor's partitions from the store, each on its own executor, and restarts the executors.</summary>
    private async Task ReloadAsync()
    {
        var tasks = new List<Task<bool>>();
        foreach (var executor in _executors)
        {
            var item = new ControlItem<bool>((owner, _) =>
            {
                for (int m = 0; m < _modules.Count; m++)
                {
                    _modules[m].Load([.. owner.Partitions.Select(p => p.States[m])]);
                }
                foreach (var partition in owner.Partitions)
                {
                    Array.Clear(partition.SnapshotAtSequenced);
                    Array.Clear(partition.Touched);
                }
                owner.Restart();
                return (true, false);
            })
            { Reloads = true };
            executor.Enqueue(item);
            tasks.Add(item.Done);
        }
        await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    /// <summary>Waits for a recovery in progress, if any (tests use it).</summary>
    internal Task RecoveryTask => _recovery ?? Task.CompletedTask;

    private Task? _disposal;
    private readonly Lock _disposalLock = new();

    /// <summary>Tests stop without the final snapshot, as a crash would, so that the next start replays the log tail.</summary>
    internal bool SkipFinalSnapshotForTests { get; set; }

    /// <summary>
    /// True when the stop ended with a durable write still running (a disk that does not answer):
    /// the store must not be closed under it; the process ends instead (as safe as a crash).
    /// </summary>
    public bool CommitterStuck { get; private set; }

    /// <summary>
    /// Stops the host: drains, writes the final snapshots, stops the executors and the committer.
    /// Every caller returns only once the one disposal has finished, so nobody closes the store
    /// under a committer that is still writing.
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
        // The whole stop is bounded (StopTimeout) whatever state a worker is in; its waits use the
        // real clock: they pace infrastructure, not domain time.
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

    [LoggerMessage(EventId = 1008, Level = LogLevel.Critical,
        Message = "Executor {ExecutorIndex} failed on a work unit of partition {Partition} (first action id {ActionId}, {ActionCount} actions); its partitions stop and the runtime reloads from the store")]
    private static partial void LogExecutorFaultOnUnit(ILogger logger, Exception exception, int executorIndex, int partition, string actionId, int actionCount);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Critical,
        Message = "Executor {ExecutorIndex} failed while running {Work}; its partitions stop and the runtime reloads from the store")]
    private static partial void LogExecutorFault(ILogger logger, Exception exception, int executorIndex, string work);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Critical,
        Message = "The stop did not finish within {StopTimeoutSeconds} s: {What} did not end; the next start replays the log tail")]
    private static partial void LogStopIncomplete(ILogger logger, string what, long stopTimeoutSeconds);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Information,
        Message = "Partition host running: {PartitionCount} partitions on {ExecutorCount} executors, modules {Modules}")]
    private static partial void LogHostReady(ILogger logger, int partitionCount, int executorCount, string modules);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Error, Message = "Reloading state after a failed write did not succeed (attempt {Attempt})")]
    private static partial void LogRecoveryFailed(ILogger logger, Exception exception, int attempt);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "Recovered after a failed write: {PartitionCount} partitions reloaded from the store")]
    private static partial void LogRecovered(ILogger logger, int partitionCount);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Warning, Message = "The final snapshot at stop failed; the next start replays the log tail instead")]
    private static partial void LogFinalSnapshotFailed(ILogger logger, Exception exception);
}
