using System.Globalization;
using Microsoft.Data.Sqlite;
using Showrunner.Storage.Audit;

namespace Showrunner.Storage.Sqlite;

/// <summary>
/// The audit log in the embedded store. One connection of its own (WAL, synchronous=FULL, set and
/// read back by <see cref="SqliteActionStore"/>), used under a lock: audit entries are rare, small
/// writes, kept off the group committer so that an operator act never waits behind, or slows,
/// ingest for longer than one SQLite write lock (busy_timeout).
/// </summary>
internal sealed class SqliteAuditStore(SqliteConnection connection) : IAuditStore, IDisposable
{
    internal const string Columns = "seq, at, actor, action, target, before_value, after_value, reason, details, prev_hash, hash";
    private readonly Lock _lock = new();

    public StoredAuditEntry? Head()
    {
        lock (_lock)
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT {Columns} FROM audit_entries ORDER BY seq DESC LIMIT 1";
            using var reader = command.ExecuteReader();
            return reader.Read() ? Read(reader) : null;
        }
    }

    public void Append(StoredAuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        lock (_lock)
        {
            // IMMEDIATE: takes the write lock first (waiting out the group committer), so the head
            // read below is the one the insert extends.
            using var transaction = connection.BeginTransaction(deferred: false);
            using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            // The check and the write are one statement: the row lands only if it extends the head
            // (seq and prev_hash both), whatever the caller believed the head to be.
            insert.CommandText =
                "INSERT INTO audit_entries (seq, at, actor, action, target, before_value, after_value, reason, details, prev_hash, hash) " +
                "SELECT $seq, $at, $actor, $action, $target, $before, $after, $reason, $details, $prev, $hash " +
                "WHERE (SELECT COALESCE(MAX(seq), 0) FROM audit_entries) = $seq - 1 " +
                "AND COALESCE((SELECT hash FROM audit_entries ORDER BY seq DESC LIMIT 1), zeroblob(32)) = $prev";
            insert.Parameters.AddWithValue("$seq", entry.Seq);
            insert.Parameters.AddWithValue("$at", entry.AtTicks);
            insert.Parameters.AddWithValue("$actor", entry.Actor);
            insert.Parameters.AddWithValue("$action", entry.Action);
            insert.Parameters.AddWithValue("$target", entry.Target);
            insert.Parameters.AddWithValue("$before", (object?)entry.Before ?? DBNull.Value);
            insert.Parameters.AddWithValue("$after", (object?)entry.After ?? DBNull.Value);
            insert.Parameters.AddWithValue("$reason", (object?)entry.Reason ?? DBNull.Value);
            insert.Parameters.AddWithValue("$details", (object?)entry.Details ?? DBNull.Value);
            insert.Parameters.AddWithValue("$prev", entry.PrevHash);
            insert.Parameters.AddWithValue("$hash", entry.Hash);
            if (insert.ExecuteNonQuery() != 1)
            {
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"Audit entry {entry.Seq} does not extend the stored audit log (its head moved or differs): nothing was written."));
            }
            transaction.Commit();
        }
    }

    public IReadOnlyList<StoredAuditEntry> Query(AuditQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        lock (_lock)
        {
            using var command = connection.CreateCommand();
            var where = new List<string>();
            if (query.AfterSeq is { } after)
            {
                where.Add("seq > $after");
                command.Parameters.AddWithValue("$after", after);
            }
            if (query.BeforeSeq is { } before)
            {
                where.Add("seq < $before");
                command.Parameters.AddWithValue("$before", before);
            }
            foreach (var (column, value) in new[] { ("action", query.Action), ("actor", query.Actor), ("target", query.Target) })
            {
                if (value is not null)
                {
                    where.Add($"{column} = ${column}");
                    command.Parameters.AddWithValue("$" + column, value);
                }
            }
            string order = query.AfterSeq is null ? "DESC" : "ASC";
            command.CommandText = $"SELECT {Columns} FROM audit_entries {(where.Count == 0 ? "" : "WHERE " + string.Join(" AND ", where))} " +
                $"ORDER BY seq {order} LIMIT $limit";
            command.Parameters.AddWithValue("$limit", query.Limit);
            using var reader = command.ExecuteReader();
            var entries = new List<StoredAuditEntry>();
            while (reader.Read())
            {
                entries.Add(Read(reader));
            }
            return entries;
        }
    }

    internal static StoredAuditEntry Read(SqliteDataReader reader) => new(
        reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
        Text(reader, 5), Text(reader, 6), Text(reader, 7), Text(reader, 8), Blob(reader, 9), Blob(reader, 10));

    private static string? Text(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    // A tampered row may hold a text where a blob belongs: read it as bytes either way (it then fails verification, not the reader).
    private static byte[] Blob(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal)
        ? []
        : reader.GetValue(ordinal) switch
        {
            byte[] bytes => bytes,
            var other => System.Text.Encoding.UTF8.GetBytes(Convert.ToString(other, CultureInfo.InvariantCulture) ?? ""),
        };

    public void Dispose()
    {
        lock (_lock)
        {
            connection.Dispose();
        }
    }
}
