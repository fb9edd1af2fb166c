using System.Buffers.Binary;
using Microsoft.Data.Sqlite;

namespace Showrunner.Storage.Sqlite;

/// <summary>Rollouts and flags in the embedded store; one connection of its own, used under a lock (rare, small writes).</summary>
internal sealed class SqliteRolloutStore(SqliteConnection connection) : IRolloutStore, IDisposable
{
    private readonly Lock _lock = new();

    public StoredRollout Start(long candidateRef, long baselineRef, long registerVersion, string plan, string salt, long atTicks, string actor,
        long[] ledgerFrontier, string? reason)
    {
        ArgumentNullException.ThrowIfNull(ledgerFrontier);
        lock (_lock)
        {
            using var transaction = connection.BeginTransaction();
            var rollout = InsertRollout(transaction, candidateRef, baselineRef, registerVersion, plan, salt, atTicks, actor, ledgerFrontier, reason);
            transaction.Commit();
            return rollout;
        }
    }

    private StoredRollout InsertRollout(SqliteTransaction transaction, long candidateRef, long baselineRef, long registerVersion, string plan, string salt,
        long atTicks, string actor, long[] ledgerFrontier, string? reason)
    {
        using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = "INSERT INTO rollouts (candidate_ref, baseline_ref, register_version, plan, salt, created_at, created_by, ledger_frontier) " +
            "VALUES ($c, $b, $v, $p, $s, $a, $by, $f) RETURNING id";
        insert.Parameters.AddWithValue("$c", candidateRef);
        insert.Parameters.AddWithValue("$b", baselineRef);
        insert.Parameters.AddWithValue("$v", registerVersion);
        insert.Parameters.AddWithValue("$p", plan);
        insert.Parameters.AddWithValue("$s", salt);
        insert.Parameters.AddWithValue("$a", atTicks);
        insert.Parameters.AddWithValue("$by", actor);
        insert.Parameters.AddWithValue("$f", EncodeFrontier(ledgerFrontier));
        long id = (long)insert.ExecuteScalar()!;
        AppendChange(transaction, new StoredRolloutChange(id, 0, "start", 0, atTicks, actor, reason));
        return new StoredRollout(id, candidateRef, baselineRef, registerVersion, plan, salt, atTicks, actor, ledgerFrontier);
    }

    public bool Append(StoredRolloutChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        lock (_lock)
        {
            using var transaction = connection.BeginTransaction();
            if (!AppendChange(transaction, change))
            {
                transaction.Rollback();
                return false;
            }
            transaction.Commit();
            return true;
        }
    }

    private bool AppendChange(SqliteTransaction transaction, StoredRolloutChange change)
    {
        using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = "INSERT INTO rollout_changes (rollout_id, sequence, kind, step, at, actor, reason) VALUES ($r, $s, $k, $st, $a, $by, $why) ON CONFLICT DO NOTHING";
        insert.Parameters.AddWithValue("$r", change.RolloutId);
        insert.Parameters.AddWithValue("$s", change.Sequence);
        insert.Parameters.AddWithValue("$k", change.Kind);
        insert.Parameters.AddWithValue("$st", change.Step);
        insert.Parameters.AddWithValue("$a", change.AtTicks);
        insert.Parameters.AddWithValue("$by", change.Actor);
        insert.Parameters.AddWithValue("$why", (object?)change.Reason ?? DBNull.Value);
        return insert.ExecuteNonQuery() == 1;
    }

    public StoredRollout? Find(long id) => Query("WHERE id = $id", ("$id", id), 1).FirstOrDefault();

    public IReadOnlyList<StoredRollout> List(int limit) => Query("", null, limit);

    private List<StoredRollout> Query(string where, (string Name, object Value)? parameter, int limit)
    {
        lock (_lock)
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT id, candidate_ref, baseline_ref, register_version, plan, salt, created_at, created_by, ledger_frontier FROM rollouts " +
                where + " ORDER BY id DESC LIMIT $limit";
            if (parameter is { } p)
            {
                command.Parameters.AddWithValue(p.Name, p.Value);
            }
            command.Parameters.AddWithValue("$limit", limit);
            using var reader = command.ExecuteReader();
            var rollouts = new List<StoredRollout>();
            while (reader.Read())
            {
                rollouts.Add(new StoredRollout(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetString(4),
                    reader.GetString(5), reader.GetInt64(6), reader.GetString(7), DecodeFrontier((byte[])reader.GetValue(8))));
            }
            return rollouts;
        }
    }

    public IReadOnlyList<StoredRolloutChange> Changes(long rolloutId)
    {
        lock (_lock)
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT sequence, kind, step, at, actor, reason FROM rollout_changes WHERE rollout_id = $r ORDER BY sequence";
            command.Parameters.AddWithValue("$r", rolloutId);
            using var reader = command.ExecuteReader();
            var changes = new List<StoredRolloutChange>();
            while (reader.Read())
            {
                changes.Add(new StoredRolloutChange(rolloutId, reader.GetInt32(0), reader.GetString(1), reader.GetInt32(2), reader.GetInt64(3),
                    reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetString(5)));
            }
            return changes;
        }
    }

    public IReadOnlyList<RolloutAssignmentRow> Assignments(long rolloutId)
    {
        lock (_lock)
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT player, partition, seq FROM rollout_assignments WHERE rollout_id = $r ORDER BY player";
            command.Parameters.AddWithValue("$r", rolloutId);
            using var reader = command.ExecuteReader();
            var rows = new List<RolloutAssignmentRow>();
            while (reader.Read())
            {
                rows.Add(new RolloutAssignmentRow(rolloutId, reader.GetString(0), reader.GetInt32(1), reader.GetInt64(2)));
            }
            return rows;
        }
    }

    public long CountAssignments(long rolloutId)
    {
        lock (_lock)
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT COUNT(*) FROM rollout_assignments WHERE rollout_id = $r";
            command.Parameters.AddWithValue("$r", rolloutId);
            return (long)command.ExecuteScalar()!;
        }
    }

    public IReadOnlyList<StoredFlag> Flags()
    {
        lock (_lock)
        {
            return ReadFlags(connection);
        }
    }

    internal static List<StoredFlag> ReadFlags(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT sequence, kind, target, enabled, at, actor, reason FROM flags ORDER BY sequence";
        using var reader = command.ExecuteReader();
        var flags = new List<StoredFlag>();
        while (reader.Read())
        {
            flags.Add(new StoredFlag(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3) != 0, reader.GetInt64(4),
                reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetString(6)));
        }
        return flags;
    }

    public StoredFlag AppendFlag(string kind, string target, bool enabled, long atTicks, string actor, string? reason)
    {
        lock (_lock)
        {
            using var insert = connection.CreateCommand();
            insert.CommandText = "INSERT INTO flags (kind, target, enabled, at, actor, reason) VALUES ($k, $t, $e, $a, $by, $why) RETURNING sequence";
            insert.Parameters.AddWithValue("$k", kind);
            insert.Parameters.AddWithValue("$t", target);
            insert.Parameters.AddWithValue("$e", enabled ? 1 : 0);
            insert.Parameters.AddWithValue("$a", atTicks);
            insert.Parameters.AddWithValue("$by", actor);
            insert.Parameters.AddWithValue("$why", (object?)reason ?? DBNull.Value);
            long sequence = (long)insert.ExecuteScalar()!;
            return new StoredFlag(sequence, kind, target, enabled, atTicks, actor, reason);
        }
    }

    public ValueTask<StoredFlag?> TryAppendFlagAsync(long expectedSequence, string kind, string target, bool enabled, long atTicks, string actor,
        string? reason, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(kind);
        ArgumentNullException.ThrowIfNull(target);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            try
            {
                // The compare and the set are one statement: the flip lands only if the flag's latest
                // flip is still the expected one (COALESCE: 0 when it was never flipped).
                using var insert = connection.CreateCommand();
                insert.CommandText = "INSERT INTO flags (kind, target, enabled, at, actor, reason) SELECT $k, $t, $e, $a, $by, $why " +
                    "WHERE COALESCE((SELECT MAX(sequence) FROM flags WHERE kind = $k AND target = $t), 0) = $expected RETURNING sequence";
                insert.Parameters.AddWithValue("$k", kind);
                insert.Parameters.AddWithValue("$t", target);
                insert.Parameters.AddWithValue("$e", enabled ? 1 : 0);
                insert.Parameters.AddWithValue("$a", atTicks);
                insert.Parameters.AddWithValue("$by", actor);
                insert.Parameters.AddWithValue("$why", (object?)reason ?? DBNull.Value);
                insert.Parameters.AddWithValue("$expected", expectedSequence);
                return ValueTask.FromResult(insert.ExecuteScalar() is long sequence
                    ? new StoredFlag(sequence, kind, target, enabled, atTicks, actor, reason)
                    : null);
            }
            catch (SqliteException exception) when (SqliteErrors.IsTransient(exception))
            {
                throw SqliteErrors.Unavailable(exception);
            }
        }
    }

    public ValueTask<StoredRollout?> TryStartAsync(long expectedLatestId, long candidateRef, long baselineRef, long registerVersion, string plan, string salt,
        long atTicks, string actor, long[] ledgerFrontier, string? reason, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ledgerFrontier);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            try
            {
                // IMMEDIATE: the write lock is held from the check to the commit.
                using var transaction = connection.BeginTransaction(deferred: false);
                using var latest = connection.CreateCommand();
                latest.Transaction = transaction;
                latest.CommandText = "SELECT COALESCE(MAX(id), 0) FROM rollouts";
                if ((long)latest.ExecuteScalar()! != expectedLatestId)
                {
                    return ValueTask.FromResult<StoredRollout?>(null);
                }
                var rollout = InsertRollout(transaction, candidateRef, baselineRef, registerVersion, plan, salt, atTicks, actor, ledgerFrontier, reason);
                transaction.Commit();
                return ValueTask.FromResult<StoredRollout?>(rollout);
            }
            catch (SqliteException exception) when (SqliteErrors.IsTransient(exception))
            {
                throw SqliteErrors.Unavailable(exception);
            }
        }
    }

    /// <summary>Writes assignments inside the group commit's transaction (on the writer connection).</summary>
    internal static void WriteAssignments(SqliteConnection writer, SqliteTransaction transaction, IReadOnlyList<RolloutAssignmentRow> rows)
    {
        if (rows.Count == 0)
        {
            return;
        }
        using var insert = writer.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = "INSERT INTO rollout_assignments (rollout_id, player, partition, seq) VALUES ($r, $p, $x, $s) ON CONFLICT DO NOTHING";
        var r = insert.Parameters.Add("$r", SqliteType.Integer);
        var p = insert.Parameters.Add("$p", SqliteType.Text);
        var x = insert.Parameters.Add("$x", SqliteType.Integer);
        var s = insert.Parameters.Add("$s", SqliteType.Integer);
        foreach (var row in rows)
        {
            r.Value = row.RolloutId;
            p.Value = row.Player;
            x.Value = row.Partition;
            s.Value = row.Seq;
            insert.ExecuteNonQuery();
        }
    }

    private static byte[] EncodeFrontier(long[] sizes)
    {
        var bytes = new byte[sizes.Length * 8];
        for (int i = 0; i < sizes.Length; i++)
        {
            BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(i * 8), sizes[i]);
        }
        return bytes;
    }

    private static long[] DecodeFrontier(byte[] bytes)
    {
        var sizes = new long[bytes.Length / 8];
        for (int i = 0; i < sizes.Length; i++)
        {
            sizes[i] = BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(i * 8));
        }
        return sizes;
    }

    public void Dispose()
    {
        lock (_lock)
        {
            connection.Dispose();
        }
    }
}
