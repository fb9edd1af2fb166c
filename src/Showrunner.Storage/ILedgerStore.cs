namespace Showrunner.Storage;

/// <summary>One ledger entry as written and stored (the canonical bytes and the columns repeated for lookups).</summary>
/// <param name="GrantId">The 32 bytes of the grant id (its hex form is what the API shows).</param>
/// <param name="Entry">The canonical entry bytes (docs/ledger.md, "Entry").</param>
public sealed record LedgerRow(
    int Partition, long Index, byte[] GrantId, string Player, string EventId, long Run, string CauseKind, long TimeTicks,
    byte[] Entry, byte[] PrevHash, byte[] Hash);

/// <summary>A complete subtree hash of a partition's Merkle log, at level 1 or above.</summary>
public readonly record struct MerkleNodeRow(int Partition, int Level, long Index, byte[] Hash);

/// <summary>
/// A partition's derived state as of <paramref name="Seq"/>: partition-wide data and the players
/// whose state changed since the previous snapshot. Written through the group commit behind the
/// partition's actions up to <paramref name="Seq"/>.
/// </summary>
/// <param name="ActionsBefore">
/// How many actions of the same <see cref="CommitBatch"/> precede the snapshot (the committer sets
/// it): the store records as the snapshot's position the log position of the last of them (or
/// the last position committed before the batch), a bound that every later action of the
/// partition exceeds.
/// </param>
public sealed record PartitionSnapshotRow(int Partition, long Seq, long TakenAtTicks, byte[] Data, IReadOnlyList<PlayerStateRow> Players)
{
    public int ActionsBefore { get; set; }
}

/// <summary>One player's stored state.</summary>
public sealed record PlayerStateRow(string Player, int Partition, byte[] Data);

/// <summary>A partition snapshot as loaded at start.</summary>
public sealed record StoredPartitionSnapshot(int Partition, long Seq, long Position, long TakenAtTicks, byte[] Data);

/// <summary>A delivery to enqueue with the grant that it delivers.</summary>
public sealed record OutboxRow(string GrantId, byte[] Payload, long EnqueuedAtTicks);

/// <summary>A signed checkpoint as stored.</summary>
public sealed record StoredCheckpoint(long Sequence, long TimeTicks, string KeyId, byte[] Body, byte[] Signature);

/// <summary>The recorded fact that a run's community goal was reached.</summary>
public sealed record StoredGoal(string EventId, long Run, long AtTicks, long Sum, long ReleaseRef);

/// <summary>
/// One record of a partition module's own log (any module but live events, whose actions have
/// their own table): the module's partition log, numbered 1, 2, 3, … per (module, partition)
/// without gaps. The payload is the module's own encoding; the store never reads it.
/// </summary>
public sealed record ModuleLogRow(string Module, int Partition, long Seq, byte[] Payload);

/// <summary>
/// A partition module's state of one partition as of its log's <paramref name="Seq"/> (a restart
/// restores it and replays the module's log after that seq). One per (module, partition): a newer
/// snapshot replaces the older one.
/// </summary>
public sealed record ModuleSnapshotRow(string Module, int Partition, long Seq, long TakenAtTicks, byte[] Data);

/// <summary>
/// Everything one durable transaction writes: actions, and what they (and control work in the
/// partitions) caused — ledger entries, their Merkle nodes, outbox deliveries, partition snapshots
/// — and the log records and snapshots of the other partition modules. All or nothing.
/// </summary>
public sealed class CommitBatch
{
    public List<ActionRecord> Actions { get; } = [];
    public List<LedgerRow> Ledger { get; } = [];
    public List<MerkleNodeRow> Nodes { get; } = [];
    public List<OutboxRow> Outbox { get; } = [];
    public List<PartitionSnapshotRow> Snapshots { get; } = [];
    public List<RolloutAssignmentRow> Assignments { get; } = [];

    /// <summary>
    /// Optional owner epochs (docs/internals/storage.md, "Owner epochs"). Empty: the batch is
    /// unfenced, as a single process that holds the data directory writes. Not empty: the store
    /// writes the batch only if every fence's epoch is its partition's current epoch, checked in the
    /// same transaction, and otherwise writes nothing and throws <see cref="StaleEpochException"/>;
    /// every partition the batch writes (actions, ledger rows, nodes, snapshots, assignments, module records and snapshots) must
    /// then be fenced, or the store throws <see cref="ArgumentException"/> and writes nothing.
    /// Fences alone do not make a batch non-empty.
    /// </summary>
    public List<PartitionFence> Fences { get; } = [];


    /// <summary>Records of the modules' own partition logs (docs/internals/runtime.md, "The module seam").</summary>
    public List<ModuleLogRow> ModuleLog { get; } = [];

    /// <summary>Snapshots of the modules' partition states.</summary>
    public List<ModuleSnapshotRow> ModuleSnapshots { get; } = [];

    public bool IsEmpty => Actions.Count == 0 && Ledger.Count == 0 && Nodes.Count == 0 && Outbox.Count == 0 && Snapshots.Count == 0 && Assignments.Count == 0
        && ModuleLog.Count == 0 && ModuleSnapshots.Count == 0;

    /// <summary>
    /// The shape check every store makes before writing a fenced batch: fences name partitions of the
    /// store with non-negative epochs, and every partition the batch writes is fenced (a no-op for
    /// an unfenced batch). The epochs themselves are compared by the store, in its transaction.
    /// </summary>
    /// <exception cref="ArgumentException">The batch is fenced but malformed: nothing may be written.</exception>
    public void CheckFences(int partitionCount)
    {
        if (Fences.Count == 0)
        {
            return;
        }
        var fenced = new HashSet<int>();
        foreach (var fence in Fences)
        {
            if (fence.Partition < 0 || fence.Partition >= partitionCount || fence.Epoch < 0)
            {
                throw new ArgumentException($"The fence {fence} names no partition of {partitionCount} or a negative epoch: nothing was written.", nameof(Fences));
            }
            fenced.Add(fence.Partition);
        }
        var written = Actions.Select(a => a.Partition).Concat(Ledger.Select(l => l.Partition)).Concat(Nodes.Select(n => n.Partition))
            .Concat(Snapshots.Select(s => s.Partition)).Concat(Assignments.Select(a => a.Partition))
            .Concat(ModuleLog.Select(m => m.Partition)).Concat(ModuleSnapshots.Select(m => m.Partition));
        foreach (int partition in written)
        {
            if (!fenced.Contains(partition))
            {
                throw new ArgumentException($"The batch is fenced but writes partition {partition} without a fence: nothing was written.", nameof(Fences));
            }
        }
    }

    public void Clear()
    {
        Actions.Clear();
        Ledger.Clear();
        Nodes.Clear();
        Outbox.Clear();
        Snapshots.Clear();
        Assignments.Clear();
        ModuleLog.Clear();
        ModuleSnapshots.Clear();
        Fences.Clear();
    }
}

/// <summary>
/// Reads of the partition modules' own logs and snapshots (written through
/// <see cref="IActionStore.Commit"/>, <see cref="CommitBatch.ModuleLog"/> and
/// <see cref="CommitBatch.ModuleSnapshots"/>). Safe from any thread; committed data only.
/// </summary>
public interface IModuleLogStore
{
    /// <summary>The latest snapshot of the module's partition, or null.</summary>
    ModuleSnapshotRow? LoadSnapshot(string module, int partition);

    /// <summary>The module's log records of one partition with seq above <paramref name="afterSeq"/>, in seq order, at most <paramref name="limit"/>.</summary>
    IReadOnlyList<ModuleLogRow> ReadLog(string module, int partition, long afterSeq, int limit);

    /// <summary>The last seq of the module's log of one partition (0 when empty).</summary>
    long Head(string module, int partition);
}

/// <summary>The head of one partition's ledger as stored: its size and the hash of its last entry (32 zero bytes when empty).</summary>
public sealed record LedgerHead(int Partition, long Size, byte[] LastHash);

/// <summary>
/// Reads of the ledger, checkpoints, community-goal records and partition snapshots, and the few
/// writes that are not part of a group commit (checkpoints, goal records).
/// </summary>
/// <remarks>
/// Reads are safe from any thread, concurrently with the group commit; they see committed data
/// only. <see cref="AppendCheckpoint"/> and <see cref="AppendGoal"/> must run on the store's
/// writer thread (the group committer's exclusive work), like every other write.
/// </remarks>
public interface ILedgerStore
{
    /// <summary>Size and last hash of every partition's ledger, indexed by partition.</summary>
    LedgerHead[] LoadHeads();

    /// <summary>
    /// The hash of a Merkle node of partition <paramref name="partition"/>: at level 0 the leaf hash
    /// of entry <paramref name="index"/> (SHA-256(0x00 ‖ entry hash)), above it a stored complete
    /// subtree. Throws <see cref="KeyNotFoundException"/> when the node is not stored.
    /// </summary>
    byte[] ReadNode(int partition, int level, long index);

    /// <summary>The entry with this grant id (32 bytes), or null.</summary>
    LedgerRow? FindGrant(byte[] grantId);

    /// <summary>Adds to <paramref name="found"/> the grant ids (32 bytes, as lower-case hex) of <paramref name="grantIds"/> that are stored.</summary>
    void FindGrants(IReadOnlyList<byte[]> grantIds, HashSet<string> found);

    /// <summary>A player's entries, in (partition, index) order, after <paramref name="afterIndex"/> when given, at most <paramref name="limit"/>.</summary>
    IReadOnlyList<LedgerRow> EntriesOfPlayer(string player, long? afterIndex, int limit);

    /// <summary>Entries of one partition from index <paramref name="fromIndex"/> on, in index order, at most <paramref name="limit"/>.</summary>
    IReadOnlyList<LedgerRow> ReadEntries(int partition, long fromIndex, int limit);

    /// <summary>The number of entries in the whole ledger.</summary>
    long CountEntries();

    /// <summary>Grant ids (hex) stored more than once (the unique index should make this empty), at most <paramref name="limit"/>.</summary>
    IReadOnlyList<string> DuplicateGrantIds(int limit);

    /// <summary>Writes a checkpoint; false (nothing written) if its sequence is taken. Writer thread only.</summary>
    bool AppendCheckpoint(StoredCheckpoint checkpoint);

    StoredCheckpoint? LatestCheckpoint();

    StoredCheckpoint? ReadCheckpoint(long sequence);

    /// <summary>Checkpoints newest first, with sequence below <paramref name="beforeSequence"/> when given, at most <paramref name="limit"/>.</summary>
    IReadOnlyList<StoredCheckpoint> ListCheckpoints(long? beforeSequence, int limit);

    /// <summary>Every checkpoint, oldest first.</summary>
    IEnumerable<StoredCheckpoint> AllCheckpoints();

    /// <summary>Records that a run's goal was reached; false (nothing written) if it already was. Writer thread only.</summary>
    bool AppendGoal(StoredGoal goal);

    IReadOnlyList<StoredGoal> LoadGoals();

    IReadOnlyList<StoredPartitionSnapshot> LoadSnapshots();

    /// <summary>Every stored player state of one partition.</summary>
    IEnumerable<PlayerStateRow> LoadPlayerStates(int partition);

    /// <summary>Actions with log position above <paramref name="afterPosition"/>, in position order (a streaming read).</summary>
    IEnumerable<(long Position, ActionRecord Action)> ReadActionsAfter(long afterPosition);
}
