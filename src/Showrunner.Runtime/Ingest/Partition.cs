using Showrunner.Core.Ledger;
using Showrunner.Core.LiveEvents;

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

    /// <summary>The rollout in force (its candidate evaluates the cohort's actions), or null. Written like <see cref="Rules"/>.</summary>
    public Rollouts.ActiveRollout? Rollout { get; set; }

    /// <summary>The last seq handed out. Only the owning executor (or recovery, when quiescent) writes it.</summary>
    public long AssignedHead { get; set; }

    /// <summary>The last seq durably committed.</summary>
    public long CommittedHead
    {
        get => Volatile.Read(ref _committedHead);
        set => Volatile.Write(ref _committedHead, value);
    }

    public int InboxCount => Volatile.Read(ref _inboxCount);

    /// <summary>Live-event state (players, progress, leaderboards, slots). Only the owning executor (or start-up and recovery) touches it.</summary>
    public PartitionState Live { get; set; } = new(index);

    /// <summary>The writing end of the partition's ledger; ahead of the store by what is not yet committed. Owned like <see cref="Live"/>.</summary>
    public PartitionLedger Ledger { get; set; } = PartitionLedger.Empty(index);

    /// <summary>The ledger head as durably committed: what a checkpoint may sign. Written by the committer.</summary>
    public LedgerCommitted CommittedLedger
    {
        get => Volatile.Read(ref _committedLedger);
        set => Volatile.Write(ref _committedLedger, value);
    }

    private LedgerCommitted _committedLedger = new(0, MerkleHash.EmptyRoot());

    /// <summary>Operator grant ids this process appended to the partition's ledger (executor-owned): a concurrent repeat is caught before the store's index would fail the commit.</summary>
    public HashSet<string> ManualGrants { get; } = new(StringComparer.Ordinal);

    /// <summary>The pipeline's count of sequenced actions when this partition last took a snapshot (executor-owned).</summary>
    public long SnapshotAtSequenced { get; set; }

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

/// <summary>A partition's committed ledger size and the Merkle root of those entries.</summary>
public sealed record LedgerCommitted(long Size, byte[] Root);

/// <summary>What an executor runs, in order: work units, release switches, queries and control work between them.</summary>
internal abstract class ExecutorItem
{
    /// <summary>When the item entered its executor's inbox (a <see cref="System.Diagnostics.Stopwatch"/> timestamp): the executor's stall watch reads it.</summary>
    public long QueuedAt { get; set; }
}

/// <summary>
/// Work on the executor's thread against the state of its partitions. <see cref="Run"/> may add
/// rows (grants) to the open commit group and returns whether it did; the item completes after
/// that group is durably committed, or at once when it wrote nothing.
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

/// <summary>The actions of one batch that belong to one partition, in request order.</summary>
internal sealed class WorkUnit(IngestBatch batch, Partition partition, InFlightEntry[] entries, int[] resultIndexes) : ExecutorItem
{
    public IngestBatch Batch { get; } = batch;
    public Partition Partition { get; } = partition;
    public InFlightEntry[] Entries { get; } = entries;
    public int[] ResultIndexes { get; } = resultIndexes;

    /// <summary>The trace context of the batch's route span (default when nobody traces): evaluate and commit spans are its children.</summary>
    public System.Diagnostics.ActivityContext Trace { get; init; }

    /// <summary>When the unit entered its executor's inbox (a <see cref="System.Diagnostics.Stopwatch"/> timestamp; 0 when nobody measures queue wait).</summary>
    public long EnqueuedAt { get; init; }
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
