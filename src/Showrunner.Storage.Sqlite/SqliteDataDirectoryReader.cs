using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Showrunner.Storage.Sqlite;

/// <summary>
/// The SQLite store's <see cref="IDataDirectoryReader"/>: opens a data directory's database read-only, for tools (<c>ledger verify</c>, <c>reconcile</c>, <c>simulate</c>)
/// that may run while the server has the directory open. Every read sees one consistent snapshot:
/// the state as of the first read after <see cref="Open"/>, whatever the server commits meanwhile.
/// </summary>
/// <remarks>
/// <para>
/// Read-only in every sense: the connection is opened with <c>Mode=ReadOnly</c> and
/// <c>query_only</c>; no migration runs and no setting is changed (not even the journal mode);
/// the directory's lock file is not touched, so the server keeps running. A schema this build
/// does not know exactly (older: not yet migrated; newer: written by a later version; or
/// different migration names) is refused with a stable code rather than misread.
/// </para>
/// <para>
/// The snapshot is one deferred read transaction held for the reader's lifetime. In WAL mode it
/// never blocks the server's writes; it only keeps SQLite from recycling the WAL past it, so a
/// reader should not be kept open longer than the work needs. The enumerables stream rows (one at
/// a time from SQLite), so walking a ledger of any size costs constant memory here.
/// </para>
/// <para>
/// A SQLite failure or a value of an unexpected type while reading surfaces as
/// <see cref="StoreDataException"/> carrying SQLite's own message (the contract's failure type).
/// </para>
/// </remarks>
internal sealed class SqliteDataDirectoryReader : IDataDirectoryReader
{
    private readonly SqliteConnection _connection;
    private readonly SqliteTransaction _snapshot;

    private SqliteDataDirectoryReader(string location, SqliteConnection connection, SqliteTransaction snapshot, int schemaVersion, int partitionCount)
    {
        Location = location;
        _connection = connection;
        _snapshot = snapshot;
        SchemaVersion = schemaVersion;
        PartitionCount = partitionCount;
    }

    /// <summary>The database file read.</summary>
    public string Location { get; }

    public int SchemaVersion { get; }

    /// <summary>The partition count the directory was created with (<c>meta.partition_count</c>).</summary>
    public int PartitionCount { get; }

    /// <summary>Opens <c>&lt;dataDirectory&gt;/showrunner.db</c> read-only and checks its schema.</summary>
    /// <exception cref="StoreConfigurationException">
    /// <c>data_directory_missing</c>, <c>schema_too_old</c>, <c>schema_too_new</c>, <c>schema_unknown</c> or
    /// <c>store_damaged</c>: the directory cannot be read as this build understands it.
    /// </exception>
    public static SqliteDataDirectoryReader Open(string dataDirectory) =>
        TryOpen(dataDirectory) ?? throw new StoreConfigurationException("data_directory_missing",
            $"'{dataDirectory}' is not a Showrunner data directory: {SqliteActionStore.DatabaseFileName} does not exist in it.");

    /// <summary>As <see cref="Open"/>, but null when the directory holds no <c>showrunner.db</c> (not this store's).</summary>
    public static SqliteDataDirectoryReader? TryOpen(string dataDirectory)
    {
        string location = Path.Combine(dataDirectory, SqliteActionStore.DatabaseFileName);
        if (!File.Exists(location))
        {
            return null;
        }
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = location,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = false,
        }.ToString());
        try
        {
            connection.Open();
            SqliteMigrations.Execute(connection, "PRAGMA busy_timeout = 5000");
            SqliteMigrations.Execute(connection, "PRAGMA query_only = 1");
            // Deferred: the snapshot starts at the first read below and holds no write lock.
            var snapshot = connection.BeginTransaction(deferred: true);
            int schemaVersion = CheckSchema(connection, snapshot, location);
            int partitionCount = ReadPartitionCount(connection, snapshot, location);
            return new SqliteDataDirectoryReader(location, connection, snapshot, schemaVersion, partitionCount);
        }
        catch (SqliteException exception)
        {
            connection.Dispose();
            throw new StoreConfigurationException("store_damaged", $"{location} cannot be read as a SQLite database: {exception.Message}");
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private static int CheckSchema(SqliteConnection connection, SqliteTransaction snapshot, string location)
    {
        var applied = new List<(int Version, string Name)>();
        using (var command = connection.CreateCommand())
        {
            command.Transaction = snapshot;
            command.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'";
            if (Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture) == 0)
            {
                throw new StoreConfigurationException("schema_unknown", $"{location} has no schema_migrations table: it was not written by Showrunner.");
            }
            command.CommandText = "SELECT version, name FROM schema_migrations ORDER BY version";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                applied.Add((reader.GetInt32(0), reader.GetString(1)));
            }
        }
        var known = SqliteMigrations.All;
        int version = applied.Count == 0 ? 0 : applied[^1].Version;
        if (version > known.Count)
        {
            throw new StoreConfigurationException("schema_too_new",
                $"{location} has schema version {version}, but this build knows only up to {known.Count}. Use a newer Showrunner.");
        }
        if (version < known.Count)
        {
            throw new StoreConfigurationException("schema_too_old",
                $"{location} has schema version {version}; this build reads only version {known.Count}. Start this build's server on it once to migrate it.");
        }
        for (int i = 0; i < known.Count; i++)
        {
            if (i >= applied.Count || applied[i].Version != known[i].Version || applied[i].Name != known[i].Name)
            {
                throw new StoreConfigurationException("schema_unknown",
                    $"{location} records migrations this build does not know (expected {known[i].Version:D4}_{known[i].Name}).");
            }
        }
        return version;
    }

    private static int ReadPartitionCount(SqliteConnection connection, SqliteTransaction snapshot, string location)
    {
        using var command = connection.CreateCommand();
        command.Transaction = snapshot;
        command.CommandText = "SELECT value FROM meta WHERE key = 'partition_count'";
        if (command.ExecuteScalar() is not string text
            || !int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int count) || count < 1)
        {
            throw new StoreConfigurationException("store_damaged", $"{location} has no valid partition count in its meta table.");
        }
        return count;
    }

    public IEnumerable<LedgerRow> Entries(int partition) => Stream(ReadEntries(partition));
    public IEnumerable<StoredCheckpoint> Checkpoints() => Stream(ReadCheckpoints());
    public IEnumerable<(long Position, ActionRecord Action)> Actions() => Stream(ReadActions());
    public (StoredRelease Release, byte[] Bundle)? Release(long releaseRef) => Guard(() => ReadRelease(releaseRef));
    public (StoredRelease Release, byte[] Bundle)? FindRelease(string id) => Guard(() => ReadFindRelease(id));
    public (long Count, long? LastIngestedAtTicks) ActionLogExtent() => Guard(() => ReadActionLogExtent());
    public long CountActionsIngested(long fromTicks, long toTicks) => Guard(() => ReadCountActionsIngested(fromTicks, toTicks));
    public IReadOnlyList<StoredTransition> Transitions() => Guard(() => ReadTransitions());
    public IReadOnlyList<StoredFlag> Flags() => Guard(() => ReadFlags());
    public IReadOnlyList<StoredGoal> Goals() => Guard(() => ReadGoals());
    public IEnumerable<Audit.StoredAuditEntry> AuditEntries() => Stream(ReadAuditEntries());
    public long CountEntries() => Guard(() => ReadCountEntries());
    public IReadOnlyList<DuplicateGrantRow> DuplicateGrants(int limit) => Guard(() => ReadDuplicateGrants(limit));

    /// <summary>Runs a read; what SQLite cannot read surfaces as the contract's <see cref="StoreDataException"/>.</summary>
    private static T Guard<T>(Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception exception) when (exception is SqliteException or InvalidCastException)
        {
            throw new StoreDataException(exception.Message, exception);
        }
    }

    /// <summary>Streams the rows; a failure while walking them surfaces as <see cref="StoreDataException"/>.</summary>
    private static IEnumerable<T> Stream<T>(IEnumerable<T> rows)
    {
        using var enumerator = rows.GetEnumerator();
        while (true)
        {
            T row;
            bool more;
            try
            {
                more = enumerator.MoveNext();
                row = more ? enumerator.Current : default!;
            }
            catch (Exception exception) when (exception is SqliteException or InvalidCastException)
            {
                throw new StoreDataException(exception.Message, exception);
            }
            if (!more)
            {
                yield break;
            }
            yield return row;
        }
    }

    private SqliteCommand Command(string sql)
    {
        var command = _connection.CreateCommand();
        command.Transaction = _snapshot;
        command.CommandText = sql;
        return command;
    }

    /// <summary>The ledger entries of one partition in index order, streamed.</summary>
    private IEnumerable<LedgerRow> ReadEntries(int partition)
    {
        using var command = Command(
            "SELECT partition, idx, grant_id, player, event_id, run, cause_kind, time, entry, prev_hash, hash " +
            "FROM ledger_entries WHERE partition = $p ORDER BY idx");
        command.Parameters.AddWithValue("$p", partition);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            yield return new LedgerRow(reader.GetInt32(0), reader.GetInt64(1), Blob(reader, 2), reader.GetString(3), reader.GetString(4),
                reader.GetInt64(5), reader.GetString(6), reader.GetInt64(7), Blob(reader, 8), Blob(reader, 9), Blob(reader, 10));
        }
    }

    /// <summary>Every checkpoint in sequence order, streamed.</summary>
    private IEnumerable<StoredCheckpoint> ReadCheckpoints()
    {
        using var command = Command("SELECT sequence, time, key_id, body, signature FROM checkpoints ORDER BY sequence");
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            yield return new StoredCheckpoint(reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2), Blob(reader, 3), Blob(reader, 4));
        }
    }

    /// <summary>Every action in log position order (so each partition's in seq order), streamed.</summary>
    private IEnumerable<(long Position, ActionRecord Action)> ReadActions()
    {
        using var command = Command("SELECT partition, seq, id, player, type, at, ingested_at, data, release_ref, position FROM actions ORDER BY position");
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            yield return (reader.GetInt64(9), new ActionRecord(reader.GetInt32(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3),
                reader.GetString(4), reader.GetInt64(5), reader.GetInt64(6), Blob(reader, 7), reader.IsDBNull(8) ? 0 : reader.GetInt64(8)));
        }
    }

    /// <summary>The release with this ref and its canonical bundle bytes, or null.</summary>
    private (StoredRelease Release, byte[] Bundle)? ReadRelease(long releaseRef)
    {
        using var command = Command("SELECT ref, id, name, merkle_root, length(bundle), published_at, bundle FROM releases WHERE ref = $r");
        command.Parameters.AddWithValue("$r", releaseRef);
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }
        return (new StoredRelease(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt32(4), reader.GetInt64(5)),
            Blob(reader, 6));
    }

    /// <summary>The stored release with this id (64 lowercase hex characters) and its canonical bundle bytes, or null.</summary>
    private (StoredRelease Release, byte[] Bundle)? ReadFindRelease(string id)
    {
        using var command = Command("SELECT ref FROM releases WHERE id = $id");
        command.Parameters.AddWithValue("$id", id);
        return command.ExecuteScalar() is long releaseRef ? ReadRelease(releaseRef) : null;
    }

    /// <summary>How many actions the log holds, and the latest ingest time among them (null when the log is empty).</summary>
    private (long Count, long? LastIngestedAtTicks) ReadActionLogExtent()
    {
        using var command = Command("SELECT count(*), max(ingested_at) FROM actions");
        using var reader = command.ExecuteReader();
        reader.Read();
        return (reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetInt64(1));
    }

    /// <summary>How many actions were ingested in [<paramref name="fromTicks"/>, <paramref name="toTicks"/>) (UTC ticks).</summary>
    private long ReadCountActionsIngested(long fromTicks, long toTicks)
    {
        using var command = Command("SELECT count(*) FROM actions WHERE ingested_at >= $from AND ingested_at < $to");
        command.Parameters.AddWithValue("$from", fromTicks);
        command.Parameters.AddWithValue("$to", toTicks);
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>Every recorded run transition, by event, run and sequence.</summary>
    private IReadOnlyList<StoredTransition> ReadTransitions()
    {
        using var command = Command("SELECT event_id, run, sequence, from_phase, to_phase, at, cause, recorded_at, release_ref " +
            "FROM run_transitions ORDER BY event_id, run, sequence");
        using var reader = command.ExecuteReader();
        var transitions = new List<StoredTransition>();
        while (reader.Read())
        {
            transitions.Add(new StoredTransition(reader.GetString(0), reader.GetInt64(1), reader.GetInt32(2), reader.GetString(3),
                reader.GetString(4), reader.GetInt64(5), reader.GetString(6), reader.GetInt64(7), reader.GetInt64(8)));
        }
        return transitions;
    }

    /// <summary>Every flag flip (kill switches), in order.</summary>
    private IReadOnlyList<StoredFlag> ReadFlags()
    {
        using var command = Command("SELECT sequence, kind, target, enabled, at, actor, reason FROM flags ORDER BY sequence");
        using var reader = command.ExecuteReader();
        var flags = new List<StoredFlag>();
        while (reader.Read())
        {
            flags.Add(new StoredFlag(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3) != 0, reader.GetInt64(4),
                reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetString(6)));
        }
        return flags;
    }

    /// <summary>Every recorded community goal, by event and run.</summary>
    private IReadOnlyList<StoredGoal> ReadGoals()
    {
        using var command = Command("SELECT event_id, run, at, sum, release_ref FROM community_goals ORDER BY event_id, run");
        using var reader = command.ExecuteReader();
        var goals = new List<StoredGoal>();
        while (reader.Read())
        {
            goals.Add(new StoredGoal(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4)));
        }
        return goals;
    }

    /// <summary>Every audit entry in seq order, streamed (<c>audit verify --data</c>).</summary>
    private IEnumerable<Audit.StoredAuditEntry> ReadAuditEntries()
    {
        using var command = Command($"SELECT {SqliteAuditStore.Columns} FROM audit_entries ORDER BY seq");
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            yield return SqliteAuditStore.Read(reader);
        }
    }

    /// <summary>The number of ledger entries of every partition.</summary>
    private long ReadCountEntries()
    {
        using var command = Command("SELECT count(*) FROM ledger_entries");
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The rows of the first <paramref name="limit"/> grant ids (in byte order) that are stored more
    /// than once, by grant id, partition and index. Empty in a sound ledger: the unique index refuses
    /// a second row, so this finds rows written past it (the index dropped, the file edited).
    /// </summary>
    private IReadOnlyList<DuplicateGrantRow> ReadDuplicateGrants(int limit)
    {
        // NOT INDEXED: group the table's own rows; the unique index, if it was dropped and rebuilt
        // or is corrupt, would hide exactly what this looks for.
        using var command = Command(
            "SELECT grant_id, partition, idx FROM ledger_entries NOT INDEXED WHERE grant_id IN " +
            "(SELECT grant_id FROM ledger_entries NOT INDEXED GROUP BY grant_id HAVING count(*) > 1 ORDER BY grant_id LIMIT $l) " +
            "ORDER BY grant_id, partition, idx");
        command.Parameters.AddWithValue("$l", limit);
        using var reader = command.ExecuteReader();
        var rows = new List<DuplicateGrantRow>();
        while (reader.Read())
        {
            rows.Add(new DuplicateGrantRow(Convert.ToHexStringLower(Blob(reader, 0)), reader.GetInt32(1), reader.GetInt64(2)));
        }
        return rows;
    }

    // A tampered row may hold a value of another type (a text where a blob belongs): read it as bytes either way.
    private static byte[] Blob(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal)
        ? []
        : reader.GetValue(ordinal) switch
        {
            byte[] bytes => bytes,
            string text => System.Text.Encoding.UTF8.GetBytes(text),
            var other => System.Text.Encoding.UTF8.GetBytes(Convert.ToString(other, CultureInfo.InvariantCulture) ?? ""),
        };

    public void Dispose()
    {
        _snapshot.Dispose();
        _connection.Dispose();
    }
}
