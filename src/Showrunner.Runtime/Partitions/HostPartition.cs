namespace Showrunner.Runtime.Partitions;

/// <summary>
/// One partition as the host sees it: its inbox's admission counter (touched atomically by
/// admission and the committer) and each module's state in it (touched only by the owning executor,
/// or by a load while no executor runs the module's work).
/// </summary>
internal sealed class HostPartition(int index, int inboxCapacity)
{
    private int _inboxCount;

    public int Index { get; } = index;

    /// <summary>Each module's state, indexed by the module's index in the host.</summary>
    public IModulePartition[] States { get; private set; } = [];

    /// <summary>The host's count of sequenced items when each module's state last took a snapshot (executor-owned).</summary>
    public long[] SnapshotAtSequenced { get; private set; } = [];

    /// <summary>Whether the open group's work touched each module's state (executor-owned).</summary>
    public bool[] Touched { get; private set; } = [];

    /// <summary>Adds the state of the next module (before the host starts).</summary>
    public void AddState(IModulePartition state)
    {
        if (state.Index != Index)
        {
            throw new InvalidOperationException($"A module created the state of partition {state.Index} for partition {Index}.");
        }
        States = [.. States, state];
        SnapshotAtSequenced = [.. SnapshotAtSequenced, 0];
        Touched = [.. Touched, false];
    }

    public int InboxCount => Volatile.Read(ref _inboxCount);

    /// <summary>Reserves room for <paramref name="count"/> items; false (and nothing reserved) when the inbox is full.</summary>
    public bool TryReserve(int count)
    {
        if (Interlocked.Add(ref _inboxCount, count) <= inboxCapacity)
        {
            return true;
        }
        Interlocked.Add(ref _inboxCount, -count);
        return false;
    }

    public void Release(int count) => Interlocked.Add(ref _inboxCount, -count);
}

/// <summary>What an executor runs besides module work: control work, queries, fences and snapshot requests.</summary>
internal abstract class ExecutorItem
{
    /// <summary>When the item entered its executor's inbox (a <see cref="System.Diagnostics.Stopwatch"/> timestamp): the executor's stall watch reads it.</summary>
    public long QueuedAt { get; set; }
}

/// <summary>
/// Work on the executor's thread against the state of its partitions. <see cref="Run"/> may add
/// rows to the open commit group and returns whether it did; the item completes after that group
/// is durably committed, or at once when it wrote nothing.
/// </summary>
internal abstract class ControlItem : ExecutorItem
{
    /// <summary>
    /// True for the item that reloads the executor's partitions from the store after a fault: the
    /// one kind of control work a stopped executor still runs (everything else fails at once).
    /// </summary>
    public bool Reloads { get; init; }

    public abstract bool Run(PartitionExecutor executor, CommitGroup group);
    public abstract void Complete();
    public abstract void Fail(Exception exception);
}

/// <summary>A control item with a result.</summary>
internal sealed class ControlItem<T>(Func<PartitionExecutor, CommitGroup, (T Result, bool Wrote)> work) : ControlItem
{
    private readonly TaskCompletionSource<T> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private T _result = default!;

    public Task<T> Done => _done.Task;

    public override bool Run(PartitionExecutor executor, CommitGroup group)
    {
        try
        {
            (_result, bool wrote) = work(executor, group);
            return wrote;
        }
        catch (Exception exception) when (exception is not InvalidDataException)
        {
            // A failed query changes nothing: its caller hears of it. (Damaged state is not caught: it stops the executor.)
            _done.TrySetException(exception);
            return false;
        }
    }

    public override void Complete() => _done.TrySetResult(_result);
    public override void Fail(Exception exception) => _done.TrySetException(exception);
}

/// <summary>
/// A fence: applies a module-wide change (a release or rollout switch) to the executor's partitions,
/// after every item queued before it and before every item queued after it, then completes. A
/// stopped executor still runs fences: they only move a pointer, and the reload must see the change.
/// </summary>
internal sealed class FenceItem(Action<PartitionExecutor> change) : ExecutorItem
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Done => _done.Task;
    public void Run(PartitionExecutor executor) => change(executor);
    public void Complete() => _done.TrySetResult();
    public void Fail(Exception exception) => _done.TrySetException(exception);
}

/// <summary>Takes a snapshot of every changed partition of the executor (on a clean stop), completed once it is durable.</summary>
internal sealed class SnapshotAllItem : ControlItem
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Done => _done.Task;
    public override bool Run(PartitionExecutor executor, CommitGroup group) => true;
    public override void Complete() => _done.TrySetResult();
    public override void Fail(Exception exception) => _done.TrySetException(exception);
}

/// <summary>When partitions take snapshots of their modules' state (docs/internals/runtime.md, "Snapshots").</summary>
/// <param name="EveryItems">A module's state in a partition snapshots after N to 2N changes since its last snapshot (N = this; the factor is fixed per partition).</param>
/// <param name="MaxLagItems">A state with any change snapshots once the whole host sequenced M to 2M items since its last snapshot, so that no quiet partition holds the restart's replay far back.</param>
internal sealed record SnapshotPolicy(int EveryItems, long MaxLagItems)
{
    /// <summary>
    /// Partition p's own factor in [1, 2): under even load, equal thresholds would make every
    /// partition snapshot in the same group commit (a stall of hundreds of milliseconds with 256
    /// partitions); different periods keep them apart, also after every restart.
    /// </summary>
    private static double Spread(int partition) => 1.0 + (((partition * 37) % 64) / 64.0);

    public int EveryItemsOf(int partition) => (int)Math.Min(int.MaxValue, EveryItems * Spread(partition));

    public long MaxLagItemsOf(int partition) => (long)(MaxLagItems * Spread(partition));
}
