using Microsoft.Data.Sqlite;

namespace Showrunner.Storage.Sqlite;

/// <summary>
/// Releases and the active-release register in the embedded store. One connection of its own,
/// used under a lock: these are rare, small operations (publish, activate, rollback, lookups of a
/// release by ref). Writes wait for the group committer's transaction (busy_timeout) and vice versa.
/// </summary>
internal sealed class SqliteReleaseStore(SqliteConnection connection) : IReleaseStore, IDisposable
{
    private const string ReleaseColumns = "r.ref, r.id, r.name, r.merkle_root, length(r.bundle), r.published_at";
    private const string RegisterColumns = "g.version, g.restores, g.kind, g.reason, g.at, " + ReleaseColumns;
    private readonly Lock _lock = new();

    public (StoredRelease Release, bool Created) Publish(string id, string name, string merkleRoot, byte[] bundle, long atTicks)
    {
        lock (_lock)
        {
            using var transaction = connection.BeginTransaction();
            if (FindLocked("r.id = $v", id, transaction) is { } existing)
            {
                return (existing, false);
            }
            using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO releases (id, name, merkle_root, bundle, published_at) VALUES ($id, $name, $root, $bundle, $at)";
            insert.Parameters.AddWithValue("$id", id);
            insert.Parameters.AddWithValue("$name", name);
            insert.Parameters.AddWithValue("$root", merkleRoot);
            insert.Parameters.AddWithValue("$bundle", bundle);
            insert.Parameters.AddWithValue("$at", atTicks);
            insert.ExecuteNonQuery();
            var stored = FindLocked("r.id = $v", id, transaction)!;
            transaction.Commit();
            return (stored, true);
        }
    }

    public StoredRelease? Find(string id)
    {
        lock (_lock)
        {
            return FindLocked("r.id = $v", id);
        }
    }

    public StoredRelease? Find(long releaseRef)
    {
        lock (_lock)
        {
            return FindLocked("r.ref = $v", releaseRef);
        }
    }

    private StoredRelease? FindLocked(string where, object value, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT {ReleaseColumns} FROM releases r WHERE {where}";
        command.Parameters.AddWithValue("$v", value);
        using var reader = command.ExecuteReader();
        return reader.Read() ? ReadRelease(reader, 0) : null;
    }

    public byte[]? ReadBundle(long releaseRef)
    {
        lock (_lock)
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT bundle FROM releases WHERE ref = $r";
            command.Parameters.AddWithValue("$r", releaseRef);
            return command.ExecuteScalar() as byte[];
        }
    }

    public IReadOnlyList<StoredRelease> List(int limit, long? beforeRef)
    {
        lock (_lock)
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT {ReleaseColumns} FROM releases r WHERE r.ref < $before ORDER BY r.ref DESC LIMIT $limit";
            command.Parameters.AddWithValue("$before", beforeRef ?? long.MaxValue);
            command.Parameters.AddWithValue("$limit", limit);
            using var reader = command.ExecuteReader();
            var releases = new List<StoredRelease>();
            while (reader.Read())
            {
                releases.Add(ReadRelease(reader, 0));
            }
            return releases;
        }
    }

    public RegisterEntry? Current()
    {
        lock (_lock)
        {
            return ReadRegister("ORDER BY g.version DESC LIMIT 1", null).FirstOrDefault();
        }
    }

    public RegisterEntry? ReadVersion(long version)
    {
        lock (_lock)
        {
            return ReadRegister("WHERE g.version = $v", version).FirstOrDefault();
        }
    }

    public IReadOnlyList<RegisterEntry> History(int limit)
    {
        lock (_lock)
        {
            return ReadRegister("ORDER BY g.version DESC LIMIT $v", limit);
        }
    }

    public RegisterEntry? TryAdvance(long expectedVersion, long releaseRef, long restores, string kind, string? reason, long atTicks)
    {
        lock (_lock)
        {
            using var transaction = connection.BeginTransaction();
            using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            // The compare and the set are one statement: the row is written only if the register
            // is still at the expected version (and the version primary key refuses a second writer).
            insert.CommandText =
                "INSERT INTO release_register (version, release_ref, restores, kind, reason, at) " +
                "SELECT $expected + 1, $ref, $restores, $kind, $reason, $at " +
                "WHERE (SELECT COALESCE(MAX(version), 0) FROM release_register) = $expected";
            insert.Parameters.AddWithValue("$expected", expectedVersion);
            insert.Parameters.AddWithValue("$ref", releaseRef);
            insert.Parameters.AddWithValue("$restores", restores);
            insert.Parameters.AddWithValue("$kind", kind);
            insert.Parameters.AddWithValue("$reason", (object?)reason ?? DBNull.Value);
            insert.Parameters.AddWithValue("$at", atTicks);
            if (insert.ExecuteNonQuery() != 1)
            {
                return null;
            }
            var entry = ReadRegister("WHERE g.version = $v", expectedVersion + 1, transaction).Single();
            transaction.Commit();
            return entry;
        }
    }

    private List<RegisterEntry> ReadRegister(string clause, object? value, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT {RegisterColumns} FROM release_register g JOIN releases r ON r.ref = g.release_ref {clause}";
        if (value is not null)
        {
            command.Parameters.AddWithValue("$v", value);
        }
        using var reader = command.ExecuteReader();
        var entries = new List<RegisterEntry>();
        while (reader.Read())
        {
            entries.Add(new RegisterEntry(reader.GetInt64(0), ReadRelease(reader, 5), reader.GetInt64(1), reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetInt64(4)));
        }
        return entries;
    }

    private static StoredRelease ReadRelease(SqliteDataReader reader, int at) => new(
        reader.GetInt64(at), reader.GetString(at + 1), reader.GetString(at + 2), reader.GetString(at + 3), reader.GetInt32(at + 4), reader.GetInt64(at + 5));

    public void Dispose()
    {
        lock (_lock)
        {
            connection.Dispose();
        }
    }
}
