using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Showrunner.Storage.Sqlite;

/// <summary>The ledger side of the embedded store: what a group commit writes besides actions, and the ledger reads.</summary>
public sealed partial class SqliteActionStore : ILedgerStore
{
    private sqlite3_stmt? _ledgerStatement;
    private sqlite3_stmt? _nodeStatement;
    private sqlite3_stmt? _outboxStatement;
    private sqlite3_stmt? _snapshotStatement;
    private sqlite3_stmt? _playerStateStatement;

    public ILedgerStore Ledger => this;

    /// <summary>
    /// The lowest Merkle level kept in <c>merkle_nodes</c>. Lower subtrees (at most 8 leaves) are
    /// computed from the entries' hashes when a proof or the frontier needs one: storing every
    /// level would write about one more B-tree page per grant (each partition's levels are separate
    /// insertion points), for nodes that cost at most 8 leaf hashes to recompute.
    /// </summary>
    public const int MinStoredNodeLevel = 4;

    private void PrepareLedger()
    {
        _ledgerStatement = Prepare(
            "INSERT INTO ledger_entries (partition, idx, grant_id, player, event_id, run, cause_kind, time, entry, prev_hash, hash) " +
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
        _nodeStatement = Prepare("INSERT INTO merkle_nodes (partition, level, idx, hash) VALUES (?1, ?2, ?3, ?4)");
        // A grant has one delivery: the ledger's unique grant id already guarantees one row per
        // grant; the conflict clause only makes a replayed enqueue harmless.
        _outboxStatement = Prepare(
            "INSERT INTO outbox (grant_id, payload, enqueued_at, next_attempt_at) VALUES (?1, ?2, ?3, ?3) ON CONFLICT (grant_id) DO NOTHING");
        _snapshotStatement = Prepare(
            "INSERT INTO partition_snapshots (partition, seq, position, taken_at, data) VALUES (?1, ?2, ?3, ?4, ?5) " +
            "ON CONFLICT (partition) DO UPDATE SET seq = excluded.seq, position = excluded.position, taken_at = excluded.taken_at, data = excluded.data " +
            "WHERE excluded.seq >= partition_snapshots.seq");
        _playerStateStatement = Prepare(
            "INSERT INTO player_states (player, partition, data) VALUES (?1, ?2, ?3) " +
            "ON CONFLICT (player) DO UPDATE SET partition = excluded.partition, data = excluded.data");
    }

    private sqlite3_stmt Prepare(string sql)
    {
        int code = raw.sqlite3_prepare_v2(_writer!.Handle, sql, out var statement);
        if (code != raw.SQLITE_OK)
        {
            throw new SqliteException("Preparing a statement failed: " + raw.sqlite3_errmsg(_writer.Handle).utf8_to_string(), code);
        }
        return statement;
    }

    private void DisposeLedgerStatements()
    {
        _ledgerStatement?.Dispose();
        _ledgerStatement = null;
        _nodeStatement?.Dispose();
        _nodeStatement = null;
        _outboxStatement?.Dispose();
        _outboxStatement = null;
        _snapshotStatement?.Dispose();
        _snapshotStatement = null;
        _playerStateStatement?.Dispose();
        _playerStateStatement = null;
    }

    private static void Step(SqliteConnection writer, sqlite3_stmt statement, string what)
    {
        int step = raw.sqlite3_step(statement);
        raw.sqlite3_reset(statement);
        if (step != raw.SQLITE_DONE)
        {
            throw new SqliteException($"{what} failed: {raw.sqlite3_errmsg(writer.Handle).utf8_to_string()}", step);
        }
    }

    private void WriteLedger(SqliteConnection writer, CommitBatch batch)
    {
        var entry = _ledgerStatement!;
        foreach (var row in batch.Ledger)
        {
            // Assert in pairs: the entry's hash was computed by the ledger; check its link shape here too.
            if (row.GrantId.Length != 32 || row.PrevHash.Length != 32 || row.Hash.Length != 32)
            {
                throw new InvalidDataException($"Ledger entry {row.Partition}/{row.Index} has a malformed grant id or hash.");
            }
            Check(writer, raw.sqlite3_bind_int(entry, 1, row.Partition));
            Check(writer, raw.sqlite3_bind_int64(entry, 2, row.Index));
            Check(writer, raw.sqlite3_bind_blob(entry, 3, row.GrantId));
            Check(writer, raw.sqlite3_bind_text(entry, 4, row.Player));
            Check(writer, raw.sqlite3_bind_text(entry, 5, row.EventId));
            Check(writer, raw.sqlite3_bind_int64(entry, 6, row.Run));
            Check(writer, raw.sqlite3_bind_text(entry, 7, row.CauseKind));
            Check(writer, raw.sqlite3_bind_int64(entry, 8, row.TimeTicks));
            Check(writer, raw.sqlite3_bind_blob(entry, 9, row.Entry));
            Check(writer, raw.sqlite3_bind_blob(entry, 10, row.PrevHash));
            Check(writer, raw.sqlite3_bind_blob(entry, 11, row.Hash));
            Step(writer, entry, $"Appending ledger entry {row.Partition}/{row.Index}");
        }
        var node = _nodeStatement!;
        foreach (var row in batch.Nodes)
        {
            if (row.Level < MinStoredNodeLevel)
            {
                continue;
            }
            Check(writer, raw.sqlite3_bind_int(node, 1, row.Partition));
            Check(writer, raw.sqlite3_bind_int(node, 2, row.Level));
            Check(writer, raw.sqlite3_bind_int64(node, 3, row.Index));
            Check(writer, raw.sqlite3_bind_blob(node, 4, row.Hash));
            Step(writer, node, $"Appending Merkle node {row.Partition}/{row.Level}/{row.Index}");
        }
        var outbox = _outboxStatement!;
        foreach (var row in batch.Outbox)
        {
            Check(writer, raw.sqlite3_bind_text(outbox, 1, row.GrantId));
            Check(writer, raw.sqlite3_bind_blob(outbox, 2, row.Payload));
            Check(writer, raw.sqlite3_bind_int64(outbox, 3, row.EnqueuedAtTicks));
            Step(writer, outbox, $"Enqueueing the delivery of grant {row.GrantId}");
        }
    }

    private void WriteSnapshots(SqliteConnection writer, List<PartitionSnapshotRow> snapshots, long positionBefore)
    {
        var snapshot = _snapshotStatement!;
        var player = _playerStateStatement!;
        foreach (var row in snapshots)
        {
            if (row.ActionsBefore < 0 || row.ActionsBefore > _positions.Count)
            {
                throw new InvalidDataException($"The snapshot of partition {row.Partition} says {row.ActionsBefore} actions precede it; the batch has {_positions.Count}.");
            }
            long position = row.ActionsBefore == 0 ? positionBefore : _positions[row.ActionsBefore - 1];
            Check(writer, raw.sqlite3_bind_int(snapshot, 1, row.Partition));
            Check(writer, raw.sqlite3_bind_int64(snapshot, 2, row.Seq));
            Check(writer, raw.sqlite3_bind_int64(snapshot, 3, position));
            Check(writer, raw.sqlite3_bind_int64(snapshot, 4, row.TakenAtTicks));
            Check(writer, raw.sqlite3_bind_blob(snapshot, 5, row.Data));
            Step(writer, snapshot, $"Writing the snapshot of partition {row.Partition}");
            foreach (var state in row.Players)
            {
                Check(writer, raw.sqlite3_bind_text(player, 1, state.Player));
                Check(writer, raw.sqlite3_bind_int(player, 2, state.Partition));
                Check(writer, raw.sqlite3_bind_blob(player, 3, state.Data));
                Step(writer, player, $"Writing the state of player {state.Player}");
            }
        }
    }

    /// <summary>Runs a query on a read connection and maps every row.</summary>
    private List<T> ReadList<T>(string sql, Func<SqliteDataReader, T> map, params (string Name, object Value)[] parameters)
    {
        using var lease = LeaseReader();
        using var command = lease.Connection.Connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        using var reader = command.ExecuteReader();
        var rows = new List<T>();
        while (reader.Read())
        {
            rows.Add(map(reader));
        }
        return rows;
    }

    /// <summary>An <c>INSERT … ON CONFLICT DO NOTHING</c> on the writer connection: true when the row was new. Writer thread only.</summary>
    private bool InsertOnce(string sql, params (string Name, object Value)[] parameters)
    {
        var writer = _writer ?? throw new InvalidOperationException("The store is not open, or its writer failed and was not reset.");
        using var command = writer.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        return command.ExecuteNonQuery() == 1;
    }

    private long ReadLastPosition(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COALESCE(MAX(position), 0) FROM actions";
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    public LedgerHead[] LoadHeads()
    {
        int partitionCount = _partitionCount;
        using var lease = LeaseReader();
        var heads = new LedgerHead[partitionCount];
        using var command = lease.Connection.Connection.CreateCommand();
        command.CommandText = "SELECT idx, hash FROM ledger_entries WHERE partition = $p ORDER BY idx DESC LIMIT 1";
        var parameter = command.Parameters.Add(new SqliteParameter { ParameterName = "$p" });
        for (int p = 0; p < partitionCount; p++)
        {
            parameter.Value = p;
            using var reader = command.ExecuteReader();
            heads[p] = reader.Read() ? new LedgerHead(p, reader.GetInt64(0) + 1, (byte[])reader.GetValue(1)) : new LedgerHead(p, 0, new byte[32]);
        }
        return heads;
    }

    public byte[] ReadNode(int partition, int level, long index)
    {
        using var lease = LeaseReader();
        using var command = lease.Connection.Connection.CreateCommand();
        command.Parameters.AddWithValue("$p", partition);
        if (level < MinStoredNodeLevel)
        {
            // Recomputed from the entries' hashes: the leaves of the subtree, folded pairwise.
            long first = index << level, count = 1L << level;
            command.CommandText = "SELECT hash FROM ledger_entries WHERE partition = $p AND idx >= $f AND idx < $e ORDER BY idx";
            command.Parameters.AddWithValue("$f", first);
            command.Parameters.AddWithValue("$e", first + count);
            var nodes = new List<byte[]>((int)count);
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    nodes.Add(LeafHash((byte[])reader.GetValue(0)));
                }
            }
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
        command.CommandText = "SELECT hash FROM merkle_nodes WHERE partition = $p AND level = $l AND idx = $i";
        command.Parameters.AddWithValue("$l", level);
        command.Parameters.AddWithValue("$i", index);
        return command.ExecuteScalar() as byte[] ?? throw new KeyNotFoundException($"Merkle node {partition}/{level}/{index} is not stored.");
    }

    /// <summary>RFC 9162 leaf: SHA-256(0x00 ‖ leaf input); the leaf input is the entry hash (docs/ledger.md).</summary>
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

    private const string LedgerColumns = "partition, idx, grant_id, player, event_id, run, cause_kind, time, entry, prev_hash, hash";

    private static LedgerRow ReadLedgerRow(SqliteDataReader reader) => new(
        reader.GetInt32(0), reader.GetInt64(1), (byte[])reader.GetValue(2), reader.GetString(3), reader.GetString(4), reader.GetInt64(5),
        reader.GetString(6), reader.GetInt64(7), (byte[])reader.GetValue(8), (byte[])reader.GetValue(9), (byte[])reader.GetValue(10));

    public LedgerRow? FindGrant(byte[] grantId)
    {
        using var lease = LeaseReader();
        using var command = lease.Connection.Connection.CreateCommand();
        command.CommandText = $"SELECT {LedgerColumns} FROM ledger_entries WHERE grant_id = $g";
        command.Parameters.AddWithValue("$g", grantId);
        using var reader = command.ExecuteReader();
        return reader.Read() ? ReadLedgerRow(reader) : null;
    }

    public void FindGrants(IReadOnlyList<byte[]> grantIds, HashSet<string> found)
    {
        if (grantIds.Count == 0)
        {
            return;
        }
        using var lease = LeaseReader();
        using var command = lease.Connection.Connection.CreateCommand();
        var names = new string[ProbeChunk];
        for (int i = 0; i < ProbeChunk; i++)
        {
            names[i] = "$g" + i.ToString(CultureInfo.InvariantCulture);
            command.Parameters.Add(new SqliteParameter { ParameterName = names[i] });
        }
        command.CommandText = $"SELECT grant_id FROM ledger_entries WHERE grant_id IN ({string.Join(", ", names)})";
        for (int start = 0; start < grantIds.Count; start += ProbeChunk)
        {
            for (int i = 0; i < ProbeChunk; i++)
            {
                command.Parameters[i].Value = start + i < grantIds.Count ? grantIds[start + i] : DBNull.Value;
            }
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                found.Add(Convert.ToHexStringLower((byte[])reader.GetValue(0)));
            }
        }
    }

    public IReadOnlyList<LedgerRow> EntriesOfPlayer(string player, long? afterIndex, int limit) =>
        // A player's entries all sit in the player's one partition.
        ReadList($"SELECT {LedgerColumns} FROM ledger_entries WHERE player = $p AND idx > $a ORDER BY partition, idx LIMIT $l", ReadLedgerRow,
            ("$p", player), ("$a", afterIndex ?? -1), ("$l", limit));

    public IReadOnlyList<LedgerRow> ReadEntries(int partition, long fromIndex, int limit) =>
        ReadList($"SELECT {LedgerColumns} FROM ledger_entries WHERE partition = $p AND idx >= $f ORDER BY idx LIMIT $l", ReadLedgerRow,
            ("$p", partition), ("$f", fromIndex), ("$l", limit));

    public long CountEntries()
    {
        using var lease = LeaseReader();
        using var command = lease.Connection.Connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM ledger_entries";
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    public IReadOnlyList<string> DuplicateGrantIds(int limit) =>
        // NOT INDEXED: count the table's rows, not the unique index that would hide a duplicate.
        ReadList("SELECT grant_id FROM ledger_entries NOT INDEXED GROUP BY grant_id HAVING COUNT(*) > 1 ORDER BY grant_id LIMIT $l",
            reader => Convert.ToHexStringLower((byte[])reader.GetValue(0)), ("$l", limit));

    public bool AppendCheckpoint(StoredCheckpoint checkpoint) =>
        InsertOnce("INSERT INTO checkpoints (sequence, time, key_id, body, signature) VALUES ($s, $t, $k, $b, $g) ON CONFLICT DO NOTHING",
            ("$s", checkpoint.Sequence), ("$t", checkpoint.TimeTicks), ("$k", checkpoint.KeyId), ("$b", checkpoint.Body), ("$g", checkpoint.Signature));

    private const string CheckpointColumns = "sequence, time, key_id, body, signature";

    private static StoredCheckpoint ReadCheckpointRow(SqliteDataReader reader) =>
        new(reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2), (byte[])reader.GetValue(3), (byte[])reader.GetValue(4));

    public StoredCheckpoint? LatestCheckpoint() => ListCheckpoints(null, 1).FirstOrDefault();

    public StoredCheckpoint? ReadCheckpoint(long sequence)
    {
        using var lease = LeaseReader();
        using var command = lease.Connection.Connection.CreateCommand();
        command.CommandText = $"SELECT {CheckpointColumns} FROM checkpoints WHERE sequence = $s";
        command.Parameters.AddWithValue("$s", sequence);
        using var reader = command.ExecuteReader();
        return reader.Read() ? ReadCheckpointRow(reader) : null;
    }

    public IReadOnlyList<StoredCheckpoint> ListCheckpoints(long? beforeSequence, int limit) =>
        ReadList($"SELECT {CheckpointColumns} FROM checkpoints WHERE sequence < $b ORDER BY sequence DESC LIMIT $l", ReadCheckpointRow,
            ("$b", beforeSequence ?? long.MaxValue), ("$l", limit));

    public IEnumerable<StoredCheckpoint> AllCheckpoints()
    {
        using var lease = LeaseReader();
        using var command = lease.Connection.Connection.CreateCommand();
        command.CommandText = $"SELECT {CheckpointColumns} FROM checkpoints ORDER BY sequence";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            yield return ReadCheckpointRow(reader);
        }
    }

    public bool AppendGoal(StoredGoal goal) =>
        InsertOnce("INSERT INTO community_goals (event_id, run, at, sum, release_ref) VALUES ($e, $r, $a, $s, $x) ON CONFLICT DO NOTHING",
            ("$e", goal.EventId), ("$r", goal.Run), ("$a", goal.AtTicks), ("$s", goal.Sum), ("$x", goal.ReleaseRef));

    public IReadOnlyList<StoredGoal> LoadGoals() =>
        ReadList("SELECT event_id, run, at, sum, release_ref FROM community_goals ORDER BY event_id, run",
            reader => new StoredGoal(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4)));

    public IReadOnlyList<StoredPartitionSnapshot> LoadSnapshots() =>
        ReadList("SELECT partition, seq, position, taken_at, data FROM partition_snapshots ORDER BY partition",
            reader => new StoredPartitionSnapshot(reader.GetInt32(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), (byte[])reader.GetValue(4)));

    public IEnumerable<PlayerStateRow> LoadPlayerStates(int partition)
    {
        using var lease = LeaseReader();
        using var command = lease.Connection.Connection.CreateCommand();
        command.CommandText = "SELECT player, partition, data FROM player_states WHERE partition = $p ORDER BY player";
        command.Parameters.AddWithValue("$p", partition);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            yield return new PlayerStateRow(reader.GetString(0), reader.GetInt32(1), (byte[])reader.GetValue(2));
        }
    }

    public IEnumerable<(long Position, ActionRecord Action)> ReadActionsAfter(long afterPosition)
    {
        using var lease = LeaseReader();
        using var command = lease.Connection.Connection.CreateCommand();
        command.CommandText = $"SELECT {Columns}, position FROM actions WHERE position > $a ORDER BY position";
        command.Parameters.AddWithValue("$a", afterPosition);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            yield return (reader.GetInt64(9), ReadRecord(reader));
        }
    }
}
