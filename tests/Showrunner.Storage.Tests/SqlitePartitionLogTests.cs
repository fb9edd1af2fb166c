using Microsoft.Data.Sqlite;
using Showrunner.Storage.Memory;
using Showrunner.Storage.Sqlite;
using Showrunner.Testing;

namespace Showrunner.Storage.Tests;

/// <summary>
/// What only the SQLite store has to show about owner epochs and the store-neutral seams: epochs
/// survive a restart, a data directory written before epochs existed opens and starts at epoch 0,
/// and the providers recognise (or not) a data directory.
/// </summary>
[Trait("Category", "Component")]
public sealed class SqlitePartitionLogTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private SqliteActionStore Open()
    {
        var store = new SqliteActionStore(new SqliteStoreOptions { DataDirectory = _directory.Path, ReadConnections = 1 }, TimeProvider.System);
        store.Open(2);
        return store;
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
    public async Task An_epoch_survives_a_restart_and_a_commit_fenced_before_it_is_still_refused()
    {
        using (var store = Open())
        {
            await store.PartitionLog.ClaimAsync(1, "node-a");
            await store.PartitionLog.ClaimAsync(1, "node-b");
        }
        using var reopened = Open();
        Assert.Equal(("node-b", 2L), ((await reopened.PartitionLog.ReadOwnerAsync(1))!.Owner, (await reopened.PartitionLog.ReadOwnerAsync(1))!.Epoch));
        var batch = new CommitBatch();
        batch.Actions.Add(new ActionRecord(1, 1, "a", "p", "kill", 1, 2, "{}"u8.ToArray()));
        batch.Fences.Add(new PartitionFence(1, 1));
        Assert.Equal(2, Assert.Throws<StaleEpochException>(() => reopened.Commit(batch)).CurrentEpoch);
        Assert.Null(reopened.Find("a"));
        Assert.Equal(3, (await reopened.PartitionLog.ClaimAsync(1, "node-c")).Epoch);
    }

    [Fact]
    public async Task A_data_directory_written_before_owner_epochs_opens_with_every_partition_at_epoch_0()
    {
        using (var store = Open())
        {
            store.Append([new ActionRecord(0, 1, "old", "p", "kill", 1, 2, "{}"u8.ToArray())]);
        }
        // The directory as schema 7 left it: no epochs table (migration 8) and no module tables (migration 9).
        Execute("DROP TABLE partition_epochs; DROP TABLE module_log; DROP TABLE module_snapshots; DELETE FROM schema_migrations WHERE version >= 8");
        using var migrated = Open();
        Assert.NotNull(migrated.Find("old"));
        Assert.Null(await migrated.PartitionLog.ReadOwnerAsync(0));
        var batch = new CommitBatch();
        batch.Actions.Add(new ActionRecord(0, 2, "new", "p", "kill", 1, 2, "{}"u8.ToArray()));
        batch.Fences.Add(new PartitionFence(0, 0));
        migrated.Commit(batch);
        Assert.Equal([1L, 2], (await migrated.PartitionLog.ReadAsync(0, 1, 10)).Select(a => a.Seq));
    }

    [Fact]
    public async Task An_epoch_never_goes_back_even_when_the_table_is_edited()
    {
        using (var store = Open())
        {
            await store.PartitionLog.ClaimAsync(0, "node-a");
        }
        Assert.Contains("only grows", Assert.Throws<SqliteException>(() => Execute("UPDATE partition_epochs SET epoch = 0")).Message, StringComparison.Ordinal);
        Assert.Contains("only grows", Assert.Throws<SqliteException>(() => Execute("DELETE FROM partition_epochs")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_sqlite_provider_recognises_its_data_directory_and_the_reader_opens_through_the_contract()
    {
        IStoreProvider[] providers = [new InMemoryStoreProvider(), new SqliteStoreProvider()];
        var missing = Assert.Throws<StoreConfigurationException>(() => DataDirectoryReaders.Open(_directory.Path, providers));
        Assert.Equal("data_directory_missing", missing.Code);
        Assert.Contains("showrunner.db (sqlite)", missing.Message, StringComparison.Ordinal);
        using (var store = Open())
        {
            store.Append([new ActionRecord(1, 1, "a", "p", "kill", 1, 2, "{}"u8.ToArray())]);
        }
        using var reader = DataDirectoryReaders.Open(_directory.Path, providers);
        Assert.Equal((2, 1L), (reader.PartitionCount, reader.ActionLogExtent().Count));
    }

    [Fact]
    public void A_value_the_reader_cannot_read_is_reported_as_store_damaged()
    {
        using (var store = Open())
        {
            store.Append([new ActionRecord(1, 1, "a", "p", "kill", 1, 2, "{}"u8.ToArray())]);
        }
        // A damaged directory: the schema is recorded as complete, but the log's table is gone.
        Execute("DROP TABLE actions");
        using var reader = new SqliteStoreProvider().TryOpenReader(_directory.Path)!;
        var damaged = Assert.Throws<StoreDataException>(() => reader.Actions().ToList());
        Assert.Equal("store_damaged", damaged.Code);
    }
}
