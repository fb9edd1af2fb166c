using System.Text;
using Microsoft.Data.Sqlite;
using Showrunner.Storage.Sqlite;
using Showrunner.Testing;

namespace Showrunner.Storage.Tests;

[Trait("Category", "Component")]
public sealed class SqliteReleaseStoreTests : IDisposable
{
    private const long At = 638_000_000_000_000_000;
    private readonly TempDirectory _directory = new();

    private SqliteActionStore Open()
    {
        var store = new SqliteActionStore(new SqliteStoreOptions { DataDirectory = _directory.Path, ReadConnections = 2 }, TimeProvider.System);
        store.Open(4);
        return store;
    }

    private static string Id(char c) => new(c, 64);

    [Fact]
    public void Publishing_stores_a_release_once_and_reads_it_back_by_id_and_ref()
    {
        using var store = Open();
        var (first, created) = store.Releases.Publish(Id('a'), "summer", Id('f'), "release \"summer\" {}"u8.ToArray(), At);
        Assert.True(created);
        var (again, createdAgain) = store.Releases.Publish(Id('a'), "other name", Id('e'), "different bytes"u8.ToArray(), At + 1);
        Assert.False(createdAgain);
        Assert.Equal(first, again);
        Assert.Equal(new StoredRelease(first.Ref, Id('a'), "summer", Id('f'), 19, At), first);
        Assert.Equal(first, store.Releases.Find(Id('a')));
        Assert.Equal(first, store.Releases.Find(first.Ref));
        Assert.Equal("release \"summer\" {}", Encoding.UTF8.GetString(store.Releases.ReadBundle(first.Ref)!));
        Assert.Null(store.Releases.Find(Id('b')));
    }

    [Fact]
    public void Releases_list_newest_first_in_pages()
    {
        using var store = Open();
        foreach (char c in "abcde")
        {
            store.Releases.Publish(Id(c), "r-" + c, Id('0'), [1], At);
        }
        var page = store.Releases.List(2, null);
        Assert.Equal(["r-e", "r-d"], page.Select(r => r.Name));
        Assert.Equal(["r-c", "r-b"], store.Releases.List(2, page[^1].Ref).Select(r => r.Name));
        Assert.Equal(["r-a"], store.Releases.List(2, store.Releases.Find(Id('b'))!.Ref).Select(r => r.Name));
    }

    [Fact]
    public void The_register_advances_only_from_the_expected_version()
    {
        using var store = Open();
        var a = store.Releases.Publish(Id('a'), "a", Id('0'), [1], At).Release;
        var b = store.Releases.Publish(Id('b'), "b", Id('0'), [2], At).Release;
        Assert.Null(store.Releases.Current());
        Assert.Null(store.Releases.TryAdvance(1, a.Ref, 0, "activate", null, At));

        var v1 = store.Releases.TryAdvance(0, a.Ref, 0, "activate", "first", At)!;
        Assert.Equal(new RegisterEntry(1, a, 0, "activate", "first", At), v1);
        // A second writer that read version 0 loses.
        Assert.Null(store.Releases.TryAdvance(0, b.Ref, 0, "activate", null, At));
        var v2 = store.Releases.TryAdvance(1, b.Ref, 1, "activate", null, At + 5)!;
        Assert.Equal(2, v2.Version);
        Assert.Equal(b, v2.Release);
        Assert.Equal(v2, store.Releases.Current());
        Assert.Equal(v1, store.Releases.ReadVersion(1));
        Assert.Equal([2L, 1L], store.Releases.History(10).Select(e => e.Version));
    }

    [Fact]
    public void Concurrent_compare_and_set_lets_exactly_one_writer_win_each_version()
    {
        using var store = Open();
        var a = store.Releases.Publish(Id('a'), "a", Id('0'), [1], At).Release;
        int wins = 0;
        Parallel.For(0, 16, _ =>
        {
            if (store.Releases.TryAdvance(0, a.Ref, 0, "activate", null, At) is not null)
            {
                Interlocked.Increment(ref wins);
            }
        });
        Assert.Equal(1, wins);
        Assert.Equal(1, store.Releases.Current()!.Version);
    }

    [Fact]
    public void Releases_and_the_register_refuse_updates_and_deletes()
    {
        using (var store = Open())
        {
            var a = store.Releases.Publish(Id('a'), "a", Id('0'), [1], At).Release;
            store.Releases.TryAdvance(0, a.Ref, 0, "activate", null, At);
        }
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_directory.Path, SqliteActionStore.DatabaseFileName)}");
        connection.Open();
        foreach (string sql in new[]
        {
            "UPDATE releases SET name = 'x'", "DELETE FROM releases",
            "UPDATE release_register SET release_ref = 99", "DELETE FROM release_register",
        })
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            var failure = Assert.Throws<SqliteException>(() => command.ExecuteNonQuery());
            Assert.Contains(sql.Contains("register", StringComparison.Ordinal) ? "append-only" : "immutable", failure.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Actions_keep_their_release_ref_and_profiles_merge_in_log_order()
    {
        using (var store = Open())
        {
            var a = store.Releases.Publish(Id('a'), "a", Id('0'), [1], At).Release;
            store.Append([
                new ActionRecord(1, 1, "x1", "p", "combat.kill", At, At, "{}"u8.ToArray(), a.Ref),
                new ActionRecord(1, 2, "x2", "p", "player.profile", At, At, """{"level":5,"region":"eu","vip":true}"""u8.ToArray(), a.Ref),
                new ActionRecord(2, 1, "x3", "q", "combat.kill", At, At, "{}"u8.ToArray()),
            ]);
            store.Append([new ActionRecord(1, 3, "x4", "p", "player.profile", At, At, """{"level":6,"vip":null,"platform":"ios"}"""u8.ToArray(), a.Ref)]);
            Assert.Equal(a.Ref, store.Find("x1")!.ReleaseRef);
            Assert.Equal(0, store.Find("x3")!.ReleaseRef);
        }
        using var reopened = Open();
        Assert.Equal("""{"level":6,"region":"eu","platform":"ios"}""", Encoding.UTF8.GetString(reopened.FindPlayerProfile("p")!));
        Assert.Null(reopened.FindPlayerProfile("q"));
    }

    public void Dispose() => _directory.Dispose();
}
