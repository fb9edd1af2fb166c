using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using Showrunner.Core.Ledger;
using Showrunner.Core.LiveEvents;
using Showrunner.Core.Rules.Evaluation;
using Showrunner.Core.Rules.Releases;
using Showrunner.Runtime.Ledger;
using Showrunner.Runtime.LiveEvents;
using Showrunner.Runtime.Observability;
using Showrunner.Runtime.Partitions;
using Showrunner.Storage;

namespace Showrunner.Runtime.Ingest;

/// <summary>
/// Live events and the ledger as a partition module: each partition's action log (seqs), live
/// state (progress, leaderboards, contribution slots) and Merkle ledger. Work is a
/// <see cref="WorkUnit"/> (one batch's actions of one partition); the release in force and the
/// rollout are module-level policy, switched with host fences (<see cref="IngestPipeline.SwitchReleaseAsync"/>,
/// <see cref="IngestPipeline.SwitchRolloutAsync"/>) and read by <see cref="Execute"/> for each action.
/// It writes today's rows (actions, ledger entries, Merkle nodes, outbox, snapshots, rollout
/// assignments) through <see cref="LiveWrites"/>.
/// </summary>
internal sealed class LiveModule : IPartitionModule
{
    /// <summary>The module's name; its keys (players) route without a prefix (<see cref="EntityRouter"/>), as before the host existed.</summary>
    public const string ModuleName = EntityRouter.UnprefixedModule;

    private readonly IngestPipeline _pipeline;
    private readonly IActionStore _store;
    private readonly TimeProvider _time;
    private readonly Dictionary<(string Event, CauseKind Kind), long> _grantCounts = [];
    private readonly Dictionary<(string Event, string Currency), (long Granted, long Reversed)> _amounts = [];
    private bool _loadedOnce;
    private long _committedActions;
    private long _committedGrants;

    public LiveModule(IngestPipeline pipeline, IActionStore store, TimeProvider time, int partitionCount)
    {
        _pipeline = pipeline;
        _store = store;
        _time = time;
        Partitions = new Partition[partitionCount];
        for (int p = 0; p < partitionCount; p++)
        {
            Partitions[p] = new Partition(p);
        }
    }

    public string Name => ModuleName;

    /// <summary>The module's state in every partition, indexed by partition (the host holds the same objects).</summary>
    public Partition[] Partitions { get; }

    /// <summary>Every action id between admission and commit, process-wide.</summary>
    public InFlightRegistry Registry { get; } = new();

    /// <summary>What the first load (at start) did.</summary>
    public LiveLoadReport? FirstLoad { get; private set; }

    /// <summary>Actions durably committed since start.</summary>
    public long CommittedActions => Interlocked.Read(ref _committedActions);

    /// <summary>Grants durably committed since start.</summary>
    public long CommittedGrants => Interlocked.Read(ref _committedGrants);

    /// <summary>Raised (on the committer thread, must not block) after a commit that enqueued grant deliveries.</summary>
    public event Action? GrantsCommitted;

    public IModulePartition CreatePartition(int partition) => Partitions[partition];

    /// <summary>Reads the log heads of every partition and the operator controls in force (at start and before every reload).</summary>
    public void BeginLoad()
    {
        long[] heads = _store.LoadPartitionHeads();
        if (heads.Length != Partitions.Length)
        {
            throw new InvalidOperationException($"The store holds {heads.Length} partitions, the runtime {Partitions.Length}.");
        }
        for (int p = 0; p < heads.Length; p++)
        {
            Partitions[p].AssignedHead = heads[p];
            Partitions[p].CommittedHead = heads[p];
        }
        _pipeline.LoadControls();
    }

    public void Load(IReadOnlyList<IModulePartition> partitions)
    {
        var own = new List<Partition>(partitions.Count);
        foreach (var state in partitions)
        {
            var partition = (Partition)state;
            partition.AssignedHead = partition.CommittedHead;
            partition.LedgerMoved = false;
            own.Add(partition);
        }
        var report = new LiveStateLoader(_store, _pipeline.ReleaseInForce).Load(own, _pipeline.Controls);
        if (!_loadedOnce)
        {
            _loadedOnce = true;
            FirstLoad = report;
            return;
        }
        foreach (var partition in own)
        {
            // Assignments in memory may include players whose first candidate action did not commit.
            if (partition.Rollout is { } rollout)
            {
                rollout.Reload(partition.Index, _store.Rollouts.Assignments(rollout.Id));
            }
        }
    }

    /// <summary>Hands the group the ledger head the group's grants moved to, and the partition's snapshot when due.</summary>
    public void CloseGroup(IModulePartition state, CommitGroup group, bool snapshot)
    {
        var partition = (Partition)state;
        var writes = Writes(group);
        if (partition.LedgerMoved)
        {
            partition.LedgerMoved = false;
            writes.Heads.Add((partition, new LedgerCommitted(partition.Ledger.Size, partition.Ledger.Root())));
        }
        if (snapshot)
        {
            var (seq, data, players) = partition.Live.TakeSnapshot();
            writes.Snapshots.Add(new PartitionSnapshotRow(partition.Index, seq, _time.GetUtcNow().UtcTicks, data,
                [.. players.Select(p => new PlayerStateRow(p.Player, partition.Index, p.Data))]));
        }
    }

    private LiveWrites Writes(CommitGroup group)
    {
        var writes = group.Writes<LiveWrites>();
        writes.Module ??= this;
        return writes;
    }

    /// <summary>
    /// Checks each action against the release that evaluates it (actions of a type the release
    /// declares must match its schema), sequences the ones that pass, and applies them to the
    /// partition's live state; grants they cause are appended to the partition's ledger in the same
    /// group. Each record carries the release. During a live rollout step the candidate evaluates
    /// the players of its cohort (sticky: recorded with their first such action); during a shadow
    /// step it evaluates the cohort's actions on its own copy of their state and grants nothing.
    /// </summary>
    public void Execute(WorkUnit unit, CommitGroup group)
    {
        var writes = Writes(group);
        var scratch = group.Scratch<LiveScratch>();
        var partition = unit.Partition;
        var baseline = partition.Rules;
        var rollout = baseline is null ? null : partition.Rollout;
        long ingestedAt = unit.Batch.IngestedAtTicks;
        var controls = _pipeline.Controls;
        var owed = scratch.Owed;
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
                started = Stopwatch.GetTimestamp();
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
                decoded = scratch.Values(decoder);
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
            writes.Records.Add(new ActionRecord(partition.Index, seq, action.Id, action.Player, action.Type, action.AtTicks, ingestedAt, action.Data, release?.Ref ?? 0));
            if (candidate && rollout!.Assigned[partition.Index].Add(action.Player))
            {
                writes.Assignments.Add(new RolloutAssignmentRow(rollout.Id, action.Player, partition.Index, seq));
            }
            var live = new LiveAction(action.Id, action.Player, action.Type, ingestedAt, seq, action.Data);
            if (shadow)
            {
                EvaluateShadow(partition, rollout!, live, scratch);
                started = Stopwatch.GetTimestamp();
            }
            owed.Clear();
            partition.Live.Apply(live, release?.Loaded.Live, decoded, controls, owed);
            if (rollout is not null && action.Type == Core.Rules.Model.ReleaseChecker.PlayerProfileAction)
            {
                rollout.ProfileChanged(partition.Index, action.Player);
            }
            if (measured is not null)
            {
                var meter = (candidate ? measured.CandidateMeters : measured.BaselineMeters)[partition.Index];
                meter.CountAction(Microseconds(started));
                foreach (var grant in owed)
                {
                    meter.CountGrant(grant.Cause.EventId, grant.Rewards);
                }
            }
            if (owed.Count > 0)
            {
                unit.Grants += owed.Count;
                AppendGrants(partition, owed, group);
            }
        }
    }

    /// <summary>
    /// A shadow step: the candidate evaluates the action on its own copy of the player's state (taken
    /// from the live state before the player's first shadowed action), and what it would grant is
    /// only counted. Runs before the baseline applies the action, so the copy starts from the same point.
    /// </summary>
    private void EvaluateShadow(Partition partition, Rollouts.ActiveRollout rollout, LiveAction action, LiveScratch scratch)
    {
        long started = Stopwatch.GetTimestamp();
        var meter = rollout.CandidateMeters[partition.Index];
        var candidate = rollout.Candidate;
        RecordValues? decoded = null;
        if (candidate.Loaded.DecoderFor(action.Type) is { } decoder)
        {
            decoded = scratch.Values(decoder);
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
        var shadowOwed = scratch.ShadowOwed;
        shadowOwed.Clear();
        state.Apply(action, candidate.Loaded.Live, decoded, _pipeline.Controls, shadowOwed);
        meter.CountAction(Microseconds(started));
        foreach (var grant in shadowOwed)
        {
            meter.CountGrant(grant.Cause.EventId, grant.Rewards);
        }
    }

    private static long Microseconds(long startedTimestamp) => (long)Stopwatch.GetElapsedTime(startedTimestamp).TotalMicroseconds;

    /// <summary>Appends grants to the partition's ledger and their rows (entry, Merkle nodes, delivery) to the group (on the partition's executor).</summary>
    public void AppendGrants(Partition partition, IReadOnlyList<PendingGrant> grants, CommitGroup group)
    {
        if (grants.Count == 0)
        {
            return;
        }
        var writes = Writes(group);
        var scratch = group.Scratch<LiveScratch>();
        var nodes = scratch.Nodes;
        foreach (var grant in grants)
        {
            nodes.Clear();
            var entry = partition.Ledger.Append(grant.Cause, grant.Rewards, grant.ReleaseId, grant.TimeTicks, grant.Author, grant.Reason, grant.ActionId, nodes);
            writes.Ledger.Add(new LedgerRow(partition.Index, entry.Index, Convert.FromHexString(entry.GrantId), entry.Player, entry.EventId, entry.Run,
                GrantEntry.KindName(entry.CauseKind), entry.TimeTicks, entry.CanonicalBytes, entry.PrevHash, entry.Hash));
            foreach (var node in nodes)
            {
                writes.Nodes.Add(new MerkleNodeRow(partition.Index, node.Level, node.Index, node.Hash));
            }
            writes.Outbox.Add(new OutboxRow(entry.GrantId, GrantPayload.Build(entry, scratch.PayloadBuffer, scratch.PayloadWriter), entry.TimeTicks));
            writes.Grants.Add(grant);
        }
        partition.LedgerMoved = true;
    }

    /// <summary>After a durable commit of a group's live rows (committer thread): counts them, measures the grants, wakes the outbox.</summary>
    internal void OnCommitted(LiveWrites writes)
    {
        Interlocked.Add(ref _committedActions, writes.Records.Count);
        if (writes.Ledger.Count == 0)
        {
            return;
        }
        Interlocked.Add(ref _committedGrants, writes.Ledger.Count);
        var metrics = _pipeline.Metrics;
        if (metrics.Grants.Enabled || metrics.CurrencyGranted.Enabled || metrics.CurrencyReversed.Enabled)
        {
            CountGrants(writes.Grants, metrics);
        }
        if (writes.Outbox.Count > 0)
        {
            GrantsCommitted?.Invoke();
        }
    }

    /// <summary>
    /// Counts a group's grants per (event, kind) and their amounts per (event, currency): summed
    /// here first, so a group of hundreds of grants of a few events makes a few measurements, not
    /// hundreds, on the one thread that writes the store. The dictionaries are reused (committer thread only).
    /// </summary>
    private void CountGrants(List<PendingGrant> grants, ShowrunnerMetrics metrics)
    {
        _grantCounts.Clear();
        _amounts.Clear();
        foreach (var grant in grants)
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
        foreach (var ((eventId, kind), count) in _grantCounts)
        {
            metrics.Grants.Add(count, new KeyValuePair<string, object?>("event", eventId), new KeyValuePair<string, object?>("kind", GrantEntry.KindName(kind)));
        }
        foreach (var ((eventId, currency), (granted, reversed)) in _amounts)
        {
            var eventTag = new KeyValuePair<string, object?>("event", eventId);
            var currencyTag = new KeyValuePair<string, object?>("currency", currency);
            if (granted > 0)
            {
                metrics.CurrencyGranted.Add(granted, eventTag, currencyTag);
            }
            if (reversed > 0)
            {
                metrics.CurrencyReversed.Add(reversed, eventTag, currencyTag);
            }
        }
    }
}

/// <summary>
/// The live module's rows in one commit group: today's tables (actions, ledger entries, Merkle
/// nodes, outbox deliveries, partition snapshots, rollout assignments), and the ledger heads and
/// grants to publish once durable.
/// </summary>
internal sealed class LiveWrites : ICommitWrite
{
    public LiveModule? Module { get; set; }
    public List<ActionRecord> Records { get; } = [];
    public List<LedgerRow> Ledger { get; } = [];
    public List<MerkleNodeRow> Nodes { get; } = [];
    public List<OutboxRow> Outbox { get; } = [];
    public List<PartitionSnapshotRow> Snapshots { get; } = [];
    public List<RolloutAssignmentRow> Assignments { get; } = [];

    /// <summary>The grants of <see cref="Ledger"/>, counted in the grant metrics once durable.</summary>
    public List<PendingGrant> Grants { get; } = [];

    /// <summary>The ledger head of each partition that appended entries, after this group.</summary>
    public List<(Partition Partition, LedgerCommitted Head)> Heads { get; } = [];

    public bool IsEmpty => Records.Count == 0 && Ledger.Count == 0 && Snapshots.Count == 0 && Assignments.Count == 0 && Heads.Count == 0;

    public void AddTo(CommitBatch batch)
    {
        batch.Actions.AddRange(Records);
        batch.Ledger.AddRange(Ledger);
        batch.Nodes.AddRange(Nodes);
        batch.Outbox.AddRange(Outbox);
        batch.Assignments.AddRange(Assignments);
        foreach (var snapshot in Snapshots)
        {
            // Behind every action of its partition up to its seq, all of which are in this batch or
            // an earlier one (one executor's groups arrive in order, and this group's actions are
            // added just above).
            snapshot.ActionsBefore = batch.Actions.Count;
            batch.Snapshots.Add(snapshot);
        }
    }

    public void Committed()
    {
        foreach (var (partition, head) in Heads)
        {
            partition.CommittedLedger = head;
        }
        Module?.OnCommitted(this);
    }
}

/// <summary>One executor's reusable buffers for the live module (<see cref="CommitGroup.Scratch{T}"/>): decoding allocates only strings.</summary>
internal sealed class LiveScratch
{
    /// <summary>Decoded values per action type of the releases last seen.</summary>
    private readonly Dictionary<ActionDecoder, RecordValues> _values = [];

    public List<PendingGrant> Owed { get; } = [];
    public List<PendingGrant> ShadowOwed { get; } = [];
    public List<CompletedNode> Nodes { get; } = [];
    public ArrayBufferWriter<byte> PayloadBuffer { get; }
    public Utf8JsonWriter PayloadWriter { get; }

    public LiveScratch()
    {
        PayloadBuffer = new ArrayBufferWriter<byte>(1024);
        PayloadWriter = new Utf8JsonWriter(PayloadBuffer);
    }

    public RecordValues Values(ActionDecoder decoder)
    {
        if (_values.Count > 512)
        {
            // Decoders of releases no longer in force (each release switch brings new ones).
            _values.Clear();
        }
        if (!_values.TryGetValue(decoder, out var values))
        {
            values = new RecordValues(decoder.Layout);
            _values[decoder] = values;
        }
        return values;
    }
}
