using System.Threading.Channels;
using Showrunner.Core.Ledger;
using Showrunner.Core.LiveEvents;
using Showrunner.Core.Rules.Evaluation;
using Showrunner.Core.Rules.Releases;
using Showrunner.Storage;

namespace Showrunner.Runtime.Ingest;

/// <summary>
/// What one executor hands to the committer: units with their seqs assigned and the actions to
/// write, the ledger entries (with Merkle nodes and outbox deliveries) they and control work
/// caused, partition snapshots, and who to tell once it is durable.
/// </summary>
internal sealed class CommitGroup
{
    public List<WorkUnit> Units { get; } = [];
    public List<ActionRecord> Records { get; } = [];
    public List<LedgerRow> Ledger { get; } = [];
    public List<MerkleNodeRow> Nodes { get; } = [];
    public List<OutboxRow> Outbox { get; } = [];
    public List<PartitionSnapshotRow> Snapshots { get; } = [];
    public List<RolloutAssignmentRow> Assignments { get; } = [];

    /// <summary>The grants of <see cref="Ledger"/>, counted in the grant metrics once the group is durable.</summary>
    public List<PendingGrant> Grants { get; } = [];

    /// <summary>The ledger head of each partition that appended entries, after this group.</summary>
    public List<(Partition Partition, LedgerCommitted Head)> Heads { get; } = [];

    /// <summary>Control work that wrote into this group: completed after the commit.</summary>
    public List<ControlItem> Completions { get; } = [];

    public bool IsEmpty => Units.Count == 0 && Ledger.Count == 0 && Snapshots.Count == 0 && Completions.Count == 0;
}

/// <summary>When partitions take snapshots of their live state (docs/internals/live-events.md, "Snapshots").</summary>
/// <param name="EveryActions">A partition snapshots after N to 2N actions since its last snapshot (N = this; the factor is fixed per partition).</param>
/// <param name="MaxLagActions">A partition with any change snapshots once the whole pipeline sequenced M to 2M actions since its last snapshot, so that no quiet partition holds the restart's replay far back.</param>
internal sealed record SnapshotPolicy(int EveryActions, long MaxLagActions)
{
    /// <summary>
    /// Partition p's own factor in [1, 2): under even load, equal thresholds would make every
    /// partition snapshot in the same group commit (a stall of hundreds of milliseconds with 256
    /// partitions); different periods keep them apart, also after every restart.
    /// </summary>
    private static double Spread(int partition) => 1.0 + (((partition * 37) % 64) / 64.0);

    public int EveryActionsOf(int partition) => (int)Math.Min(int.MaxValue, EveryActions * Spread(partition));

    public long MaxLagActionsOf(int partition) => (long)(MaxLagActions * Spread(partition));
}

/// <summary>
/// Runs a fixed set of partitions (partition p belongs to executor p mod E). For each work unit,
/// in arrival order, the owning partition assigns the next seqs, applies each action to its live
/// state (progress, leaderboards, slots) and appends the grants it owes to its ledger; the records
/// go to the committer as one group. Because a partition is only ever run by its one executor, it
/// is a single writer without locks, and the order of its inbox is the order of its log.
/// </summary>
internal sealed class PartitionExecutor
{
    private readonly Channel<ExecutorItem> _inbox = Channel.CreateUnbounded<ExecutorItem>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
    private readonly GroupCommitter _committer;
    private readonly int _maxActionsPerGroup;
    private readonly List<Partition> _partitions = [];
    private readonly IngestPipeline _pipeline;
    private readonly SnapshotPolicy _snapshots;
    private readonly TimeProvider _time;
    /// <summary>Decoded values per action type of the release last seen (reused: decoding allocates only strings).</summary>
    private readonly Dictionary<ActionDecoder, RecordValues> _scratch = [];
    private readonly List<PendingGrant> _owed = [];
    private readonly List<PendingGrant> _shadowOwed = [];
    private readonly List<CompletedNode> _nodes = [];
    private readonly HashSet<Partition> _appended = [];
    private readonly System.Buffers.ArrayBufferWriter<byte> _payloadBuffer = new(1024);
    private readonly System.Text.Json.Utf8JsonWriter _payloadWriter;
    private Task? _loop;

    public PartitionExecutor(IngestPipeline pipeline, GroupCommitter committer, int maxActionsPerGroup, SnapshotPolicy snapshots, TimeProvider time)
    {
        _pipeline = pipeline;
        _committer = committer;
        _maxActionsPerGroup = maxActionsPerGroup;
        _snapshots = snapshots;
        _time = time;
        _payloadWriter = new System.Text.Json.Utf8JsonWriter(_payloadBuffer);
    }

    public IReadOnlyList<Partition> Partitions => _partitions;

    /// <summary>Gives the executor a partition to run (before it starts).</summary>
    public void Own(Partition partition) => _partitions.Add(partition);

    public void Start() => _loop = Task.Run(RunAsync);

    /// <summary>Queues a unit. Never blocks: admission has already reserved room in the partition's inbox.</summary>
    public void Enqueue(WorkUnit unit)
    {
        if (!Post(unit))
        {
            unit.Batch.Fail(new InvalidOperationException("The runtime is stopping."));
        }
    }

    /// <summary>Queues a release switch behind every unit already queued; it completes once in force on all the executor's partitions.</summary>
    public void Enqueue(ReleaseSwitch change)
    {
        if (!Post(change))
        {
            change.Fail(new InvalidOperationException("The runtime is stopping."));
        }
    }

    /// <summary>Queues a rollout change behind every unit already queued; it completes once in force on all the executor's partitions.</summary>
    public void Enqueue(Rollouts.RolloutSwitch change)
    {
        if (!Post(change))
        {
            change.Fail(new InvalidOperationException("The runtime is stopping."));
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
        item.QueuedAt = System.Diagnostics.Stopwatch.GetTimestamp();
        return _inbox.Writer.TryWrite(item);
    }

    private RecordValues Scratch(ActionDecoder decoder)
    {
        if (_scratch.Count > 512)
        {
            // Decoders of releases no longer in force (each release switch brings new ones).
            _scratch.Clear();
        }
        if (!_scratch.TryGetValue(decoder, out var values))
        {
            values = new RecordValues(decoder.Layout);
            _scratch[decoder] = values;
        }
        return values;
    }

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
    /// has run: meanwhile work units and control work fail at once (never wait), and only the
    /// reload item runs.
    /// </summary>
    public bool Stopped => Volatile.Read(ref _stopped);

    private bool _stopped;

    /// <summary>The <see cref="ExecutorItem.QueuedAt"/> of the oldest item the executor has taken but not finished (0 when idle).</summary>
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
        return busy == 0 ? TimeSpan.Zero : System.Diagnostics.Stopwatch.GetElapsedTime(busy);
    }

    private async Task RunAsync()
    {
        var reader = _inbox.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            var group = new CommitGroup();
            bool snapshotAll = false;
            ExecutorItem? current = null;
            try
            {
                while (group.Records.Count < _maxActionsPerGroup && reader.TryRead(out var item))
                {
                    current = item;
                    if (Volatile.Read(ref _busyWithQueuedAt) == 0)
                    {
                        Volatile.Write(ref _busyWithQueuedAt, item.QueuedAt);
                    }
                    // While the runtime recovers, an executor that already reloaded must not build on
                    // its fresh state with work the still-faulted committer would refuse.
                    if (Stopped || _pipeline.State == RuntimeState.Recovering)
                    {
                        RunStopped(item, group);
                        current = null;
                        continue;
                    }
                    Run(item, group, ref snapshotAll);
                    current = null;
                }
                if (!Stopped && _pipeline.State != RuntimeState.Recovering)
                {
                    CloseGroup(group, snapshotAll);
                }
            }
            catch (Exception exception)
            {
                // Supervision: whatever went wrong, the partitions' in-memory state can no longer be
                // trusted. Nobody of this group waits forever: every unit and control item in it is
                // failed now, the executor stops taking work, and the runtime reloads its partitions
                // from the store (fail-stop, docs/internals/ingest.md "Supervision").
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

    private void Run(ExecutorItem item, CommitGroup group, ref bool snapshotAll)
    {
        switch (item)
        {
            case ReleaseSwitch change:
                foreach (var partition in _partitions)
                {
                    partition.Rules = change.Release;
                }
                change.Complete();
                break;
            case Rollouts.RolloutSwitch change:
                foreach (var partition in _partitions)
                {
                    partition.Rollout = change.Rollout;
                }
                change.Complete();
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
            default:
                var unit = (WorkUnit)item;
                _pipeline.FaultInjection?.Invoke(unit);
                ExecuteTraced(unit, group);
                group.Units.Add(unit);
                break;
        }
    }

    /// <summary>
    /// What a stopped executor does with an item: switches still take effect (they only move a
    /// pointer, and the reload must see the release in force); the reload runs and restarts the
    /// executor; everything else fails at once with a retryable error.
    /// </summary>
    private void RunStopped(ExecutorItem item, CommitGroup group)
    {
        switch (item)
        {
            case ReleaseSwitch or Rollouts.RolloutSwitch:
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
            case WorkUnit unit:
                GroupCommitter.Fail(unit, _pipeline.Registry, new StoreWriteException(StoppedMessage, null));
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
    private void Fault(Exception exception, ExecutorItem? current, CommitGroup group)
    {
        Volatile.Write(ref _stopped, true);
        _pipeline.OnExecutorFaulted(this, exception, current);
        var innocent = new StoreWriteException(StoppedMessage, exception);
        foreach (var unit in group.Units)
        {
            if (!ReferenceEquals(unit, current))
            {
                GroupCommitter.Fail(unit, _pipeline.Registry, innocent);
            }
        }
        foreach (var control in group.Completions)
        {
            if (!ReferenceEquals(control, current))
            {
                control.Fail(innocent);
            }
        }
        var failed = new ExecutorFaultException(exception);
        switch (current)
        {
            case WorkUnit unit:
                GroupCommitter.Fail(unit, _pipeline.Registry, failed);
                break;
            case ControlItem control:
                control.Fail(failed);
                break;
            case ReleaseSwitch change:
                change.Fail(failed);
                break;
            case Rollouts.RolloutSwitch change:
                change.Fail(failed);
                break;
        }
    }

    /// <summary>Runs a unit, recording its queue wait and (when someone listens) its evaluate span.</summary>
    private void ExecuteTraced(WorkUnit unit, CommitGroup group)
    {
        if (unit.EnqueuedAt != 0)
        {
            _pipeline.Metrics.QueueWait.Record(System.Diagnostics.Stopwatch.GetElapsedTime(unit.EnqueuedAt).TotalSeconds);
        }
        if (unit.Trace == default)
        {
            Execute(unit, group);
            return;
        }
        using var span = Observability.ShowrunnerActivities.Source.StartActivity(Observability.ShowrunnerActivities.Spans.Evaluate,
            System.Diagnostics.ActivityKind.Internal, unit.Trace);
        if (span is not null)
        {
            span.SetTag(Observability.ShowrunnerActivities.Tags.ActionId, unit.Entries[0].Action.Id);
            span.SetTag(Observability.ShowrunnerActivities.Tags.ActionCount, unit.Entries.Length);
            span.SetTag(Observability.ShowrunnerActivities.Tags.Partition, unit.Partition.Index);
        }
        int grantsBefore = group.Grants.Count;
        Execute(unit, group);
        span?.SetTag("showrunner.grants", group.Grants.Count - grantsBefore);
    }

    /// <summary>
    /// Checks each action against the release that evaluates it (actions of a type the release
    /// declares must match its schema), sequences the ones that pass, and applies them to the
    /// partition's live state; grants they cause are appended to the partition's ledger in the same
    /// group. Each record carries the release. During a live rollout step the candidate evaluates
    /// the players of its cohort (sticky: recorded with their first such action); during a shadow
    /// step it evaluates the cohort's actions on its own copy of their state and grants nothing.
    /// </summary>
    private void Execute(WorkUnit unit, CommitGroup group)
    {
        var partition = unit.Partition;
        var baseline = partition.Rules;
        var rollout = baseline is null ? null : partition.Rollout;
        long ingestedAt = unit.Batch.IngestedAtTicks;
        var controls = _pipeline.Controls;
        foreach (var entry in unit.Entries)
        {
            var action = entry.Action;
            var release = baseline;
            Rollouts.ActiveRollout? measured = null;
            bool candidate = false, shadow = false;
            long started = 0;
            if (rollout is not null)
            {
                measured = rollout;
                started = System.Diagnostics.Stopwatch.GetTimestamp();
                if (rollout.Step.Mode == Core.Rollouts.StepMode.Live)
                {
                    var assigned = rollout.Assigned[partition.Index];
                    if (assigned.Contains(action.Player) || rollout.InCohort(partition, action.Player))
                    {
                        release = rollout.Candidate;
                        candidate = true;
                    }
                }
                else if (rollout.InCohort(partition, action.Player))
                {
                    shadow = true;
                }
                else
                {
                    measured = null;
                }
            }
            RecordValues? decoded = null;
            if (release?.Loaded.DecoderFor(action.Type) is { } decoder)
            {
                decoded = Scratch(decoder);
                if (!decoder.TryDecode(action.Data, decoded, out var rejection))
                {
                    entry.Seq = 0;
                    entry.Rejection = rejection;
                    if (measured is not null)
                    {
                        (candidate ? measured.CandidateMeters : measured.BaselineMeters)[partition.Index].CountRejected(Microseconds(started));
                    }
                    continue;
                }
            }
            long seq = ++partition.AssignedHead;
            entry.Seq = seq;
            group.Records.Add(new ActionRecord(partition.Index, seq, action.Id, action.Player, action.Type, action.AtTicks, ingestedAt, action.Data, release?.Ref ?? 0));
            if (candidate && rollout!.Assigned[partition.Index].Add(action.Player))
            {
                group.Assignments.Add(new RolloutAssignmentRow(rollout.Id, action.Player, partition.Index, seq));
            }
            var live = new LiveAction(action.Id, action.Player, action.Type, ingestedAt, seq, action.Data);
            if (shadow)
            {
                EvaluateShadow(partition, rollout!, live);
                started = System.Diagnostics.Stopwatch.GetTimestamp();
            }
            _owed.Clear();
            partition.Live.Apply(live, release?.Loaded.Live, decoded, controls, _owed);
            if (rollout is not null && action.Type == Core.Rules.Model.ReleaseChecker.PlayerProfileAction)
            {
                rollout.ProfileChanged(partition.Index, action.Player);
            }
            if (measured is not null)
            {
                var meter = (candidate ? measured.CandidateMeters : measured.BaselineMeters)[partition.Index];
                meter.CountAction(Microseconds(started));
                foreach (var grant in _owed)
                {
                    meter.CountGrant(grant.Cause.EventId, grant.Rewards);
                }
            }
            if (_owed.Count > 0)
            {
                AppendGrants(partition, _owed, group);
            }
        }
        _pipeline.CountSequenced(unit.Entries.Length);
    }

    /// <summary>
    /// A shadow step: the candidate evaluates the action on its own copy of the player's state (taken
    /// from the live state before the player's first shadowed action), and what it would grant is
    /// only counted. Runs before the baseline applies the action, so the copy starts from the same point.
    /// </summary>
    private void EvaluateShadow(Partition partition, Rollouts.ActiveRollout rollout, LiveAction action)
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        var meter = rollout.CandidateMeters[partition.Index];
        var candidate = rollout.Candidate;
        RecordValues? decoded = null;
        if (candidate.Loaded.DecoderFor(action.Type) is { } decoder)
        {
            decoded = Scratch(decoder);
            if (!decoder.TryDecode(action.Data, decoded, out _))
            {
                meter.CountRejected(Microseconds(started));
                return;
            }
        }
        var state = rollout.Shadow[partition.Index] ??= new PartitionState(partition.Index);
        if (state.FindPlayer(action.Player) is null && partition.Live.FindPlayer(action.Player) is { } player)
        {
            state.Adopt(StateCodec.DecodePlayer(action.Player, StateCodec.EncodePlayer(player)));
        }
        _shadowOwed.Clear();
        state.Apply(action, candidate.Loaded.Live, decoded, _pipeline.Controls, _shadowOwed);
        meter.CountAction(Microseconds(started));
        foreach (var grant in _shadowOwed)
        {
            meter.CountGrant(grant.Cause.EventId, grant.Rewards);
        }
    }

    private static long Microseconds(long startedTimestamp) =>
        (long)System.Diagnostics.Stopwatch.GetElapsedTime(startedTimestamp).TotalMicroseconds;

    /// <summary>Appends grants to the partition's ledger and their rows (entry, Merkle nodes, delivery) to the group.</summary>
    internal void AppendGrants(Partition partition, IReadOnlyList<PendingGrant> grants, CommitGroup group)
    {
        foreach (var grant in grants)
        {
            _nodes.Clear();
            var entry = partition.Ledger.Append(grant.Cause, grant.Rewards, grant.ReleaseId, grant.TimeTicks, grant.Author, grant.Reason, grant.ActionId, _nodes);
            group.Ledger.Add(new LedgerRow(partition.Index, entry.Index, Convert.FromHexString(entry.GrantId), entry.Player, entry.EventId, entry.Run,
                GrantEntry.KindName(entry.CauseKind), entry.TimeTicks, entry.CanonicalBytes, entry.PrevHash, entry.Hash));
            foreach (var node in _nodes)
            {
                group.Nodes.Add(new MerkleNodeRow(partition.Index, node.Level, node.Index, node.Hash));
            }
            group.Outbox.Add(new OutboxRow(entry.GrantId, GrantPayload.Build(entry, _payloadBuffer, _payloadWriter), entry.TimeTicks));
            group.Grants.Add(grant);
        }
        if (grants.Count > 0)
        {
            _appended.Add(partition);
        }
    }

    /// <summary>Records the ledger heads the group moved, and adds the snapshots that are due.</summary>
    private void CloseGroup(CommitGroup group, bool snapshotAll)
    {
        foreach (var partition in _appended)
        {
            group.Heads.Add((partition, new LedgerCommitted(partition.Ledger.Size, partition.Ledger.Root())));
        }
        _appended.Clear();
        long sequenced = _pipeline.Sequenced;
        long now = 0;
        foreach (var partition in _partitions)
        {
            var live = partition.Live;
            bool due = snapshotAll
                ? live.IsDirty
                : live.ActionsSinceSnapshot >= _snapshots.EveryActionsOf(partition.Index)
                  || (live.IsDirty && sequenced - partition.SnapshotAtSequenced >= _snapshots.MaxLagActionsOf(partition.Index));
            if (!due)
            {
                continue;
            }
            if (now == 0)
            {
                now = _time.GetUtcNow().UtcTicks;
            }
            var (seq, data, players) = live.TakeSnapshot();
            partition.SnapshotAtSequenced = sequenced;
            group.Snapshots.Add(new PartitionSnapshotRow(partition.Index, seq, now, data,
                [.. players.Select(p => new PlayerStateRow(p.Player, partition.Index, p.Data))]));
        }
    }
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

/// <summary>
/// An executor failed while running this work (a bug or damaged state, never the sender's input
/// alone): nothing of it was applied, and the runtime reloaded the partitions from the store.
/// </summary>
public sealed class ExecutorFaultException(Exception inner)
    : Exception("Evaluating this work failed inside the runtime; its partitions stopped and reload from the store. The failure is logged.", inner);
