using Showrunner.Core.Ledger;
using Showrunner.Core.LiveEvents;
using Showrunner.Runtime.Partitions;

namespace Showrunner.Runtime.Ingest;

/// <summary>
/// The live-events module's state in one partition (<see cref="LiveModule"/>): its action log's
/// heads, live state, ledger and the release and rollout in force. <see cref="AssignedHead"/> and
/// everything else but <see cref="CommittedHead"/> and <see cref="CommittedLedger"/> are owned by
/// the partition's executor (the single writer); those two by the group committer.
/// </summary>
internal sealed class Partition(int index) : IModulePartition
{
    private long _committedHead;

    public int Index { get; } = index;

    long IModulePartition.ChangesSinceSnapshot => Live.ActionsSinceSnapshot;

    bool IModulePartition.IsDirty => Live.IsDirty;

    /// <summary>True when grants were appended to <see cref="Ledger"/> in the open commit group (its head goes to the group when it closes). Executor-owned.</summary>
    public bool LedgerMoved { get; set; }

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

}

/// <summary>A partition's committed ledger size and the Merkle root of those entries.</summary>
public sealed record LedgerCommitted(long Size, byte[] Root);

/// <summary>
/// The actions of one batch that belong to one partition, in request order: the live module's
/// piece of work. Applied by <see cref="LiveModule.Execute"/>; answered per action once durable.
/// </summary>
internal sealed class WorkUnit(LiveModule module, IngestBatch batch, Partition partition, InFlightEntry[] entries, int[] resultIndexes)
    : PartitionWork(LiveModule.ModuleName, partition.Index, entries.Length)
{
    public IngestBatch Batch { get; } = batch;
    public new Partition Partition { get; } = partition;
    public InFlightEntry[] Entries { get; } = entries;
    public int[] ResultIndexes { get; } = resultIndexes;

    /// <summary>Grants the unit's actions caused (for its evaluate span).</summary>
    public int Grants { get; set; }

    public override string Describe() => Entries[0].Action.Id;

    public override void Apply(IModulePartition state, CommitGroup group) => module.Execute(this, group);

    public override void TagSpan(System.Diagnostics.Activity span) => span.SetTag("showrunner.grants", Grants);

    /// <summary>Answers each action (accepted with its seq, or rejected by the schema), moves the committed head, and lets the batch know.</summary>
    public override void Committed()
    {
        long last = 0;
        for (int i = 0; i < Entries.Length; i++)
        {
            var entry = Entries[i];
            if (entry.Rejection is { } rejection)
            {
                Batch.Results[ResultIndexes[i]] = new ActionResult(entry.Action.Id, ActionStatus.Rejected, 0, -1, rejection);
                entry.Complete(new InFlightOutcome(InFlightOutcomeKind.Rejected, Partition.Index, 0, rejection));
            }
            else
            {
                last = entry.Seq;
                Batch.Results[ResultIndexes[i]] = new ActionResult(entry.Action.Id, ActionStatus.Accepted, last, Partition.Index, null);
                entry.Complete(new InFlightOutcome(InFlightOutcomeKind.Stored, Partition.Index, last));
            }
            module.Registry.Remove(entry);
        }
        if (last > 0)
        {
            Partition.CommittedHead = last;
        }
        Batch.UnitCommitted();
    }

    /// <summary>The unit will never be committed: its ids leave the in-flight registry, its request hears <paramref name="exception"/>.</summary>
    public override void Failed(Exception exception)
    {
        foreach (var entry in Entries)
        {
            entry.Complete(new InFlightOutcome(InFlightOutcomeKind.Failed, Partition.Index, 0));
            module.Registry.Remove(entry);
        }
        Batch.Fail(exception);
    }
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
