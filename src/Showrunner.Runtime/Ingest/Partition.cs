namespace Showrunner.Runtime.Ingest;

/// <summary>
/// One partition's state. <see cref="AssignedHead"/> is owned by the partition's executor (the
/// single writer); <see cref="CommittedHead"/> by the group committer; admission only touches the
/// inbox counter, atomically.
/// </summary>
internal sealed class Partition(int index, int inboxCapacity)
{
    private int _inboxCount;
    private long _committedHead;

    public int Index { get; } = index;

    /// <summary>The release whose schemas check (and, later, whose rules evaluate) the partition's actions; null when none is active. Only the owning executor (or start-up, before the executors run) writes it.</summary>
    public RuntimeRelease? Rules { get; set; }

    /// <summary>The last seq handed out. Only the owning executor (or recovery, when quiescent) writes it.</summary>
    public long AssignedHead { get; set; }

    /// <summary>The last seq durably committed.</summary>
    public long CommittedHead
    {
        get => Volatile.Read(ref _committedHead);
        set => Volatile.Write(ref _committedHead, value);
    }

    public int InboxCount => Volatile.Read(ref _inboxCount);

    /// <summary>Reserves room for <paramref name="count"/> actions; false (and nothing reserved) when the inbox is full.</summary>
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

/// <summary>What an executor runs, in order: work units, and release switches between them.</summary>
internal abstract class ExecutorItem;

/// <summary>The actions of one batch that belong to one partition, in request order.</summary>
internal sealed class WorkUnit(IngestBatch batch, Partition partition, InFlightEntry[] entries, int[] resultIndexes) : ExecutorItem
{
    public IngestBatch Batch { get; } = batch;
    public Partition Partition { get; } = partition;
    public InFlightEntry[] Entries { get; } = entries;
    public int[] ResultIndexes { get; } = resultIndexes;
}

/// <summary>
/// A fence: puts <see cref="Release"/> in force on every partition of the executor, after every
/// unit queued before it and before every unit queued after it, then completes.
/// </summary>
internal sealed class ReleaseSwitch(RuntimeRelease? release) : ExecutorItem
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public RuntimeRelease? Release { get; } = release;
    public Task Done => _done.Task;
    public void Complete() => _done.TrySetResult();
    public void Fail(Exception exception) => _done.TrySetException(exception);
}

/// <summary>
/// One request's progress through the pipeline: completes when every work unit is committed,
/// or fails as soon as one of them fails.
/// </summary>
internal sealed class IngestBatch(ActionResult[] results, long ingestedAtTicks)
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _pendingUnits;

    public ActionResult[] Results { get; } = results;
    public long IngestedAtTicks { get; } = ingestedAtTicks;
    public Task Done => _done.Task;

    public void Expect(int units)
    {
        _pendingUnits = units;
        if (units == 0)
        {
            _done.TrySetResult();
        }
    }

    public void UnitCommitted()
    {
        if (Interlocked.Decrement(ref _pendingUnits) == 0)
        {
            _done.TrySetResult();
        }
    }

    public void Fail(Exception exception) => _done.TrySetException(exception);
}
