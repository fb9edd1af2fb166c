using System.Text;
using Microsoft.Data.Sqlite;
using Showrunner.Storage.Outbox;
using Showrunner.Storage.Sqlite;
using Showrunner.Testing;

namespace Showrunner.Storage.Tests;

/// <summary>The store contract (tests/Shared/OutboxStoreContract.cs) on the SQLite outbox, in a real data directory.</summary>
[Trait("Category", "Component")]
public sealed class SqliteOutboxStoreContractTests : OutboxStoreContract
{
    private readonly TempDirectory _directory = new();
    private SqliteActionStore? _actions;

    protected override IOutboxStore CreateStore()
    {
        _actions = new SqliteActionStore(new SqliteStoreOptions { DataDirectory = _directory.Path, ReadConnections = 1 }, TimeProvider.System);
        _actions.Open(2);
        return _actions.Outbox;
    }

    protected override void DisposeStore()
    {
        _actions?.Dispose();
        _directory.Dispose();
    }
}

/// <summary>What only the durable store has to show: state across reopening, claims across a restart, concurrent takes, the group committer's rows.</summary>
[Trait("Category", "Component")]
public sealed class SqliteOutboxStoreTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);
    private readonly TempDirectory _directory = new();

    private SqliteActionStore Open()
    {
        var store = new SqliteActionStore(new SqliteStoreOptions { DataDirectory = _directory.Path, ReadConnections = 1 }, TimeProvider.System);
        store.Open(2);
        return store;
    }

    /// <summary>A second connection to the same database, as another writer (the group committer, another worker) has.</summary>
    private SqliteConnection OpenRawConnection()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(_directory.Path, SqliteActionStore.DatabaseFileName),
            Pooling = false,
        }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA busy_timeout = 5000";
        command.ExecuteNonQuery();
        return connection;
    }

    private static byte[] Body(string text) => Encoding.UTF8.GetBytes(text);

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Every_state_survives_closing_and_reopening_the_store()
    {
        DeliveryState?[] before;
        OutboxCounts countsBefore;
        using (var store = Open())
        {
            var outbox = store.Outbox;
            foreach (string id in new[] { "delivered", "failed", "dead", "waiting" })
            {
                await outbox.EnqueueAsync(id, Body($"{{\"id\":\"{id}\"}}"), T0);
            }
            await outbox.TakeDueAsync(T0, 3, T0 + Minute);
            await outbox.RecordAttemptAsync("delivered", AttemptRecord.Delivered(T0 + TimeSpan.FromSeconds(1), 204));
            await outbox.RecordAttemptAsync("failed", AttemptRecord.Failed(T0 + TimeSpan.FromSeconds(2), null, "timeout: no answer within 10000 ms", T0 + 7 * Minute));
            await outbox.RecordAttemptAsync("dead", AttemptRecord.DeadLettered(T0 + TimeSpan.FromSeconds(3), 401, "HTTP 401"));
            before = [await outbox.GetAsync("delivered"), await outbox.GetAsync("failed"), await outbox.GetAsync("dead"), await outbox.GetAsync("waiting")];
            countsBefore = await outbox.CountsAsync();
        }
        using var reopened = Open();
        var again = reopened.Outbox;
        DeliveryState?[] after = [await again.GetAsync("delivered"), await again.GetAsync("failed"), await again.GetAsync("dead"), await again.GetAsync("waiting")];
        Assert.Equal(before, after);
        Assert.Equal(new DeliveryState("failed", DeliveryStatus.Pending, 1, 1, T0, T0 + 7 * Minute, T0 + TimeSpan.FromSeconds(2), null,
            "timeout: no answer within 10000 ms", null, null), before[1]);
        Assert.Equal(countsBefore, await again.CountsAsync());
        Assert.Equal(new OutboxCounts(2, 1, 1, T0), countsBefore);
        Assert.Equal(["dead"], (await again.ListDeadLettersAsync(10)).Select(s => s.GrantId));
        // Idempotency holds across the restart too.
        Assert.Equal(EnqueueResult.AlreadyPresent, await again.EnqueueAsync("waiting", Body("{\"id\":\"waiting\"}"), T0 + Minute));
        Assert.Equal(EnqueueResult.Conflict, await again.EnqueueAsync("waiting", Body("{\"id\":\"other\"}"), T0 + Minute));
        var due = Assert.Single(await again.TakeDueAsync(T0 + Minute, 10, T0 + 2 * Minute));
        Assert.Equal(("waiting", "{\"id\":\"waiting\"}"), (due.GrantId, Encoding.UTF8.GetString(due.Payload.Span)));
    }

    [Fact]
    public async Task A_claim_of_a_worker_that_died_ends_and_the_delivery_is_due_again_after_a_restart()
    {
        using (var store = Open())
        {
            await store.Outbox.EnqueueAsync("g", Body("{}"), T0);
            Assert.Single(await store.Outbox.TakeDueAsync(T0, 10, T0 + Minute));
            // The process dies here, mid-attempt: no outcome is recorded.
        }
        using var reopened = Open();
        var outbox = reopened.Outbox;
        Assert.Equal(T0 + Minute, (await outbox.GetAsync("g"))!.NextAttemptAt);
        Assert.Equal(T0 + Minute, await outbox.NextDueAtAsync());
        Assert.Empty(await outbox.TakeDueAsync(T0 + Minute - TimeSpan.FromTicks(1), 10, T0 + 2 * Minute));
        var again = Assert.Single(await outbox.TakeDueAsync(T0 + Minute, 10, T0 + 2 * Minute));
        Assert.Equal(("g", 0), (again.GrantId, again.Attempts));
    }

    [Fact]
    public async Task Concurrent_takes_on_one_store_and_on_two_connections_never_return_a_grant_twice()
    {
        const int Count = 400;
        using var store = Open();
        using (var bulk = OpenRawConnection())
        using (var transaction = bulk.BeginTransaction())
        using (var insert = bulk.CreateCommand())
        {
            // One transaction for the set-up (the store's enqueue commits each row on its own).
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO outbox (grant_id, payload, enqueued_at, next_attempt_at) VALUES ($g, X'7B7D', $t, $t)";
            var id = insert.Parameters.Add("$g", SqliteType.Text);
            insert.Parameters.AddWithValue("$t", T0.UtcTicks);
            for (int i = 0; i < Count; i++)
            {
                id.Value = "g-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                insert.ExecuteNonQuery();
            }
            transaction.Commit();
        }
        using var other = new SqliteOutboxStore(OpenRawConnection());
        IOutboxStore[] takers = [store.Outbox, store.Outbox, other, other];
        using var start = new Barrier(takers.Length);
        var results = await Task.WhenAll(takers.Select(taker => Task.Run(async () =>
        {
            var mine = new List<string>();
            start.SignalAndWait();
            while (true)
            {
                var due = await taker.TakeDueAsync(T0, 7, T0 + Minute);
                if (due.Count == 0)
                {
                    return mine;
                }
                mine.AddRange(due.Select(d => d.GrantId));
            }
        })));
        var all = results.SelectMany(r => r).ToList();
        Assert.Equal(Count, all.Count);
        Assert.Equal(Count, all.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public async Task A_row_written_the_way_the_group_committer_writes_it_is_delivered_like_an_enqueued_one()
    {
        using var store = Open();
        using (var committer = OpenRawConnection())
        using (var insert = committer.CreateCommand())
        {
            insert.CommandText = "INSERT INTO outbox (grant_id, payload, enqueued_at, next_attempt_at) VALUES ($g, $p, $t, $t) ON CONFLICT (grant_id) DO NOTHING";
            insert.Parameters.AddWithValue("$g", "committed");
            insert.Parameters.AddWithValue("$p", Body("{\"reward\":\"gem\"}"));
            insert.Parameters.AddWithValue("$t", T0.UtcTicks);
            Assert.Equal(1, insert.ExecuteNonQuery());
            Assert.Equal(0, insert.ExecuteNonQuery()); // the committer's retry of the same grant
        }
        var outbox = store.Outbox;
        Assert.Equal(new DeliveryState("committed", DeliveryStatus.Pending, 0, 0, T0, T0, null, null, null, null, null), await outbox.GetAsync("committed"));
        Assert.Equal(EnqueueResult.AlreadyPresent, await outbox.EnqueueAsync("committed", Body("{\"reward\":\"gem\"}"), T0));
        var due = Assert.Single(await outbox.TakeDueAsync(T0, 10, T0 + Minute));
        Assert.Equal("{\"reward\":\"gem\"}", Encoding.UTF8.GetString(due.Payload.Span));
    }

    [Fact]
    public void The_worker_queries_use_the_partial_indexes_and_the_table_refuses_an_unknown_status()
    {
        using var store = Open();
        using var connection = OpenRawConnection();
        string Plan(string sql)
        {
            using var command = connection.CreateCommand();
            command.CommandText = "EXPLAIN QUERY PLAN " + sql;
            command.Parameters.AddWithValue("$now", 0L);
            command.Parameters.AddWithValue("$after", "");
            using var reader = command.ExecuteReader();
            var details = new List<string>();
            while (reader.Read())
            {
                details.Add(reader.GetString(3));
            }
            return string.Join(" | ", details);
        }
        Assert.Contains("outbox_due", Plan("SELECT seq FROM outbox WHERE status = 0 AND next_attempt_at <= $now ORDER BY next_attempt_at, seq LIMIT 10"), StringComparison.Ordinal);
        Assert.Contains("outbox_due", Plan("SELECT MIN(next_attempt_at) FROM outbox WHERE status = 0"), StringComparison.Ordinal);
        Assert.Contains("outbox_dead", Plan("SELECT grant_id FROM outbox WHERE status = 2 AND grant_id > $after ORDER BY grant_id LIMIT 10"), StringComparison.Ordinal);

        using var insert = connection.CreateCommand();
        insert.CommandText = "INSERT INTO outbox (grant_id, payload, status, enqueued_at, next_attempt_at) VALUES ('x', X'', 3, 0, 0)";
        var refused = Assert.Throws<SqliteException>(() => insert.ExecuteNonQuery());
        Assert.Contains("CHECK", refused.Message, StringComparison.Ordinal);
    }
}
