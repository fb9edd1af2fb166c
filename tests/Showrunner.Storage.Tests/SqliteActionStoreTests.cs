using System.Text;
using Microsoft.Data.Sqlite;
using Showrunner.Storage.Sqlite;
using Showrunner.Testing;

namespace Showrunner.Storage.Tests;

[Trait("Category", "Component")]
public sealed class SqliteActionStoreTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private SqliteActionStore NewStore() => new(new SqliteStoreOptions { DataDirectory = _directory.Path, ReadConnections = 2 }, TimeProvider.System);

    private static ActionRecord Record(int partition, long seq, string id, string data = "{\"x\":1}") =>
        new(partition, seq, id, "player-" + id, "combat.kill", 638_000_000_000_000_000 + seq, 638_000_000_000_000_100 + seq, Encoding.UTF8.GetBytes(data));

    [Fact]
    public void A_new_directory_is_created_with_its_partition_count_and_empty_heads()
    {
        using var store = NewStore();
        var info = store.Open(16);
        Assert.True(info.Created);
        Assert.Equal(16, info.PartitionCount);
        Assert.Equal(SqliteMigrations.All.Count, info.SchemaVersion);
        Assert.Equal("journal_mode=WAL, synchronous=FULL", info.Durability);
        Assert.Equal(new long[16], store.LoadPartitionHeads());
    }

    [Fact]
    public void Appended_records_are_found_by_id_and_advance_the_heads()
    {
        using (var store = NewStore())
        {
            store.Open(4);
            store.Append([Record(1, 1, "a"), Record(1, 2, "b"), Record(3, 1, "c")]);
            store.Append([Record(1, 3, "d")]);
            Assert.Equal(new long[] { 0, 3, 0, 1 }, store.LoadPartitionHeads());
            var found = new Dictionary<string, ActionRecord>();
            store.FindMany(["a", "c", "missing", "d"], found);
            Assert.Equal(["a", "c", "d"], found.Keys.Order());
            var b = store.Find("b")!;
            Assert.Equal(Record(1, 2, "b") with { Data = b.Data }, b);
            Assert.Equal("{\"x\":1}", Encoding.UTF8.GetString(b.Data));
            Assert.Null(store.Find("nope"));
        }
        // Everything is still there after closing and reopening.
        using var reopened = NewStore();
        Assert.False(reopened.Open(4).Created);
        Assert.Equal(new long[] { 0, 3, 0, 1 }, reopened.LoadPartitionHeads());
        Assert.NotNull(reopened.Find("d"));
    }

    [Fact]
    public void Probing_more_ids_than_one_chunk_finds_all_of_them()
    {
        using var store = NewStore();
        store.Open(2);
        store.Append(Enumerable.Range(1, 300).Select(i => Record(0, i, "id-" + i)).ToList());
        var found = new Dictionary<string, ActionRecord>();
        store.FindMany(Enumerable.Range(1, 400).Select(i => "id-" + i).ToList(), found);
        Assert.Equal(300, found.Count);
        Assert.Equal(150, found["id-150"].Seq);
    }

    [Fact]
    public void A_duplicate_id_fails_the_whole_transaction_and_changes_nothing()
    {
        using var store = NewStore();
        store.Open(2);
        store.Append([Record(0, 1, "a")]);
        Assert.Throws<SqliteException>(() => store.Append([Record(0, 2, "b"), Record(1, 1, "a")]));
        // The store reports failure; the runtime resets the writer (fail-stop) before writing again.
        store.ResetWriter();
        Assert.Null(store.Find("b"));
        Assert.Equal(new long[] { 1, 0 }, store.LoadPartitionHeads());
        store.Append([Record(0, 2, "b")]);
        Assert.Equal(new long[] { 2, 0 }, store.LoadPartitionHeads());
    }

    [Fact]
    public void A_seq_that_does_not_advance_its_partition_head_fails_the_transaction()
    {
        using var store = NewStore();
        store.Open(2);
        store.Append([Record(0, 1, "a"), Record(0, 2, "b")]);
        Assert.Throws<InvalidDataException>(() => store.Append([Record(0, 2, "c")]));
        store.ResetWriter();
        Assert.Null(store.Find("c"));
    }

    [Fact]
    public void Opening_with_another_partition_count_is_refused_with_a_clear_message()
    {
        using (var store = NewStore())
        {
            store.Open(256);
        }
        using var again = NewStore();
        var exception = Assert.Throws<StoreConfigurationException>(() => again.Open(128));
        Assert.Equal("partition_count_mismatch", exception.Code);
        Assert.Contains("256", exception.Message, StringComparison.Ordinal);
        Assert.Contains("128", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_data_directory_is_used_by_one_store_at_a_time()
    {
        using var first = NewStore();
        first.Open(4);
        using var second = NewStore();
        var exception = Assert.Throws<StoreConfigurationException>(() => second.Open(4));
        Assert.Equal("data_directory_locked", exception.Code);
    }

    [Fact]
    public void A_schema_newer_than_this_build_is_refused()
    {
        using (var store = NewStore())
        {
            store.Open(4);
        }
        using (var connection = new SqliteConnection($"Data Source={Path.Combine(_directory.Path, SqliteActionStore.DatabaseFileName)};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 'x')";
            command.ExecuteNonQuery();
        }
        using var again = NewStore();
        Assert.Equal("schema_too_new", Assert.Throws<StoreConfigurationException>(() => again.Open(4)).Code);
    }

    [Fact]
    public void The_action_log_refuses_updates_and_deletes()
    {
        using (var store = NewStore())
        {
            store.Open(4);
            store.Append([Record(0, 1, "a")]);
        }
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_directory.Path, SqliteActionStore.DatabaseFileName)};Pooling=False");
        connection.Open();
        foreach (string sql in new[] { "UPDATE actions SET player = 'x'", "DELETE FROM actions" })
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            var exception = Assert.Throws<SqliteException>(() => command.ExecuteNonQuery());
            Assert.Contains("append-only", exception.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Durability_settings_are_in_force_on_the_database_file()
    {
        using var store = NewStore();
        store.Open(4);
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_directory.Path, SqliteActionStore.DatabaseFileName)};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", command.ExecuteScalar());
    }

    [Fact]
    public void Migrations_are_numbered_without_gaps_and_recorded_once()
    {
        Assert.Equal(Enumerable.Range(1, SqliteMigrations.All.Count), SqliteMigrations.All.Select(m => m.Version));
        using (var store = NewStore())
        {
            store.Open(4);
        }
        using (var store = NewStore())
        {
            store.Open(4);
        }
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_directory.Path, SqliteActionStore.DatabaseFileName)};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM schema_migrations";
        Assert.Equal((long)SqliteMigrations.All.Count, command.ExecuteScalar());
    }

    public void Dispose() => _directory.Dispose();
}
