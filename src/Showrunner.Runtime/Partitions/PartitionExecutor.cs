using System.Diagnostics;
using System.Threading.Channels;
using Showrunner.Runtime.Observability;

namespace Showrunner.Runtime.Partitions;

/// <summary>
/// Runs a fixed set of partitions (partition p belongs to executor p mod E). It takes its inbox in
/// arrival order: each piece of module work is applied to its partition's module state, and the
/// effects go to the committer as one group. Because a partition is only ever run by its one
/// executor, it is a single writer without locks, and the order of its inbox is the order of its log.
/// </summary>
internal sealed class PartitionExecutor
{
    /// <summary>
    /// Module work (<see cref="PartitionWork"/>, public and not an <see cref="ExecutorItem"/>, so that
    /// a module in another assembly can define it) and the host's own items share one inbox, hence
    /// <see cref="object"/>: the order between them is the point of the inbox.
    /// </summary>
    private readonly Channel<object> _inbox = Channel.CreateUnbounded<object>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
    private readonly GroupCommitter _committer;
    private readonly int _maxItemsPerGroup;
    private readonly List<HostPartition> _partitions = [];
    private readonly PartitionHost _host;
    private readonly SnapshotPolicy _snapshots;
    /// <summary>The executor's reusable scratch objects (<see cref="CommitGroup.Scratch{T}"/>).</summary>
    private readonly Dictionary<Type, object> _scratch = [];
    private Task? _loop;

    public PartitionExecutor(PartitionHost host, GroupCommitter committer, int maxItemsPerGroup, SnapshotPolicy snapshots)
    {
        _host = host;
        _committer = committer;
        _maxItemsPerGroup = maxItemsPerGroup;
        _snapshots = snapshots;
    }

    public IReadOnlyList<HostPartition> Partitions => _partitions;

    /// <summary>Gives the executor a partition to run (before it starts).</summary>
    public void Own(HostPartition partition) => _partitions.Add(partition);

    public void Start() => _loop = Task.Run(RunAsync);

    /// <summary>Queues module work. Never blocks: admission has already reserved room in the partition's inbox.</summary>
    public void Enqueue(PartitionWork work)
    {
        work.QueuedAt = Stopwatch.GetTimestamp();
        if (!_inbox.Writer.TryWrite(work))
        {
            _host.FailWork(work, new InvalidOperationException("The runtime is stopping."));
        }
    }

    /// <summary>Queues a fence behind every item already queued; it completes once in force on all the executor's partitions.</summary>
    public void Enqueue(FenceItem fence)
    {
        if (!Post(fence))
        {
            fence.Fail(new InvalidOperationException("The runtime is stopping."));
        }
    }

    /// <summary>Queues control work or a query behind every item already queued.</summary>
    public void Enqueue(ControlItem item)
    {
        if (!Post(item))
        {
            item.Fail(new InvalidOperationException("The runtime is stopping."));
        }
    }

    private bool Post(ExecutorItem item)
    {
        item.QueuedAt = Stopwatch.GetTimestamp();
        return _inbox.Writer.TryWrite(item);
    }

    private static long QueuedAtOf(object item) => item is PartitionWork work ? work.QueuedAt : ((ExecutorItem)item).QueuedAt;

    /// <summary>
    /// Stops taking work and waits for the loop to end, at most <paramref name="timeout"/>: an
    /// executor wedged inside one item (a bug that loops forever) cannot hold the process's
    /// shutdown hostage. Returns false when the loop did not end in time.
    /// </summary>
    public async Task<bool> StopAsync(TimeSpan timeout)
    {
        _inbox.Writer.TryComplete();
        if (_loop is null)
        {
            return true;
        }
        try
        {
            await _loop.WaitAsync(timeout).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>True while the executor's loop runs (from start until stopped; supervision keeps it running through failures).</summary>
    public bool IsRunning => _loop is { IsCompleted: false };

    /// <summary>The executor's index (for logs and diagnostics).</summary>
    public int Index { get; init; }

    /// <summary>
    /// True from an unexpected failure until the reload of the executor's partitions from the store
    /// has run: meanwhile module work and control work fail at once (never wait), and only the
    /// reload item (and fences) run.
    /// </summary>
    public bool Stopped => Volatile.Read(ref _stopped);

    private bool _stopped;

    /// <summary>The queue timestamp of the oldest item the executor has taken but not finished (0 when idle).</summary>
    private long _busyWithQueuedAt;

    /// <summary>
    /// How long the oldest piece of work this executor has taken has been waiting since it was
    /// queued, or zero when the executor is between groups: the first item of the group it is
    /// running or closing. Items are taken in order, so nothing still in the inbox is older. A
    /// healthy executor keeps this well under a second; one stuck in an item lets it grow without
    /// bound, and readiness reads it. (The inbox's head is not peeked: the channel's queue is
    /// single-consumer, and only the executor's own thread may look at it.)
    /// </summary>
    public TimeSpan OldestWait()
    {
        long busy = Volatile.Read(ref _busyWithQueuedAt);
        return busy == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(busy);
    }

    private async Task RunAsync()
    {
        var reader = _inbox.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            var group = new CommitGroup(_scratch);
            bool snapshotAll = false;
            object? current = null;
            try
            {
                while (group.Size < _maxItemsPerGroup && reader.TryRead(out var item))
                {
                    current = item;
                    if (Volatile.Read(ref _busyWithQueuedAt) == 0)
                    {
                        Volatile.Write(ref _busyWithQueuedAt, QueuedAtOf(item));
                    }
                    // While the runtime recovers, an executor that already reloaded must not build on
                    // its fresh state with work the still-faulted committer would refuse.
                    if (Stopped || _host.State == RuntimeState.Recovering)
                    {
                        RunStopped(item, group);
                        current = null;
                        continue;
                    }
                    Run(item, group, ref snapshotAll);
                    current = null;
                }
                if (!Stopped && _host.State != RuntimeState.Recovering)
                {
                    CloseGroup(group, snapshotAll);
                }
            }
            catch (Exception exception)
            {
                // Supervision: whatever went wrong, the partitions' in-memory state can no longer be
                // trusted. Nobody of this group waits forever: every work and control item in it is
                // failed now, the executor stops taking work, and the runtime reloads its partitions
                // from the store (fail-stop, docs/internals/runtime.md "Supervision").
                Fault(exception, current, group);
                Volatile.Write(ref _busyWithQueuedAt, 0);
                continue;
            }
            if (!group.IsEmpty)
            {
                _committer.Enqueue(group);
            }
            Volatile.Write(ref _busyWithQueuedAt, 0);
        }
    }

    private void Run(object item, CommitGroup group, ref bool snapshotAll)
    {
        switch (item)
        {
            case PartitionWork work:
                _host.FaultInjection?.Invoke(work);
                ApplyTraced(work, group);
                group.Works.Add(work);
                group.Size += work.Reserved;
                _host.CountSequenced(work.Reserved);
                break;
            case FenceItem fence:
                fence.Run(this);
                fence.Complete();
                break;
            case SnapshotAllItem all:
                snapshotAll = true;
                group.Completions.Add(all);
                break;
            case ControlItem control:
                if (control.Run(this, group))
                {
                    group.Completions.Add(control);
                }
                else
                {
                    control.Complete();
                }
                break;
        }
    }

    /// <summary>
    /// What a stopped executor does with an item: fences still take effect (they only move a
    /// pointer, and the reload must see the change in force); the reload runs and restarts the
    /// executor; everything else fails at once with a retryable error.
    /// </summary>
    private void RunStopped(object item, CommitGroup group)
    {
        switch (item)
        {
            case FenceItem:
                bool unused = false;
                Run(item, group, ref unused);
                break;
            case ControlItem { Reloads: true } reload:
                // The reload calls Restart() once it has rebuilt every partition of the executor.
                bool none = false;
                Run(reload, group, ref none);
                break;
            case ControlItem control:
                control.Fail(new StoreWriteException(StoppedMessage, null));
                break;
            case PartitionWork work:
                _host.FailWork(work, new StoreWriteException(StoppedMessage, null));
                break;
        }
    }

    /// <summary>Lets a stopped executor take work again: called by the reload item (on this executor's thread) once its partitions are rebuilt from the store.</summary>
    public void Restart() => Volatile.Write(ref _stopped, false);

    private const string StoppedMessage = "The partition is reloading from the store after a failure; nothing of this work was applied.";

    /// <summary>
    /// Fails every item of the open group (and the item that was running), stops the executor and
    /// asks the runtime to reload it. The item that failed is answered as the fault it is; the
    /// others only shared its group and may be retried as they are.
    /// </summary>
    private void Fault(Exception exception, object? current, CommitGroup group)
    {
        Volatile.Write(ref _stopped, true);
        _host.OnExecutorFaulted(this, exception, current);
        var innocent = new StoreWriteException(StoppedMessage, exception);
        foreach (var work in group.Works)
        {
            if (!ReferenceEquals(work, current))
            {
                _host.FailWork(work, innocent);
            }
        }
        foreach (var control in group.Completions)
        {
            if (!ReferenceEquals(control, current))
            {
                control.Fail(innocent);
            }
        }
        foreach (var partition in _partitions)
        {
            Array.Clear(partition.Touched);
        }
        var failed = new ExecutorFaultException(exception);
        switch (current)
        {
            case PartitionWork work:
                _host.FailWork(work, failed);
                break;
            case ControlItem control:
                control.Fail(failed);
                break;
            case FenceItem fence:
                fence.Fail(failed);
                break;
        }
    }

    /// <summary>Applies module work, recording its queue wait and (when someone listens) its evaluate span.</summary>
    private void ApplyTraced(PartitionWork work, CommitGroup group)
    {
        if (work.EnqueuedAt != 0)
        {
            _host.Metrics.QueueWait.Record(Stopwatch.GetElapsedTime(work.EnqueuedAt).TotalSeconds);
        }
        var partition = _host.PartitionAt(work.Partition);
        var state = partition.States[work.ModuleIndex];
        partition.Touched[work.ModuleIndex] = true;
        if (work.Trace == default)
        {
            work.Apply(state, group);
            return;
        }
        using var span = ShowrunnerActivities.Source.StartActivity(ShowrunnerActivities.Spans.Evaluate, ActivityKind.Internal, work.Trace);
        if (span is not null)
        {
            span.SetTag(ShowrunnerActivities.Tags.ActionId, work.Describe());
            span.SetTag(ShowrunnerActivities.Tags.ActionCount, work.Reserved);
            span.SetTag(ShowrunnerActivities.Tags.Partition, work.Partition);
        }
        work.Apply(state, group);
        if (span is not null)
        {
            work.TagSpan(span);
        }
    }

    /// <summary>Lets each module close what the group's work touched, and adds the snapshots that are due.</summary>
    private void CloseGroup(CommitGroup group, bool snapshotAll)
    {
        long sequenced = _host.Sequenced;
        var modules = _host.Modules;
        foreach (var partition in _partitions)
        {
            for (int m = 0; m < modules.Count; m++)
            {
                var state = partition.States[m];
                bool due = snapshotAll
                    ? state.IsDirty
                    : state.ChangesSinceSnapshot >= _snapshots.EveryItemsOf(partition.Index)
                      || (state.IsDirty && sequenced - partition.SnapshotAtSequenced[m] >= _snapshots.MaxLagItemsOf(partition.Index));
                if (!due && !partition.Touched[m])
                {
                    continue;
                }
                partition.Touched[m] = false;
                modules[m].CloseGroup(state, group, due);
                if (due)
                {
                    partition.SnapshotAtSequenced[m] = sequenced;
                }
            }
        }
    }
}
