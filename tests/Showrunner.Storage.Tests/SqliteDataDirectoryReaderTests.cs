using System.Text;
using Microsoft.Data.Sqlite;
using Showrunner.Storage.Sqlite;
using Showrunner.Testing;

namespace Showrunner.Storage.Tests;

/// <summary>The read-only reader of a data directory: one snapshot, no lock, no migration, and a schema it does not know is refused.</summary>
[Trait("Category", "Component")]
public sealed class SqliteDataDirectoryReaderTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private SqliteActionStore NewStore() => new(new SqliteStoreOptions { DataDirectory = _directory.Path, ReadConnections = 2 }, TimeProvider.System);

    private static LedgerRow Row(int partition, long index, byte grant) =>
        new(partition, index, Enumerable.Repeat(grant, 32).ToArray(), "player", "event", 0, "action", 10 + index,
            Encoding.UTF8.GetBytes($"entry-{partition}-{index}"), new byte[32], Enumerable.Repeat((byte)index, 32).ToArray());

    private static void Commit(SqliteActionStore store, params LedgerRow[] rows)
    {
        var batch = new CommitBatch();
        batch.Ledger.AddRange(rows);
        store.Commit(batch);
    }

    private void Execute(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_directory.Path, SqliteActionStore.DatabaseFileName)};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    [Fact]
    public void It_reads_while_the_store_has_the_directory_open_and_sees_one_snapshot()
    {
        using var store = NewStore();
        store.Open(3);
        Commit(store, Row(0, 0, 1), Row(0, 1, 2), Row(2, 0, 3));
        store.Append([new ActionRecord(1, 1, "a-1", "p", "kill", 5, 6, "{}"u8.ToArray(), 0)]);
        Assert.True(store.Ledger.AppendCheckpoint(new StoredCheckpoint(1, 7, "k", [1], [2])));

        using var reader = SqliteDataDirectoryReader.Open(_directory.Path);
        Assert.Equal((3, SqliteMigrations.All.Count), (reader.PartitionCount, reader.SchemaVersion));
        Assert.Equal([0L, 1L], reader.Entries(0).Select(r => r.Index));
        // Rows committed after the first read are not part of the snapshot.
        Commit(store, Row(0, 2, 4));
        Assert.Equal([0L, 1L], reader.Entries(0).Select(r => r.Index));
        Assert.Equal(3, reader.CountEntries());
        Assert.Equal(Row(2, 0, 3).Entry, Assert.Single(reader.Entries(2)).Entry);
        Assert.Empty(reader.Entries(1));
        var (position, action) = Assert.Single(reader.Actions());
        Assert.Equal(("a-1", 1L), (action.Id, position));
        Assert.Equal(1, Assert.Single(reader.Checkpoints()).Sequence);
        Assert.Empty(reader.DuplicateGrants(10));

        using var later = SqliteDataDirectoryReader.Open(_directory.Path);
        Assert.Equal(3, later.Entries(0).Count());
    }

    [Fact]
    public void A_closed_directory_is_read_without_writing_to_it()
    {
        using (var store = NewStore())
        {
            store.Open(2);
            Commit(store, Row(1, 0, 1));
        }
        string database = Path.Combine(_directory.Path, SqliteActionStore.DatabaseFileName);
        byte[] before = File.ReadAllBytes(database);
        File.Delete(Path.Combine(_directory.Path, SqliteActionStore.LockFileName));
        using (var reader = SqliteDataDirectoryReader.Open(_directory.Path))
        {
            Assert.Single(reader.Entries(1));
        }
        Assert.Equal(before, File.ReadAllBytes(database));
        Assert.False(File.Exists(Path.Combine(_directory.Path, SqliteActionStore.LockFileName)));
    }

    [Fact]
    public void A_missing_database_or_a_schema_this_build_does_not_know_is_refused_with_a_code()
    {
        Assert.Equal("data_directory_missing", Assert.Throws<StoreConfigurationException>(() => SqliteDataDirectoryReader.Open(_directory.Path)).Code);

        using (var store = NewStore())
        {
            store.Open(2);
        }
        Execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 'now')");
        Assert.Equal("schema_too_new", Assert.Throws<StoreConfigurationException>(() => SqliteDataDirectoryReader.Open(_directory.Path)).Code);
        // Every version present, one under another name: not a schema this build wrote.
        Execute("DELETE FROM schema_migrations WHERE version = 99");
        Execute("UPDATE schema_migrations SET name = 'something_else' WHERE version = 4");
        Assert.Equal("schema_unknown", Assert.Throws<StoreConfigurationException>(() => SqliteDataDirectoryReader.Open(_directory.Path)).Code);
        Execute("DELETE FROM schema_migrations WHERE version >= 4");
        Assert.Equal("schema_too_old", Assert.Throws<StoreConfigurationException>(() => SqliteDataDirectoryReader.Open(_directory.Path)).Code);
        Execute("DROP TABLE schema_migrations");
        Assert.Equal("schema_unknown", Assert.Throws<StoreConfigurationException>(() => SqliteDataDirectoryReader.Open(_directory.Path)).Code);

        File.WriteAllText(Path.Combine(_directory.Path, SqliteActionStore.DatabaseFileName), "not a database, but long enough to look like a header of one");
        Assert.Equal("store_damaged", Assert.Throws<StoreConfigurationException>(() => SqliteDataDirectoryReader.Open(_directory.Path)).Code);
    }

    [Fact]
    public void Grant_ids_stored_twice_past_a_dropped_unique_index_are_found()
    {
        using (var store = NewStore())
        {
            store.Open(2);
            Commit(store, Row(0, 0, 1), Row(1, 0, 2));
        }
        Execute("DROP INDEX ledger_by_grant_id");
        using (var store = NewStore())
        {
            store.Open(2);
            Commit(store, Row(1, 1, 1), Row(0, 1, 2), Row(0, 2, 9));
        }
        using var reader = SqliteDataDirectoryReader.Open(_directory.Path);
        var rows = reader.DuplicateGrants(10).Select(d => (d.GrantId[..2], d.Partition, d.Index));
        Assert.Equal([("01", 0, 0L), ("01", 1, 1L), ("02", 0, 1L), ("02", 1, 0L)], rows);
        Assert.Equal(2, reader.DuplicateGrants(1).Count);
    }

    public void Dispose() => _directory.Dispose();
}
