using Microsoft.Data.Sqlite;
using Showrunner.Storage.Sqlite;
using Showrunner.Testing;

namespace Showrunner.Storage.Tests;

/// <summary>The API key table: insert once, revoke once, never the last admin key, nothing deleted, survives a reopen.</summary>
[Trait("Category", "Component")]
public sealed class SqliteKeyStoreTests : IDisposable
{
    private const long At = 638_000_000_000_000_000;
    private readonly TempDirectory _directory = new();

    private SqliteActionStore Open()
    {
        var store = new SqliteActionStore(new SqliteStoreOptions { DataDirectory = _directory.Path, ReadConnections = 1 }, TimeProvider.System);
        store.Open(4);
        return store;
    }

    private static StoredKey Key(string id, string kind = StoredKey.OperatorKind, string? role = StoredKey.AdminRole, string? title = null) =>
        new(id, kind, kind == StoredKey.OperatorKind ? role : null, kind == StoredKey.GameServerKind ? title ?? "default" : null,
            "name-" + id, [.. Enumerable.Repeat((byte)id[0], 32)], At, "system:bootstrap");

    [Fact]
    public void A_key_is_stored_once_and_read_back_after_a_reopen()
    {
        using (var store = Open())
        {
            Assert.Equal(0, store.Keys.Count());
            Assert.True(store.Keys.Insert(Key("aaaaaaaaaaaa")));
            Assert.False(store.Keys.Insert(Key("aaaaaaaaaaaa", role: "viewer")));
            Assert.True(store.Keys.Insert(Key("bbbbbbbbbbbb", StoredKey.GameServerKind, title: "space-race")));
        }
        using var reopened = Open();
        var admin = reopened.Keys.Find("aaaaaaaaaaaa")!;
        Assert.Equal(("operator", "admin", (string?)null, "name-aaaaaaaaaaaa", At, "system:bootstrap"),
            (admin.Kind, admin.Role, admin.Title, admin.Name, admin.CreatedAtTicks, admin.CreatedBy));
        Assert.Equal(Enumerable.Repeat((byte)'a', 32), admin.SecretSha256);
        Assert.Null(admin.RevokedAtTicks);
        var server = reopened.Keys.Find("bbbbbbbbbbbb")!;
        Assert.Equal(("game_server", (string?)null, "space-race"), (server.Kind, server.Role, server.Title));
        Assert.Null(reopened.Keys.Find("cccccccccccc"));
        Assert.Equal(2, reopened.Keys.Count());
    }

    [Fact]
    public void Revocation_happens_once_and_never_to_the_last_active_admin_key()
    {
        using var store = Open();
        store.Keys.Insert(Key("aaaaaaaaaaaa"));
        store.Keys.Insert(Key("bbbbbbbbbbbb", role: "viewer"));
        Assert.Equal(RevokeOutcome.LastAdmin, store.Keys.Revoke("aaaaaaaaaaaa", At + 1, "key:aaaaaaaaaaaa").Outcome);
        Assert.Null(store.Keys.Find("aaaaaaaaaaaa")!.RevokedAtTicks);

        store.Keys.Insert(Key("cccccccccccc"));
        var (outcome, revoked) = store.Keys.Revoke("aaaaaaaaaaaa", At + 1, "key:cccccccccccc");
        Assert.Equal(RevokeOutcome.Revoked, outcome);
        Assert.Equal((At + 1, "key:cccccccccccc"), (revoked!.RevokedAtTicks, revoked.RevokedBy));
        var reread = store.Keys.Find("aaaaaaaaaaaa")!;
        Assert.Equal((At + 1, "key:cccccccccccc"), (reread.RevokedAtTicks, reread.RevokedBy));
        var (again, unchanged) = store.Keys.Revoke("aaaaaaaaaaaa", At + 2, "key:other");
        Assert.Equal(RevokeOutcome.AlreadyRevoked, again);
        Assert.Equal(At + 1, unchanged!.RevokedAtTicks);
        Assert.Equal(RevokeOutcome.LastAdmin, store.Keys.Revoke("cccccccccccc", At + 3, "key:cccccccccccc").Outcome);
        Assert.Equal(RevokeOutcome.Revoked, store.Keys.Revoke("bbbbbbbbbbbb", At + 3, "key:cccccccccccc").Outcome);
        Assert.Equal(RevokeOutcome.NotFound, store.Keys.Revoke("dddddddddddd", At + 3, "key:cccccccccccc").Outcome);
        Assert.Equal(["cccccccccccc"], store.Keys.ListActive().Select(k => k.Id));
    }

    [Fact]
    public void Keys_list_in_creation_order_in_pages()
    {
        using var store = Open();
        foreach (string id in new[] { "ffffffffffff", "111111111111", "999999999999", "000000000000" })
        {
            store.Keys.Insert(Key(id, role: "viewer"));
        }
        var page = store.Keys.List(3, null);
        Assert.Equal(["ffffffffffff", "111111111111", "999999999999"], page.Select(k => k.Id));
        Assert.Equal(["000000000000"], store.Keys.List(3, page[^1].Id).Select(k => k.Id));
        Assert.Empty(store.Keys.List(3, "000000000000"));
    }

    [Fact]
    public void The_table_refuses_deletes_edits_after_revocation_and_rows_that_mix_the_kinds()
    {
        using (var store = Open())
        {
            store.Keys.Insert(Key("aaaaaaaaaaaa"));
            store.Keys.Insert(Key("bbbbbbbbbbbb"));
            store.Keys.Revoke("bbbbbbbbbbbb", At, "key:aaaaaaaaaaaa");
        }
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_directory.Path, SqliteActionStore.DatabaseFileName)};Pooling=False");
        connection.Open();
        void Fails(string sql)
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            Assert.Throws<SqliteException>(() => command.ExecuteNonQuery());
        }
        Fails("DELETE FROM api_keys WHERE id = 'aaaaaaaaaaaa'");
        Fails("UPDATE api_keys SET role = 'viewer' WHERE id = 'aaaaaaaaaaaa'");
        Fails("UPDATE api_keys SET secret_sha256 = zeroblob(32) WHERE id = 'aaaaaaaaaaaa'");
        Fails("UPDATE api_keys SET revoked_at = NULL, revoked_by = NULL WHERE id = 'bbbbbbbbbbbb'");
        Fails("INSERT INTO api_keys (id, kind, role, title, name, secret_sha256, created_at, created_by) VALUES ('cccccccccccc', 'game_server', 'admin', 't', 'n', zeroblob(32), 0, 'x')");
        Fails("INSERT INTO api_keys (id, kind, role, title, name, secret_sha256, created_at, created_by) VALUES ('cccccccccccc', 'operator', 'admin', NULL, 'n', zeroblob(31), 0, 'x')");
        using var count = connection.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM api_keys WHERE role = 'admin' AND secret_sha256 = zeroblob(32)";
        Assert.Equal(0L, count.ExecuteScalar());
    }

    public void Dispose() => _directory.Dispose();
}
