using System.Security.Cryptography;
using Showrunner.Storage.Audit;
using Showrunner.Storage.Outbox;

namespace Showrunner.Storage.Memory;

/// <summary>
/// The whole storage contract in memory: the action log, the ledger, owner epochs and every
/// control store, with the semantics the durable stores have (uniqueness of action and grant ids,
/// heads that only advance, fenced commits, compare-and-set) and none of their durability: state
/// lives as long as the object. For fast tests; passes the same conformance suite as the SQLite
/// store (tests/Showrunner.Storage.Tests, StoreConformanceTests).
/// </summary>
/// <remarks>
/// <para>
/// Atomicity: <see cref="Commit"/> checks the whole batch (fences, ids, heads, shapes) before it
/// changes anything, so a refused batch leaves no trace, as a rolled-back transaction does.
/// </para>
/// <para>
/// Threading: one lock guards the log, the ledger and the epochs (the role of SQLite's write
/// lock); each control store has its own. Reads copy what they return under the lock, so a caller
/// never sees a half-applied batch. Records are immutable; byte arrays are stored as given (tests
/// must not change them after handing them over).
/// </para>
/// <para>
/// It keeps no data directory: <see cref="StoreInfo.Created"/> is true on the first
/// <see cref="Open"/> only, and a second store object does not see the first one's data.
/// </para>
/// </remarks>
public sealed class InMemoryStore : IActionStore, ILedgerStore, IPartitionLog, IModuleLogStore
{
    /// <summary>The lowest Merkle level kept, as in the SQLite store: lower subtrees are folded from the entries when read.</summary>
    public const int MinStoredNodeLevel = 4;

    private const string PlayerProfileType = "player.profile";

    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    // The log in position order (position = index + 1) and its indexes.
    private readonly List<ActionRecord> _log = [];
    private readonly Dictionary<string, ActionRecord> _byId = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _profiles = new(StringComparer.Ordinal);
    private long[] _heads = [];
    private readonly Dictionary<int, PartitionOwner> _owners = [];
    // The ledger per partition in index order, and by grant id (hex).
    private List<LedgerRow>[] _ledger = [];
    private readonly Dictionary<string, LedgerRow> _byGrant = new(StringComparer.Ordinal);
    private readonly Dictionary<(int Partition, int Level, long Index), byte[]> _nodes = [];
    private readonly SortedDictionary<long, StoredCheckpoint> _checkpoints = [];
    private readonly SortedDictionary<(string EventId, long Run), StoredGoal> _goals = new(GoalOrder.Instance);
    private readonly SortedDictionary<int, StoredPartitionSnapshot> _snapshots = [];
    private readonly Dictionary<string, PlayerStateRow> _playerStates = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Module, int Partition), List<ModuleLogRow>> _moduleLogs = [];
    private readonly Dictionary<(string Module, int Partition), ModuleSnapshotRow> _moduleSnapshots = [];
    private readonly InMemoryReleaseStore _releases = new();
    private readonly InMemoryRunStore _runs;
    private readonly InMemoryRolloutStore _rollouts;
    private readonly InMemoryOutboxStore _outbox = new();
    private readonly InMemoryKeyStore _keys = new();
    private readonly InMemoryAuditStore _audit = new();
    private readonly InMemoryApprovalStore _approvals = new();
    private int _partitionCount;
    private bool _opened;
    private bool _disposed;

    public InMemoryStore(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
        _runs = new InMemoryRunStore(_releases);
        _rollouts = new InMemoryRolloutStore(_releases);
    }

    public StoreInfo Open(int partitionCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(partitionCount);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_opened)
            {
                if (partitionCount != _partitionCount)
                {
                    throw new StoreConfigurationException("partition_count_mismatch",
                        $"The store was created with {_partitionCount} partitions, but {partitionCount} were asked for.");
                }
                return Info(created: false);
            }
            _partitionCount = partitionCount;
            _heads = new long[partitionCount];
            _ledger = new List<LedgerRow>[partitionCount];
            for (int p = 0; p < partitionCount; p++)
            {
                _ledger[p] = [];
            }
            _opened = true;
            return Info(created: true);
        }
    }

    private StoreInfo Info(bool created) => new(_partitionCount, created, SchemaVersion: 1, "memory", "none (in memory)", "memory");

    public long[] LoadPartitionHeads()
    {
        lock (_lock)
        {
            CheckOpen();
            return (long[])_heads.Clone();
        }
    }

    public void Append(IReadOnlyList<ActionRecord> records)
    {
        var batch = new CommitBatch();
        batch.Actions.AddRange(records);
        Commit(batch);
    }

    public void Commit(CommitBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        lock (_lock)
        {
            CheckOpen();
            batch.CheckFences(_partitionCount);
            foreach (var fence in batch.Fences)
            {
                long current = _owners.TryGetValue(fence.Partition, out var owner) ? owner.Epoch : 0;
                if (current != fence.Epoch)
                {
                    throw new StaleEpochException(fence.Partition, fence.Epoch, current);
                }
            }
            var newHeads = CheckActions(batch.Actions);
            CheckLedger(batch);
            CheckModuleLog(batch.ModuleLog);
            foreach (var snapshot in batch.Snapshots)
            {
                CheckPartition(snapshot.Partition);
                if (snapshot.ActionsBefore < 0 || snapshot.ActionsBefore > batch.Actions.Count)
                {
                    throw new InvalidDataException($"The snapshot of partition {snapshot.Partition} says {snapshot.ActionsBefore} actions precede it; the batch has {batch.Actions.Count}.");
                }
            }

            // Everything is checked: from here on nothing fails, so the batch lands whole.
            long positionBefore = _log.Count;
            foreach (var action in batch.Actions)
            {
                _log.Add(action);
                _byId.Add(action.Id, action);
                if (action.Type == PlayerProfileType)
                {
                    _profiles[action.Player] = JsonMergePatch.Apply(_profiles.GetValueOrDefault(action.Player), action.Data);
                }
            }
            foreach (var (partition, head) in newHeads)
            {
                _heads[partition] = head;
            }
            foreach (var row in batch.Ledger)
            {
                _ledger[row.Partition].Add(row);
                _byGrant.Add(Convert.ToHexStringLower(row.GrantId), row);
            }
            foreach (var node in batch.Nodes)
            {
                if (node.Level >= MinStoredNodeLevel)
                {
                    _nodes[(node.Partition, node.Level, node.Index)] = node.Hash;
                }
            }
            foreach (var row in batch.Outbox)
            {
                // As the SQLite store: a grant has one delivery; a repeated enqueue is harmless.
                _ = _outbox.EnqueueAsync(row.GrantId, row.Payload, new DateTimeOffset(row.EnqueuedAtTicks, TimeSpan.Zero));
            }
            foreach (var snapshot in batch.Snapshots)
            {
                long position = positionBefore + snapshot.ActionsBefore;
                if (!_snapshots.TryGetValue(snapshot.Partition, out var stored) || snapshot.Seq >= stored.Seq)
                {
                    _snapshots[snapshot.Partition] = new StoredPartitionSnapshot(snapshot.Partition, snapshot.Seq, position, snapshot.TakenAtTicks, snapshot.Data);
                }
                foreach (var state in snapshot.Players)
                {
                    _playerStates[state.Player] = state;
                }
            }
            _rollouts.WriteAssignments(batch.Assignments);
            foreach (var row in batch.ModuleLog)
            {
                ModuleLogOf(row.Module, row.Partition).Add(row);
            }
            foreach (var snapshot in batch.ModuleSnapshots)
            {
                _moduleSnapshots[(snapshot.Module, snapshot.Partition)] = snapshot;
            }
        }
    }

    /// <summary>As the SQLite store's primary key (module, partition, seq): a record at a taken seq fails the whole batch.</summary>
    private void CheckModuleLog(List<ModuleLogRow> rows)
    {
        var taken = new HashSet<(string, int, long)>();
        foreach (var row in rows)
        {
            CheckPartition(row.Partition);
            bool stored = _moduleLogs.TryGetValue((row.Module, row.Partition), out var log) && log.Exists(r => r.Seq == row.Seq);
            if (stored || !taken.Add((row.Module, row.Partition, row.Seq)))
            {
                throw new InvalidDataException($"Module {row.Module} already has a record at seq {row.Seq} of partition {row.Partition}: nothing was written.");
            }
        }
    }

    private List<ModuleLogRow> ModuleLogOf(string module, int partition)
    {
        if (!_moduleLogs.TryGetValue((module, partition), out var log))
        {
            log = [];
            _moduleLogs[(module, partition)] = log;
        }
        return log;
    }

    public IModuleLogStore Modules => Opened(this);

    ModuleSnapshotRow? IModuleLogStore.LoadSnapshot(string module, int partition)
    {
        lock (_lock)
        {
            return _moduleSnapshots.GetValueOrDefault((module, partition));
        }
    }

    IReadOnlyList<ModuleLogRow> IModuleLogStore.ReadLog(string module, int partition, long afterSeq, int limit)
    {
        lock (_lock)
        {
            return _moduleLogs.TryGetValue((module, partition), out var log)
                ? [.. log.Where(r => r.Seq > afterSeq).OrderBy(r => r.Seq).Take(limit)]
                : [];
        }
    }

    long IModuleLogStore.Head(string module, int partition)
    {
        lock (_lock)
        {
            return _moduleLogs.TryGetValue((module, partition), out var log) && log.Count > 0 ? log.Max(r => r.Seq) : 0;
        }
    }

    /// <summary>Action ids new (in the store and in the batch) and each touched partition's head advancing; returns the new heads.</summary>
    private Dictionary<int, long> CheckActions(List<ActionRecord> actions)
    {
        var heads = new Dictionary<int, long>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var action in actions)
        {
            CheckPartition(action.Partition);
            if (_byId.ContainsKey(action.Id) || !ids.Add(action.Id))
            {
                throw new InvalidOperationException($"Action id '{action.Id}' is already stored: the batch was not written (ids are unique forever).");
            }
            heads[action.Partition] = Math.Max(heads.GetValueOrDefault(action.Partition), action.Seq);
        }
        foreach (var (partition, head) in heads)
        {
            if (head <= _heads[partition])
            {
                throw new InvalidDataException($"The head of partition {partition} did not advance to {head}: the log and its heads disagree.");
            }
        }
        return heads;
    }

    private void CheckLedger(CommitBatch batch)
    {
        var grants = new HashSet<string>(StringComparer.Ordinal);
        var indexes = new HashSet<(int, long)>();
        foreach (var row in batch.Ledger)
        {
            CheckPartition(row.Partition);
            if (row.GrantId.Length != 32 || row.PrevHash.Length != 32 || row.Hash.Length != 32)
            {
                throw new InvalidDataException($"Ledger entry {row.Partition}/{row.Index} has a malformed grant id or hash.");
            }
            string grant = Convert.ToHexStringLower(row.GrantId);
            if (_byGrant.ContainsKey(grant) || !grants.Add(grant))
            {
                throw new InvalidOperationException($"Grant id {grant} is already in the ledger: the batch was not written.");
            }
            // (partition, index) is unique, and entries are appended in index order.
            if (!indexes.Add((row.Partition, row.Index)) || row.Index < _ledger[row.Partition].Count)
            {
                throw new InvalidOperationException($"Ledger entry {row.Partition}/{row.Index} is already stored: the batch was not written.");
            }
        }
        var nodes = new HashSet<(int, int, long)>();
        foreach (var node in batch.Nodes)
        {
            CheckPartition(node.Partition);
            if (node.Level >= MinStoredNodeLevel && (_nodes.ContainsKey((node.Partition, node.Level, node.Index)) || !nodes.Add((node.Partition, node.Level, node.Index))))
            {
                throw new InvalidOperationException($"Merkle node {node.Partition}/{node.Level}/{node.Index} is already stored: the batch was not written.");
            }
        }
        foreach (var assignment in batch.Assignments)
        {
            CheckPartition(assignment.Partition);
        }
    }

    public void FindMany(IReadOnlyList<string> ids, Dictionary<string, ActionRecord> found)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(found);
        lock (_lock)
        {
            CheckOpen();
            foreach (string id in ids)
            {
                if (_byId.TryGetValue(id, out var record))
                {
                    found[id] = record;
                }
            }
        }
    }

    public ActionRecord? Find(string id)
    {
        lock (_lock)
        {
            CheckOpen();
            return _byId.GetValueOrDefault(id);
        }
    }

    public byte[]? FindPlayerProfile(string player)
    {
        lock (_lock)
        {
            CheckOpen();
            return _profiles.TryGetValue(player, out string? json) ? System.Text.Encoding.UTF8.GetBytes(json) : null;
        }
    }

    public IReleaseStore Releases => Opened(_releases);

    public IRunStore Runs => Opened(_runs);

    public IRolloutStore Rollouts => Opened(_rollouts);

    public ILedgerStore Ledger => Opened(this);

    public IOutboxStore Outbox => Opened(_outbox);

    public IKeyStore Keys => Opened(_keys);

    public IAuditStore Audit => Opened(_audit);

    public IApprovalStore Approvals => Opened(_approvals);

    public IPartitionLog PartitionLog => Opened(this);

    /// <summary>Nothing to reset: a refused batch changed nothing.</summary>
    public void ResetWriter() => CheckOpen();

    public void Dispose() => _disposed = true;

    private T Opened<T>(T store)
    {
        CheckOpen();
        return store;
    }

    private void CheckOpen()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_opened)
        {
            throw new InvalidOperationException("The store is not open.");
        }
    }

    private void CheckPartition(int partition)
    {
        if (partition < 0 || partition >= _partitionCount)
        {
            throw new ArgumentOutOfRangeException(nameof(partition), partition, $"The store has partitions 0 … {_partitionCount - 1}.");
        }
    }

    // ---- IPartitionLog ----

    public ValueTask<PartitionOwner> ClaimAsync(int partition, string owner, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            CheckOpen();
            CheckPartition(partition);
            long epoch = (_owners.TryGetValue(partition, out var previous) ? previous.Epoch : 0) + 1;
            var claimed = new PartitionOwner(partition, epoch, owner, _time.GetUtcNow().UtcTicks);
            _owners[partition] = claimed;
            return ValueTask.FromResult(claimed);
        }
    }

    public ValueTask<PartitionOwner?> ReadOwnerAsync(int partition, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            CheckOpen();
            CheckPartition(partition);
            return ValueTask.FromResult(_owners.GetValueOrDefault(partition));
        }
    }

    public ValueTask<IReadOnlyList<ActionRecord>> ReadAsync(int partition, long fromSeq, int max, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(max, IPartitionLog.ReadMax);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            CheckOpen();
            CheckPartition(partition);
            IReadOnlyList<ActionRecord> rows = [.. _log.Where(a => a.Partition == partition && a.Seq >= fromSeq).OrderBy(a => a.Seq).Take(max)];
            return ValueTask.FromResult(rows);
        }
    }

    // ---- ILedgerStore ----

    public LedgerHead[] LoadHeads()
    {
        lock (_lock)
        {
            CheckOpen();
            var heads = new LedgerHead[_partitionCount];
            for (int p = 0; p < _partitionCount; p++)
            {
                var entries = _ledger[p];
                heads[p] = entries.Count == 0 ? new LedgerHead(p, 0, new byte[32]) : new LedgerHead(p, entries[^1].Index + 1, entries[^1].Hash);
            }
            return heads;
        }
    }

    public byte[] ReadNode(int partition, int level, long index)
    {
        lock (_lock)
        {
            CheckOpen();
            CheckPartition(partition);
            if (level >= MinStoredNodeLevel)
            {
                return _nodes.TryGetValue((partition, level, index), out var hash)
                    ? hash
                    : throw new KeyNotFoundException($"Merkle node {partition}/{level}/{index} is not stored.");
            }
            long first = index << level, count = 1L << level;
            var nodes = _ledger[partition].Where(e => e.Index >= first && e.Index < first + count).OrderBy(e => e.Index).Select(e => LeafHash(e.Hash)).ToList();
            if (nodes.Count != count)
            {
                throw new KeyNotFoundException($"Merkle node {partition}/{level}/{index} needs entries {first}..{first + count - 1}; {nodes.Count} are stored.");
            }
            while (nodes.Count > 1)
            {
                var parents = new List<byte[]>(nodes.Count / 2);
                for (int i = 0; i < nodes.Count; i += 2)
                {
                    parents.Add(NodeHash(nodes[i], nodes[i + 1]));
                }
                nodes = parents;
            }
            return nodes[0];
        }
    }

    /// <summary>RFC 9162 leaf: SHA-256(0x00 ‖ entry hash) (docs/ledger.md).</summary>
    private static byte[] LeafHash(byte[] entryHash)
    {
        Span<byte> input = stackalloc byte[33];
        entryHash.CopyTo(input[1..]);
        return SHA256.HashData(input);
    }

    /// <summary>RFC 9162 node: SHA-256(0x01 ‖ left ‖ right).</summary>
    private static byte[] NodeHash(byte[] left, byte[] right)
    {
        Span<byte> input = stackalloc byte[65];
        input[0] = 1;
        left.CopyTo(input[1..]);
        right.CopyTo(input[33..]);
        return SHA256.HashData(input);
    }

    public LedgerRow? FindGrant(byte[] grantId)
    {
        ArgumentNullException.ThrowIfNull(grantId);
        lock (_lock)
        {
            CheckOpen();
            return _byGrant.GetValueOrDefault(Convert.ToHexStringLower(grantId));
        }
    }

    public void FindGrants(IReadOnlyList<byte[]> grantIds, HashSet<string> found)
    {
        ArgumentNullException.ThrowIfNull(grantIds);
        ArgumentNullException.ThrowIfNull(found);
        lock (_lock)
        {
            CheckOpen();
            foreach (var grantId in grantIds)
            {
                string hex = Convert.ToHexStringLower(grantId);
                if (_byGrant.ContainsKey(hex))
                {
                    found.Add(hex);
                }
            }
        }
    }

    public IReadOnlyList<LedgerRow> EntriesOfPlayer(string player, long? afterIndex, int limit)
    {
        lock (_lock)
        {
            CheckOpen();
            long after = afterIndex ?? -1;
            return [.. _byGrant.Values.Where(e => e.Player == player && e.Index > after).OrderBy(e => e.Partition).ThenBy(e => e.Index).Take(limit)];
        }
    }

    public IReadOnlyList<LedgerRow> ReadEntries(int partition, long fromIndex, int limit)
    {
        lock (_lock)
        {
            CheckOpen();
            CheckPartition(partition);
            return [.. _ledger[partition].Where(e => e.Index >= fromIndex).Take(limit)];
        }
    }

    public long CountEntries()
    {
        lock (_lock)
        {
            CheckOpen();
            return _byGrant.Count;
        }
    }

    /// <summary>Always empty: the grant index refuses a second row before it is written.</summary>
    public IReadOnlyList<string> DuplicateGrantIds(int limit)
    {
        CheckOpen();
        return [];
    }

    public bool AppendCheckpoint(StoredCheckpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        lock (_lock)
        {
            CheckOpen();
            return _checkpoints.TryAdd(checkpoint.Sequence, checkpoint);
        }
    }

    public StoredCheckpoint? LatestCheckpoint() => ListCheckpoints(null, 1).FirstOrDefault();

    public StoredCheckpoint? ReadCheckpoint(long sequence)
    {
        lock (_lock)
        {
            CheckOpen();
            return _checkpoints.GetValueOrDefault(sequence);
        }
    }

    public IReadOnlyList<StoredCheckpoint> ListCheckpoints(long? beforeSequence, int limit)
    {
        lock (_lock)
        {
            CheckOpen();
            long before = beforeSequence ?? long.MaxValue;
            return [.. _checkpoints.Values.Where(c => c.Sequence < before).Reverse().Take(limit)];
        }
    }

    public IEnumerable<StoredCheckpoint> AllCheckpoints()
    {
        lock (_lock)
        {
            CheckOpen();
            return [.. _checkpoints.Values];
        }
    }

    public bool AppendGoal(StoredGoal goal)
    {
        ArgumentNullException.ThrowIfNull(goal);
        lock (_lock)
        {
            CheckOpen();
            _releases.CheckExists(goal.ReleaseRef);
            return _goals.TryAdd((goal.EventId, goal.Run), goal);
        }
    }

    public IReadOnlyList<StoredGoal> LoadGoals()
    {
        lock (_lock)
        {
            CheckOpen();
            return [.. _goals.Values];
        }
    }

    public IReadOnlyList<StoredPartitionSnapshot> LoadSnapshots()
    {
        lock (_lock)
        {
            CheckOpen();
            return [.. _snapshots.Values];
        }
    }

    public IEnumerable<PlayerStateRow> LoadPlayerStates(int partition)
    {
        lock (_lock)
        {
            CheckOpen();
            return [.. _playerStates.Values.Where(s => s.Partition == partition).OrderBy(s => s.Player, StringComparer.Ordinal)];
        }
    }

    public IEnumerable<(long Position, ActionRecord Action)> ReadActionsAfter(long afterPosition)
    {
        lock (_lock)
        {
            CheckOpen();
            var rows = new List<(long, ActionRecord)>();
            for (long position = Math.Max(afterPosition, 0) + 1; position <= _log.Count; position++)
            {
                rows.Add((position, _log[(int)(position - 1)]));
            }
            return rows;
        }
    }

    /// <summary>Goals by event id (ordinal, as SQLite's BINARY collation for these ASCII ids) and run.</summary>
    private sealed class GoalOrder : IComparer<(string EventId, long Run)>
    {
        public static readonly GoalOrder Instance = new();

        public int Compare((string EventId, long Run) x, (string EventId, long Run) y)
        {
            int byEvent = string.CompareOrdinal(x.EventId, y.EventId);
            return byEvent != 0 ? byEvent : x.Run.CompareTo(y.Run);
        }
    }
}
