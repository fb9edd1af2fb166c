using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Showrunner.Storage.Sqlite;

/// <summary>Settings of the embedded store.</summary>
public sealed record SqliteStoreOptions
{
    /// <summary>The data directory; the database is <c>showrunner.db</c> inside it.</summary>
    public required string DataDirectory { get; init; }
    /// <summary>Connections kept for concurrent reads (dedup probes, lookups).</summary>
    public int ReadConnections { get; init; } = 4;
    /// <summary>SQLite page cache per connection, in KiB.</summary>
    public int CacheSizeKib { get; init; } = 64 * 1024;
}

/// <summary>
/// The embedded action store on SQLite in WAL mode.
/// </summary>
/// <remarks>
/// Durability: <c>journal_mode=WAL</c> with <c>synchronous=FULL</c>, set on every connection and
/// read back (the store refuses to run if SQLite reports anything else). In WAL mode FULL makes
/// every COMMIT fsync the WAL before it returns, so a committed transaction survives both a
/// process kill and a power loss; NORMAL would survive only the former. The cost is one fsync per
/// group commit, shared by every action in it (docs/internals/ingest.md).
/// A data directory is used by one process at a time: an exclusive lock on
/// <c>showrunner.lock</c> (released by the kernel if the process dies) guards it.
/// </remarks>
public sealed partial class SqliteActionStore : IActionStore
{
    public const string DatabaseFileName = "showrunner.db";
    public const string LockFileName = "showrunner.lock";
    /// <summary>
    /// The ledger's signing key in the data directory (PKCS#8 PEM), written by the server. Named here,
    /// with the directory's other files, so that tools reading a data directory find it too.
    /// </summary>
    public const string LedgerKeyFileName = DataDirectoryLayout.LedgerKeyFileName;
    private const int ProbeChunk = 64;
    private const string Columns = "partition, seq, id, player, type, at, ingested_at, data, release_ref";
    /// <summary>Actions of this type also update the player's merged profile (player_profiles).</summary>
    public const string PlayerProfileType = "player.profile";

    private readonly SqliteStoreOptions _options;
    private readonly TimeProvider _time;
    private readonly string _connectionString;
    private readonly ConcurrentBag<ReadConnection> _readers = [];
    private readonly SemaphoreSlim _readerSlots;
    private FileStream? _lock;
    private SqliteConnection? _writer;
    private sqlite3_stmt? _insertStatement;
    private sqlite3_stmt? _updateHeadStatement;
    private sqlite3_stmt? _profileStatement;
    private SqliteReleaseStore? _releases;
    private SqliteRunStore? _runs;
    private SqliteRolloutStore? _rollouts;
    private SqliteOutboxStore? _outbox;
    private TranslatingOutboxStore? _outboxContract;
    private SqliteKeyStore? _keys;
    private SqliteAuditStore? _audit;
    private SqliteApprovalStore? _approvals;
    private readonly Dictionary<int, long> _heads = [];
    /// <summary>Log positions of the actions of the batch being written, in order.</summary>
    private readonly List<long> _positions = [];
    /// <summary>The largest log position committed (0 for an empty log).</summary>
    private long _lastPosition;
    private int _partitionCount;
    private bool _disposed;

    public SqliteActionStore(SqliteStoreOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _time = time;
        _readerSlots = new SemaphoreSlim(options.ReadConnections, options.ReadConnections);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(options.DataDirectory, DatabaseFileName),
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
        }.ToString();
    }

    /// <summary>The mode of every file the store creates or opens in the data directory (rw-------).</summary>
    public const UnixFileMode FileMode0600 = DataDirectoryLayout.FileMode0600;

    /// <summary>The mode of a data directory the store creates (rwx------).</summary>
    public const UnixFileMode DirectoryMode0700 = DataDirectoryLayout.DirectoryMode0700;

    private const UnixFileMode OthersMayAccess = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <remarks>
    /// Permissions (docs/operations.md, "Data directory"): the database holds player ids, grants and
    /// key hashes, so other users get nothing. A data directory the store creates is 0700; the
    /// database is created 0600 before SQLite opens it, and SQLite gives its <c>-wal</c> and
    /// <c>-shm</c> files the database's mode; the lock file is created 0600. Files of the store
    /// found wider at open (written by an older version) are narrowed to 0600 and reported in
    /// <see cref="StoreInfo.PermissionsNarrowed"/>. An existing directory is left as it is: it
    /// belongs to whoever made it (the server warns when others may enter it).
    /// </remarks>
    public StoreInfo Open(int partitionCount)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(_options.DataDirectory);
        }
        else if (!Directory.Exists(_options.DataDirectory))
        {
            Directory.CreateDirectory(_options.DataDirectory, DirectoryMode0700);
        }
        try
        {
            var lockOptions = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None };
            if (!OperatingSystem.IsWindows())
            {
                lockOptions.UnixCreateMode = FileMode0600;
            }
            _lock = new FileStream(Path.Combine(_options.DataDirectory, LockFileName), lockOptions);
        }
        catch (IOException exception)
        {
            throw new StoreConfigurationException("data_directory_locked",
                $"The data directory '{_options.DataDirectory}' is in use by another Showrunner process ({exception.Message}).");
        }

        string database = Path.Combine(_options.DataDirectory, DatabaseFileName);
        if (!OperatingSystem.IsWindows() && !File.Exists(database))
        {
            // An empty file is an empty SQLite database; created here so that it (and the -wal and
            // -shm files SQLite derives from it) never exists with SQLite's default mode 0644.
            using var empty = new FileStream(database, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = FileMode0600 });
        }
        var connection = OpenConnection();
        int schemaVersion = SqliteMigrations.Apply(connection, _time);
        bool created = CheckPartitionCount(connection, partitionCount);
        _writer = connection;
        _partitionCount = partitionCount;
        PrepareInsert();
        _lastPosition = ReadLastPosition(connection);
        for (int i = 0; i < _options.ReadConnections; i++)
        {
            _readers.Add(new ReadConnection(OpenConnection(readOnly: true)));
        }
        _releases = new SqliteReleaseStore(OpenConnection());
        _runs = new SqliteRunStore(OpenConnection());
        _rollouts = new SqliteRolloutStore(OpenConnection());
        _outbox = new SqliteOutboxStore(OpenConnection());
        _outboxContract = new TranslatingOutboxStore(_outbox);
        _claims = OpenConnection();
        _keys = new SqliteKeyStore(OpenConnection());
        _audit = new SqliteAuditStore(OpenConnection());
        _approvals = new SqliteApprovalStore(OpenConnection());
        return new StoreInfo(partitionCount, created, schemaVersion, $"SQLite {connection.ServerVersion}",
            "journal_mode=WAL, synchronous=FULL", database)
        {
            PermissionsNarrowed = NarrowPermissions(),
        };
    }

    /// <summary>Sets the store's files that other users may access to 0600; returns their names.</summary>
    private List<string> NarrowPermissions()
    {
        var narrowed = new List<string>();
        if (OperatingSystem.IsWindows())
        {
            return narrowed;
        }
        foreach (string name in new[] { DatabaseFileName, DatabaseFileName + "-wal", DatabaseFileName + "-shm", DatabaseFileName + "-journal", LockFileName })
        {
            string path = Path.Combine(_options.DataDirectory, name);
            if (File.Exists(path) && (File.GetUnixFileMode(path) & OthersMayAccess) != 0)
            {
                File.SetUnixFileMode(path, FileMode0600);
                narrowed.Add(name);
            }
        }
        return narrowed;
    }

    private SqliteConnection OpenConnection(bool readOnly = false)
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        // Safety settings are stated here, where they act, and read back: never a library default.
        SqliteMigrations.Execute(connection, "PRAGMA busy_timeout = 5000");
        string mode = Pragma(connection, "PRAGMA journal_mode = WAL");
        SqliteMigrations.Execute(connection, "PRAGMA synchronous = FULL");
        string synchronous = Pragma(connection, "PRAGMA synchronous");
        if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase) || synchronous != "2")
        {
            connection.Dispose();
            throw new StoreConfigurationException("store_settings",
                $"SQLite refused the durability settings (journal_mode={mode}, synchronous={synchronous}; expected wal and 2=FULL).");
        }
        SqliteMigrations.Execute(connection, string.Create(CultureInfo.InvariantCulture, $"PRAGMA cache_size = -{_options.CacheSizeKib}"));
        SqliteMigrations.Execute(connection, "PRAGMA temp_store = MEMORY");
        SqliteMigrations.Execute(connection, "PRAGMA wal_autocheckpoint = 8000");
        if (readOnly)
        {
            SqliteMigrations.Execute(connection, "PRAGMA query_only = 1");
        }
        return connection;
    }

    private static string Pragma(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToString(command.ExecuteScalar(), CultureInfo.InvariantCulture) ?? "";
    }

    private static bool CheckPartitionCount(SqliteConnection connection, int partitionCount)
    {
        using var select = connection.CreateCommand();
        select.CommandText = "SELECT value FROM meta WHERE key = 'partition_count'";
        if (select.ExecuteScalar() is string stored)
        {
            int storedCount = int.Parse(stored, CultureInfo.InvariantCulture);
            if (storedCount != partitionCount)
            {
                throw new StoreConfigurationException("partition_count_mismatch",
                    $"The data directory was created with {storedCount} partitions, but {partitionCount} were asked for. " +
                    "The partition count is fixed when a data directory is created; start with --partitions " +
                    $"{storedCount} or use a new data directory.");
            }
            return false;
        }
        using var transaction = connection.BeginTransaction();
        using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = "INSERT INTO meta (key, value) VALUES ('partition_count', $p)";
        insert.Parameters.AddWithValue("$p", partitionCount.ToString(CultureInfo.InvariantCulture));
        insert.ExecuteNonQuery();
        insert.CommandText = "INSERT INTO partition_heads (partition, head) VALUES ($p, 0)";
        for (int partition = 0; partition < partitionCount; partition++)
        {
            insert.Parameters[0].Value = partition;
            insert.ExecuteNonQuery();
        }
        transaction.Commit();
        return true;
    }

    private void PrepareInsert()
    {
        int code = raw.sqlite3_prepare_v2(_writer!.Handle,
            $"INSERT INTO actions ({Columns}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)", out var statement);
        if (code != raw.SQLITE_OK)
        {
            throw new SqliteException("Preparing the insert failed: " + raw.sqlite3_errmsg(_writer.Handle).utf8_to_string(), code);
        }
        _insertStatement = statement;
        code = raw.sqlite3_prepare_v2(_writer.Handle,
            "UPDATE partition_heads SET head = ?1 WHERE partition = ?2 AND head < ?1", out var update);
        if (code != raw.SQLITE_OK)
        {
            throw new SqliteException("Preparing the head update failed: " + raw.sqlite3_errmsg(_writer.Handle).utf8_to_string(), code);
        }
        _updateHeadStatement = update;
        PrepareLedger();
        // RFC 7396 merge patch: attributes in the new action replace the old ones, null removes one.
        code = raw.sqlite3_prepare_v2(_writer.Handle,
            "INSERT INTO player_profiles (player, partition, seq, data) VALUES (?1, ?2, ?3, json_patch('{}', ?4)) " +
            "ON CONFLICT (player) DO UPDATE SET data = json_patch(data, ?4), seq = ?3", out var profile);
        if (code != raw.SQLITE_OK)
        {
            throw new SqliteException("Preparing the profile update failed: " + raw.sqlite3_errmsg(_writer.Handle).utf8_to_string(), code);
        }
        _profileStatement = profile;
        PrepareEpochCheck();
    }

    public long[] LoadPartitionHeads()
    {
        using var lease = LeaseReader();
        using var command = lease.Connection.Connection.CreateCommand();
        command.CommandText = "SELECT value FROM meta WHERE key = 'partition_count'";
        int partitionCount = int.Parse((string)command.ExecuteScalar()!, CultureInfo.InvariantCulture);
        var heads = new long[partitionCount];
        command.CommandText = "SELECT partition, head FROM partition_heads ORDER BY partition";
        using var reader = command.ExecuteReader();
        int rows = 0;
        while (reader.Read())
        {
            heads[reader.GetInt32(0)] = reader.GetInt64(1);
            rows++;
        }
        if (rows != partitionCount)
        {
            throw new InvalidDataException($"partition_heads has {rows} rows for {partitionCount} partitions: the data directory is damaged.");
        }
        return heads;
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
        ObjectDisposedException.ThrowIf(_disposed, this);
        var writer = _writer ?? throw new InvalidOperationException("The store is not open, or its writer failed and was not reset.");
        batch.CheckFences(_partitionCount);
        try
        {
            CommitLocked(writer, batch);
        }
        catch (SqliteException exception) when (SqliteErrors.IsTransient(exception))
        {
            throw SqliteErrors.Unavailable(exception);
        }
    }

    private void CommitLocked(SqliteConnection writer, CommitBatch batch)
    {
        _heads.Clear();
        _positions.Clear();
        // IMMEDIATE (Microsoft.Data.Sqlite's default): the write lock is held from here, so the
        // epochs read below cannot change before the commit (a claim waits for it).
        using var transaction = writer.BeginTransaction();
        CheckFences(writer, batch.Fences);
        long positionBefore = _lastPosition;
        WriteActions(writer, batch.Actions);
        WriteLedger(writer, batch);
        WriteSnapshots(writer, batch.Snapshots, positionBefore);
        SqliteRolloutStore.WriteAssignments(writer, transaction, batch.Assignments);
        WriteModuleRows(writer, transaction, batch);
        var updateHead = _updateHeadStatement!;
        foreach (var (partition, head) in _heads)
        {
            Check(writer, raw.sqlite3_bind_int64(updateHead, 1, head));
            Check(writer, raw.sqlite3_bind_int(updateHead, 2, partition));
            int step = raw.sqlite3_step(updateHead);
            raw.sqlite3_reset(updateHead);
            if (step != raw.SQLITE_DONE)
            {
                throw new SqliteException($"Advancing the head of partition {partition} failed: {raw.sqlite3_errmsg(writer.Handle).utf8_to_string()}", step);
            }
            if (raw.sqlite3_changes(writer.Handle) != 1)
            {
                throw new InvalidDataException($"partition_heads for partition {partition} did not advance to {head}: the log and its heads disagree.");
            }
        }
        transaction.Commit();
        if (_positions.Count > 0)
        {
            _lastPosition = _positions[^1];
        }
    }

    private void WriteActions(SqliteConnection writer, List<ActionRecord> records)
    {
        // The hot path binds through SQLite's C API on the writer's own handle: measured about twice
        // as fast as ADO.NET parameters for this insert (docs/internals/ingest.md).
        var statement = _insertStatement!;
        foreach (var record in records)
        {
            Check(writer, raw.sqlite3_bind_int(statement, 1, record.Partition));
            Check(writer, raw.sqlite3_bind_int64(statement, 2, record.Seq));
            Check(writer, raw.sqlite3_bind_text(statement, 3, record.Id));
            Check(writer, raw.sqlite3_bind_text(statement, 4, record.Player));
            Check(writer, raw.sqlite3_bind_text(statement, 5, record.Type));
            Check(writer, raw.sqlite3_bind_int64(statement, 6, record.AtTicks));
            Check(writer, raw.sqlite3_bind_int64(statement, 7, record.IngestedAtTicks));
            Check(writer, raw.sqlite3_bind_blob(statement, 8, record.Data));
            Check(writer, record.ReleaseRef == 0 ? raw.sqlite3_bind_null(statement, 9) : raw.sqlite3_bind_int64(statement, 9, record.ReleaseRef));
            int step = raw.sqlite3_step(statement);
            raw.sqlite3_reset(statement);
            if (step != raw.SQLITE_DONE)
            {
                throw new SqliteException($"Appending action '{record.Id}' failed: {raw.sqlite3_errmsg(writer.Handle).utf8_to_string()}", step);
            }
            _positions.Add(raw.sqlite3_last_insert_rowid(writer.Handle));
            if (record.Type == PlayerProfileType)
            {
                var profile = _profileStatement!;
                Check(writer, raw.sqlite3_bind_text(profile, 1, record.Player));
                Check(writer, raw.sqlite3_bind_int(profile, 2, record.Partition));
                Check(writer, raw.sqlite3_bind_int64(profile, 3, record.Seq));
                // Bound as text: SQLite reads a BLOB argument of the JSON functions as its binary JSONB format.
                Check(writer, raw.sqlite3_bind_text(profile, 4, record.Data));
                step = raw.sqlite3_step(profile);
                raw.sqlite3_reset(profile);
                if (step != raw.SQLITE_DONE)
                {
                    throw new SqliteException($"Merging the profile of '{record.Player}' failed: {raw.sqlite3_errmsg(writer.Handle).utf8_to_string()}", step);
                }
            }
            ref long head = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_heads, record.Partition, out _);
            head = Math.Max(head, record.Seq);
        }
    }

    private static void Check(SqliteConnection writer, int code)
    {
        if (code != raw.SQLITE_OK)
        {
            throw new SqliteException($"Binding a value failed: {raw.sqlite3_errmsg(writer.Handle).utf8_to_string()}", code);
        }
    }

    public void ResetWriter()
    {
        DisposeWriter();
        _writer = OpenConnection();
        PrepareInsert();
        _lastPosition = ReadLastPosition(_writer);
    }

    private void DisposeWriter()
    {
        _insertStatement?.Dispose();
        _insertStatement = null;
        _updateHeadStatement?.Dispose();
        _updateHeadStatement = null;
        _profileStatement?.Dispose();
        _profileStatement = null;
        _epochStatement?.Dispose();
        _epochStatement = null;
        DisposeLedgerStatements();
        _writer?.Dispose();
        _writer = null;
    }

    public void FindMany(IReadOnlyList<string> ids, Dictionary<string, ActionRecord> found)
    {
        if (ids.Count == 0)
        {
            return;
        }
        using var lease = LeaseReader();
        var probe = lease.Connection.Probe;
        for (int start = 0; start < ids.Count; start += ProbeChunk)
        {
            for (int i = 0; i < ProbeChunk; i++)
            {
                probe.Parameters[i].Value = start + i < ids.Count ? ids[start + i] : DBNull.Value;
            }
            using var reader = probe.ExecuteReader();
            while (reader.Read())
            {
                var record = ReadRecord(reader);
                found[record.Id] = record;
            }
        }
    }

    public ActionRecord? Find(string id)
    {
        var found = new Dictionary<string, ActionRecord>(1);
        FindMany([id], found);
        return found.GetValueOrDefault(id);
    }

    private static ActionRecord ReadRecord(SqliteDataReader reader) => new(
        reader.GetInt32(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
        reader.GetInt64(5), reader.GetInt64(6), (byte[])reader.GetValue(7), reader.IsDBNull(8) ? 0 : reader.GetInt64(8));

    public byte[]? FindPlayerProfile(string player)
    {
        using var lease = LeaseReader();
        using var command = lease.Connection.Connection.CreateCommand();
        command.CommandText = "SELECT CAST(data AS BLOB) FROM player_profiles WHERE player = $p";
        command.Parameters.AddWithValue("$p", player);
        return command.ExecuteScalar() as byte[];
    }

    public IReleaseStore Releases => _releases ?? throw new InvalidOperationException("The store is not open.");

    public IRunStore Runs => _runs ?? throw new InvalidOperationException("The store is not open.");

    public IRolloutStore Rollouts => _rollouts ?? throw new InvalidOperationException("The store is not open.");

    public Outbox.IOutboxStore Outbox => _outboxContract ?? throw new InvalidOperationException("The store is not open.");

    public IKeyStore Keys => _keys ?? throw new InvalidOperationException("The store is not open.");
    public Audit.IAuditStore Audit => _audit ?? throw new InvalidOperationException("The store is not open.");

    public Audit.IApprovalStore Approvals => _approvals ?? throw new InvalidOperationException("The store is not open.");

    private ReaderLease LeaseReader()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _readerSlots.Wait();
        if (!_readers.TryTake(out var connection))
        {
            _readerSlots.Release();
            throw new InvalidOperationException("The store is not open.");
        }
        return new ReaderLease(this, connection);
    }

    private readonly struct ReaderLease(SqliteActionStore store, ReadConnection connection) : IDisposable
    {
        public ReadConnection Connection { get; } = connection;

        public void Dispose()
        {
            store._readers.Add(Connection);
            store._readerSlots.Release();
        }
    }

    /// <summary>A read connection with its prepared dedup probe.</summary>
    private sealed class ReadConnection
    {
        public ReadConnection(SqliteConnection connection)
        {
            Connection = connection;
            Probe = connection.CreateCommand();
            var names = new string[ProbeChunk];
            for (int i = 0; i < ProbeChunk; i++)
            {
                names[i] = "$i" + i.ToString(CultureInfo.InvariantCulture);
                Probe.Parameters.Add(new SqliteParameter { ParameterName = names[i] });
            }
            Probe.CommandText = $"SELECT {Columns} FROM actions WHERE id IN ({string.Join(", ", names)})";
            Probe.Prepare();
        }

        public SqliteConnection Connection { get; }
        public SqliteCommand Probe { get; }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        DisposeWriter();
        _releases?.Dispose();
        _runs?.Dispose();
        _rollouts?.Dispose();
        _outbox?.Dispose();
        _keys?.Dispose();
        _audit?.Dispose();
        _approvals?.Dispose();
        lock (_claimLock)
        {
            _claims?.Dispose();
            _claims = null;
        }
        while (_readers.TryTake(out var reader))
        {
            reader.Probe.Dispose();
            reader.Connection.Dispose();
        }
        _readerSlots.Dispose();
        _lock?.Dispose();
    }
}
