using Microsoft.Data.Sqlite;

namespace Showrunner.Storage.Sqlite;

/// <summary>API keys in the embedded store; one connection of its own, used under a lock (keys change rarely).</summary>
internal sealed class SqliteKeyStore(SqliteConnection connection) : IKeyStore, IDisposable
{
    private const string Columns = "id, kind, role, title, name, secret_sha256, created_at, created_by, revoked_at, revoked_by";
    private readonly Lock _lock = new();

    public bool Insert(StoredKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        lock (_lock)
        {
            using var insert = connection.CreateCommand();
            insert.CommandText = $"INSERT INTO api_keys ({Columns}) VALUES ($id, $kind, $role, $title, $name, $hash, $at, $by, NULL, NULL) ON CONFLICT (id) DO NOTHING";
            insert.Parameters.AddWithValue("$id", key.Id);
            insert.Parameters.AddWithValue("$kind", key.Kind);
            insert.Parameters.AddWithValue("$role", (object?)key.Role ?? DBNull.Value);
            insert.Parameters.AddWithValue("$title", (object?)key.Title ?? DBNull.Value);
            insert.Parameters.AddWithValue("$name", key.Name);
            insert.Parameters.AddWithValue("$hash", key.SecretSha256);
            insert.Parameters.AddWithValue("$at", key.CreatedAtTicks);
            insert.Parameters.AddWithValue("$by", key.CreatedBy);
            return insert.ExecuteNonQuery() == 1;
        }
    }

    public StoredKey? Find(string id)
    {
        lock (_lock)
        {
            return Query("WHERE id = $v", id).FirstOrDefault();
        }
    }

    public IReadOnlyList<StoredKey> ListActive()
    {
        lock (_lock)
        {
            return Query("WHERE revoked_at IS NULL ORDER BY seq", null);
        }
    }

    public IReadOnlyList<StoredKey> List(int limit, string? afterId)
    {
        lock (_lock)
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT {Columns} FROM api_keys WHERE seq > COALESCE((SELECT seq FROM api_keys WHERE id = $after), 0) ORDER BY seq LIMIT $limit";
            command.Parameters.AddWithValue("$after", (object?)afterId ?? DBNull.Value);
            command.Parameters.AddWithValue("$limit", limit);
            return Read(command);
        }
    }

    public long Count()
    {
        lock (_lock)
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT COUNT(*) FROM api_keys";
            return (long)command.ExecuteScalar()!;
        }
    }

    public (RevokeOutcome Outcome, StoredKey? Key) Revoke(string id, long atTicks, string revokedBy)
    {
        lock (_lock)
        {
            // IMMEDIATE: the write lock is taken before the check, so the count of admin keys
            // cannot change between reading it and revoking.
            using var transaction = connection.BeginTransaction(deferred: false);
            var key = Query("WHERE id = $v", id, transaction).FirstOrDefault();
            if (key is null)
            {
                return (RevokeOutcome.NotFound, null);
            }
            if (key.RevokedAtTicks is not null)
            {
                return (RevokeOutcome.AlreadyRevoked, key);
            }
            if (key.IsActiveAdmin)
            {
                using var admins = connection.CreateCommand();
                admins.Transaction = transaction;
                admins.CommandText = "SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL AND kind = 'operator' AND role = 'admin'";
                if ((long)admins.ExecuteScalar()! <= 1)
                {
                    return (RevokeOutcome.LastAdmin, key);
                }
            }
            using var update = connection.CreateCommand();
            update.Transaction = transaction;
            update.CommandText = "UPDATE api_keys SET revoked_at = $at, revoked_by = $by WHERE id = $id AND revoked_at IS NULL";
            update.Parameters.AddWithValue("$at", atTicks);
            update.Parameters.AddWithValue("$by", revokedBy);
            update.Parameters.AddWithValue("$id", id);
            update.ExecuteNonQuery();
            transaction.Commit();
            return (RevokeOutcome.Revoked, key with { RevokedAtTicks = atTicks, RevokedBy = revokedBy });
        }
    }

    private List<StoredKey> Query(string where, object? value, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT {Columns} FROM api_keys {where}";
        if (value is not null)
        {
            command.Parameters.AddWithValue("$v", value);
        }
        return Read(command);
    }

    private static List<StoredKey> Read(SqliteCommand command)
    {
        using var reader = command.ExecuteReader();
        var keys = new List<StoredKey>();
        while (reader.Read())
        {
            keys.Add(new StoredKey(reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetString(4), (byte[])reader.GetValue(5), reader.GetInt64(6),
                reader.GetString(7), reader.IsDBNull(8) ? null : reader.GetInt64(8), reader.IsDBNull(9) ? null : reader.GetString(9)));
        }
        return keys;
    }

    public void Dispose()
    {
        lock (_lock)
        {
            connection.Dispose();
        }
    }
}
