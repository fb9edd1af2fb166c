using Microsoft.Data.Sqlite;
using Showrunner.Storage.Audit;
using Showrunner.Storage.Sqlite;
using Showrunner.Testing;

namespace Showrunner.Storage.Tests;

/// <summary>
/// The audit log and approval requests in SQLite: an entry lands only if it extends the stored
/// head, reads page both ways with filters, nothing can be updated or deleted behind the store's
/// back, and an approval request moves only forward along its statuses.
/// </summary>
[Trait("Category", "Component")]
public sealed class SqliteAuditStoreTests : IDisposable
{
    private const long At = 638_000_000_000_000_000;
    private readonly TempDirectory _directory = new();

    private SqliteActionStore Open()
    {
        var store = new SqliteActionStore(new SqliteStoreOptions { DataDirectory = _directory.Path, ReadConnections = 1 }, TimeProvider.System);
        store.Open(4);
        return store;
    }

    private static byte[] Hash(long seq) => Enumerable.Repeat((byte)seq, 32).ToArray();

    private static StoredAuditEntry Entry(long seq, string action = "grant.create", string actor = "key:a", string target = "t") =>
        new(seq, At + seq, actor, action, target, seq % 2 == 0 ? "b" + seq : null, "a" + seq, seq % 3 == 0 ? null : "why", seq % 2 == 0 ? "{\"n\":1}" : null,
            seq == 1 ? new byte[32] : Hash(seq - 1), Hash(seq));

    [Fact]
    public void Entries_append_in_order_and_read_back_field_for_field_across_a_restart()
    {
        using (var store = Open())
        {
            Assert.Null(store.Audit.Head());
            for (long seq = 1; seq <= 5; seq++)
            {
                store.Audit.Append(Entry(seq));
            }
        }
        using var reopened = Open();
        var head = reopened.Audit.Head()!;
        AssertSame(Entry(5), head);
        var all = reopened.Audit.Query(new AuditQuery(100, AfterSeq: 0));
        Assert.Equal([1L, 2, 3, 4, 5], all.Select(e => e.Seq));
        for (int i = 0; i < all.Count; i++)
        {
            AssertSame(Entry(i + 1), all[i]);
        }
    }

    private static void AssertSame(StoredAuditEntry expected, StoredAuditEntry actual)
    {
        Assert.Equal(expected with { PrevHash = [], Hash = [] }, actual with { PrevHash = [], Hash = [] });
        Assert.Equal(expected.PrevHash, actual.PrevHash);
        Assert.Equal(expected.Hash, actual.Hash);
    }

    [Fact]
    public void An_entry_that_does_not_extend_the_head_is_refused_and_nothing_is_written()
    {
        using var store = Open();
        // Entry 2 on an empty log; entry 1 with a non-zero prev_hash.
        Assert.Throws<InvalidOperationException>(() => store.Audit.Append(Entry(2)));
        Assert.Throws<InvalidOperationException>(() => store.Audit.Append(Entry(1) with { PrevHash = Hash(9) }));
        store.Audit.Append(Entry(1));
        // The same seq again, a gap, and the right seq with the wrong link.
        Assert.Throws<InvalidOperationException>(() => store.Audit.Append(Entry(1)));
        Assert.Throws<InvalidOperationException>(() => store.Audit.Append(Entry(3)));
        Assert.Throws<InvalidOperationException>(() => store.Audit.Append(Entry(2) with { PrevHash = Hash(7) }));
        Assert.Equal([1L], store.Audit.Query(new AuditQuery(10)).Select(e => e.Seq));
        store.Audit.Append(Entry(2));
        Assert.Equal(2, store.Audit.Head()!.Seq);
    }

    [Fact]
    public void Queries_page_newest_first_or_oldest_first_and_filter_exactly()
    {
        using var store = Open();
        for (long seq = 1; seq <= 9; seq++)
        {
            store.Audit.Append(Entry(seq, action: seq % 3 == 0 ? "release.activate" : "grant.create", actor: seq <= 4 ? "key:alice" : "key:bob",
                target: seq % 2 == 0 ? "even" : "odd"));
        }
        Assert.Equal([9L, 8, 7], store.Audit.Query(new AuditQuery(3)).Select(e => e.Seq));
        Assert.Equal([6L, 5, 4], store.Audit.Query(new AuditQuery(3, BeforeSeq: 7)).Select(e => e.Seq));
        Assert.Equal([3L, 4, 5], store.Audit.Query(new AuditQuery(3, AfterSeq: 2)).Select(e => e.Seq));
        Assert.Equal([3L, 4], store.Audit.Query(new AuditQuery(10, AfterSeq: 2, BeforeSeq: 5)).Select(e => e.Seq));
        Assert.Equal([9L, 6, 3], store.Audit.Query(new AuditQuery(10, Action: "release.activate")).Select(e => e.Seq));
        Assert.Equal([4L, 3, 2, 1], store.Audit.Query(new AuditQuery(10, Actor: "key:alice")).Select(e => e.Seq));
        Assert.Equal([8L, 6], store.Audit.Query(new AuditQuery(10, Actor: "key:bob", Target: "even")).Select(e => e.Seq));
        Assert.Empty(store.Audit.Query(new AuditQuery(10, Actor: "key:ALICE")));
        Assert.Empty(store.Audit.Query(new AuditQuery(10, AfterSeq: 9)));
    }

    [Fact]
    public void The_database_refuses_updates_and_deletes_of_audit_entries()
    {
        using (var store = Open())
        {
            store.Audit.Append(Entry(1));
        }
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_directory.Path, SqliteActionStore.DatabaseFileName)};Pooling=False");
        connection.Open();
        foreach (string sql in new[] { "UPDATE audit_entries SET actor = 'key:mallory'", "DELETE FROM audit_entries" })
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            var failure = Assert.Throws<SqliteException>(() => command.ExecuteNonQuery());
            Assert.Contains("append-only", failure.Message, StringComparison.Ordinal);
        }
    }

    private static StoredApproval Request(string subject = "g-1", long created = At, long expires = At + 100) =>
        new(0, "grant.create", subject, "/v1/grants", "{\"request_id\":\"r\"}", "key:alice", "outage", created, expires, ApprovalStatuses.Pending);

    [Fact]
    public void Approval_requests_get_increasing_ids_and_move_forward_once()
    {
        using var store = Open();
        var first = store.Approvals.Insert(Request());
        var second = store.Approvals.Insert(Request("g-2"));
        Assert.Equal((1L, 2L), (first.Id, second.Id));
        Assert.Equal(first, store.Approvals.Find(1));
        Assert.Equal(2, store.Approvals.CountPending());
        Assert.Equal([first], store.Approvals.FindPending("grant.create", "g-1"));
        Assert.Empty(store.Approvals.FindPending("release.activate", "g-1"));

        Assert.True(store.Approvals.TryDecide(1, ApprovalStatuses.Pending, ApprovalStatuses.Approved, "key:bob", At + 5, "ok"));
        // A second decision finds it no longer pending.
        Assert.False(store.Approvals.TryDecide(1, ApprovalStatuses.Pending, ApprovalStatuses.Rejected, "key:carol", At + 6, null));
        Assert.True(store.Approvals.TryComplete(1, ApprovalStatuses.Executed, 201, "{\"status\":\"created\"}"));
        Assert.False(store.Approvals.TryComplete(1, ApprovalStatuses.Failed, 409, "{}"));
        Assert.Throws<ArgumentException>(() => store.Approvals.TryComplete(2, ApprovalStatuses.Rejected, 200, "{}"));
        Assert.Equal(first with
        {
            Status = ApprovalStatuses.Executed,
            DecidedBy = "key:bob",
            DecidedAtTicks = At + 5,
            DecisionReason = "ok",
            ResultStatus = 201,
            Result = "{\"status\":\"created\"}"
        }, store.Approvals.Find(1));
        Assert.Equal(1, store.Approvals.CountPending());

        Assert.Equal([2L, 1], store.Approvals.List(10, null, null).Select(a => a.Id));
        Assert.Equal([1L], store.Approvals.List(10, 2, null).Select(a => a.Id));
        Assert.Equal([2L], store.Approvals.List(10, null, ApprovalStatuses.Pending).Select(a => a.Id));
    }

    [Fact]
    public void Pending_requests_expire_at_their_time_and_not_before()
    {
        using var store = Open();
        store.Approvals.Insert(Request("a", expires: At + 10));
        store.Approvals.Insert(Request("b", expires: At + 20));
        Assert.Equal(0, store.Approvals.ExpireDue(At + 9));
        Assert.Equal(1, store.Approvals.ExpireDue(At + 10));
        Assert.Equal((ApprovalStatuses.Expired, (long?)(At + 10)), (store.Approvals.Find(1)!.Status, store.Approvals.Find(1)!.DecidedAtTicks));
        Assert.Equal(ApprovalStatuses.Pending, store.Approvals.Find(2)!.Status);
        // An expired request cannot be approved.
        Assert.False(store.Approvals.TryDecide(1, ApprovalStatuses.Pending, ApprovalStatuses.Approved, "key:bob", At + 11, null));
    }

    [Fact]
    public void The_database_refuses_moving_a_request_backwards_editing_what_was_asked_or_deleting_it()
    {
        using (var store = Open())
        {
            store.Approvals.Insert(Request());
            store.Approvals.Insert(Request("g-2"));
            store.Approvals.TryDecide(1, ApprovalStatuses.Pending, ApprovalStatuses.Rejected, "key:bob", At + 1, null);
        }
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_directory.Path, SqliteActionStore.DatabaseFileName)};Pooling=False");
        connection.Open();
        foreach (string sql in new[]
        {
            "UPDATE approvals SET status = 'pending' WHERE id = 1",
            "UPDATE approvals SET status = 'executed' WHERE id = 2",
            "UPDATE approvals SET body = '{}' WHERE id = 2",
            "UPDATE approvals SET requested_by = 'key:bob' WHERE id = 2",
            "UPDATE approvals SET expires_at = expires_at + 1 WHERE id = 2",
            "DELETE FROM approvals WHERE id = 2",
        })
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            Assert.Throws<SqliteException>(() => command.ExecuteNonQuery());
        }
    }

    public void Dispose() => _directory.Dispose();
}
