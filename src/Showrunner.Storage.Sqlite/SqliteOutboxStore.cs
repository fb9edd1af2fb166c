using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using Showrunner.Storage.Outbox;

namespace Showrunner.Storage.Sqlite;

/// <summary>
/// <see cref="IOutboxStore"/> on the <c>outbox</c> table of the embedded store (migration 0004),
/// with the contract of the interface (the in-memory store is the reference; both pass
/// OutboxStoreContract). Times are UTC ticks.
/// </summary>
/// <remarks>
/// One connection of its own (opened by <see cref="SqliteActionStore"/> with the durability
/// settings), used under a lock: the worker's writes are small and rare next to ingest. The group
/// committer inserts rows on its own connection, in the transaction of the ledger entry
/// (<c>INSERT … ON CONFLICT (grant_id) DO NOTHING</c>), so every write here is kept short to
/// hold SQLite's single write lock only briefly: a take is one transaction of at most
/// <c>max</c> rows, and a redeliver moves at most <see cref="MoveChunk"/> rows per transaction,
/// finding them first with a read that takes no write lock.
/// A take selects and claims in one <c>BEGIN IMMEDIATE</c> transaction, so two stores on two
/// connections (or two tasks on one) never claim the same row. Only pending rows carry a
/// meaningful <c>next_attempt_at</c>; the column keeps its last value once a row is delivered or
/// dead-lettered and is read as null then. Queries name <c>status = 0</c> and <c>status = 2</c> as
/// literals so that SQLite uses the partial indexes <c>outbox_due</c> and <c>outbox_dead</c>.
/// </remarks>
internal sealed class SqliteOutboxStore(SqliteConnection connection) : IOutboxStore, IDisposable
{
    /// <summary>Most grant ids bound in one statement (SQLite allows far more; this keeps each statement short).</summary>
    internal const int ParameterChunk = 256;
    /// <summary>Most rows one redeliver transaction moves.</summary>
    internal const int MoveChunk = 256;

    private const int StatusPending = 0;
    private const int StatusDelivered = 1;
    private const int StatusDeadLettered = 2;
    private const string StateColumns = "grant_id, status, attempts, total_attempts, enqueued_at, next_attempt_at, last_attempt_at, " +
        "last_status_code, last_error, delivered_at, dead_lettered_at";
    private const string MoveToPending = "UPDATE outbox SET status = 0, attempts = 0, dead_lettered_at = NULL, next_attempt_at = $now";

    private readonly Lock _lock = new();
    private bool _disposed;

    public Task<EnqueueResult> EnqueueAsync(string grantId, ReadOnlyMemory<byte> payload, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(grantId);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var insert = connection.CreateCommand();
            insert.CommandText = "INSERT INTO outbox (grant_id, payload, enqueued_at, next_attempt_at) VALUES ($g, $p, $t, $t) " +
                "ON CONFLICT (grant_id) DO NOTHING";
            insert.Parameters.AddWithValue("$g", grantId);
            insert.Parameters.AddWithValue("$p", payload.ToArray());
            insert.Parameters.AddWithValue("$t", now.UtcTicks);
            if (insert.ExecuteNonQuery() == 1)
            {
                return Task.FromResult(EnqueueResult.Added);
            }
            // No transaction is needed around the comparison: nothing ever updates a payload.
            using var select = connection.CreateCommand();
            select.CommandText = "SELECT payload FROM outbox WHERE grant_id = $g";
            select.Parameters.AddWithValue("$g", grantId);
            var stored = select.ExecuteScalar() as byte[]
                ?? throw new InvalidDataException($"The outbox refused grant '{grantId}' as a duplicate but has no payload for it.");
            return Task.FromResult(stored.AsSpan().SequenceEqual(payload.Span) ? EnqueueResult.AlreadyPresent : EnqueueResult.Conflict);
        }
    }

    public Task<IReadOnlyList<DueDelivery>> TakeDueAsync(DateTimeOffset now, int max, DateTimeOffset claimUntil, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        if (claimUntil <= now)
        {
            throw new ArgumentOutOfRangeException(nameof(claimUntil), "A claim must end after now.");
        }
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            // IMMEDIATE: the write lock is taken before the select, so no other writer can claim
            // (or move) the selected rows between the select and the update.
            using var transaction = connection.BeginTransaction(deferred: false);
            var taken = new List<(long Seq, DueDelivery Delivery)>();
            using (var select = connection.CreateCommand())
            {
                select.Transaction = transaction;
                select.CommandText = "SELECT seq, grant_id, payload, attempts, enqueued_at FROM outbox " +
                    "WHERE status = 0 AND next_attempt_at <= $now ORDER BY next_attempt_at, seq LIMIT $max";
                select.Parameters.AddWithValue("$now", now.UtcTicks);
                select.Parameters.AddWithValue("$max", max);
                using var reader = select.ExecuteReader();
                while (reader.Read())
                {
                    taken.Add((reader.GetInt64(0), new DueDelivery(reader.GetString(1), (byte[])reader.GetValue(2), reader.GetInt32(3), Time(reader.GetInt64(4)))));
                }
            }
            using (var claim = connection.CreateCommand())
            {
                claim.Transaction = transaction;
                claim.CommandText = "UPDATE outbox SET next_attempt_at = $until WHERE seq = $seq";
                claim.Parameters.AddWithValue("$until", claimUntil.UtcTicks);
                var seq = claim.Parameters.Add("$seq", SqliteType.Integer);
                foreach (var (rowSeq, _) in taken)
                {
                    seq.Value = rowSeq;
                    claim.ExecuteNonQuery();
                }
            }
            transaction.Commit();
            return Task.FromResult<IReadOnlyList<DueDelivery>>(taken.ConvertAll(t => t.Delivery));
        }
    }

    public Task RecordAttemptAsync(string grantId, AttemptRecord attempt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(attempt);
        // Checked before anything changes, as the reference store does.
        if (attempt.Outcome == AttemptOutcome.Failed && attempt.NextAttemptAt is null)
        {
            throw new ArgumentException("A failed attempt needs its next attempt time.", nameof(attempt));
        }
        string outcome = attempt.Outcome switch
        {
            AttemptOutcome.Delivered => "status = 1, delivered_at = $at, last_error = NULL",
            // A failure counts against a dead letter too, but reschedules only a pending delivery.
            AttemptOutcome.Failed => "last_error = $error, next_attempt_at = CASE WHEN status = 0 THEN $next ELSE next_attempt_at END",
            AttemptOutcome.DeadLettered => "status = 2, dead_lettered_at = $at, last_error = $error",
            _ => throw new ArgumentOutOfRangeException(nameof(attempt), attempt.Outcome, "Unknown outcome."),
        };
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var update = connection.CreateCommand();
            // One statement, so atomic without a transaction. A delivered row is left alone: the
            // first success wins, and a late outcome of an overlapping attempt changes nothing.
            update.CommandText = "UPDATE outbox SET attempts = attempts + 1, total_attempts = total_attempts + 1, " +
                $"last_attempt_at = $at, last_status_code = $code, {outcome} WHERE grant_id = $g AND status <> 1";
            update.Parameters.AddWithValue("$g", grantId);
            update.Parameters.AddWithValue("$at", attempt.At.UtcTicks);
            update.Parameters.AddWithValue("$code", (object?)attempt.StatusCode ?? DBNull.Value);
            update.Parameters.AddWithValue("$error", (object?)attempt.Error ?? DBNull.Value);
            update.Parameters.AddWithValue("$next", (object?)attempt.NextAttemptAt?.UtcTicks ?? DBNull.Value);
            if (update.ExecuteNonQuery() == 0)
            {
                ThrowIfMissing(grantId);
            }
            return Task.CompletedTask;
        }
    }

    public Task ReleaseAsync(string grantId, DateTimeOffset nextAttemptAt, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var update = connection.CreateCommand();
            update.CommandText = "UPDATE outbox SET next_attempt_at = $next WHERE grant_id = $g AND status = 0";
            update.Parameters.AddWithValue("$g", grantId);
            update.Parameters.AddWithValue("$next", nextAttemptAt.UtcTicks);
            if (update.ExecuteNonQuery() == 0)
            {
                ThrowIfMissing(grantId);
            }
            return Task.CompletedTask;
        }
    }

    public Task<DeliveryState?> GetAsync(string grantId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var select = connection.CreateCommand();
            select.CommandText = $"SELECT {StateColumns} FROM outbox WHERE grant_id = $g";
            select.Parameters.AddWithValue("$g", grantId);
            using var reader = select.ExecuteReader();
            return Task.FromResult(reader.Read() ? ReadState(reader) : null);
        }
    }

    public Task<IReadOnlyList<DeliveryState>> ListDeadLettersAsync(int max, string? afterGrantId = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var select = connection.CreateCommand();
            select.CommandText = $"SELECT {StateColumns} FROM outbox WHERE status = 2" +
                (afterGrantId is null ? "" : " AND grant_id > $after") + " ORDER BY grant_id LIMIT $max";
            if (afterGrantId is not null)
            {
                select.Parameters.AddWithValue("$after", afterGrantId);
            }
            select.Parameters.AddWithValue("$max", max);
            using var reader = select.ExecuteReader();
            var list = new List<DeliveryState>();
            while (reader.Read())
            {
                list.Add(ReadState(reader));
            }
            return Task.FromResult<IReadOnlyList<DeliveryState>>(list);
        }
    }

    public Task<DateTimeOffset?> NextDueAtAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var select = connection.CreateCommand();
            select.CommandText = "SELECT MIN(next_attempt_at) FROM outbox WHERE status = 0";
            return Task.FromResult(select.ExecuteScalar() is long ticks ? Time(ticks) : (DateTimeOffset?)null);
        }
    }

    public Task<int> RedeliverAsync(RedeliverScope scope, DateTimeOffset now, IReadOnlyCollection<string>? grantIds = null, CancellationToken cancellationToken = default)
    {
        if (scope is not (RedeliverScope.DeadLettered or RedeliverScope.AllFailed))
        {
            throw new ArgumentOutOfRangeException(nameof(scope), scope, "Unknown scope.");
        }
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            int moved = grantIds is null
                ? MoveDeadLetters(now) + (scope == RedeliverScope.AllFailed ? MoveFailedPending(now) : 0)
                : MoveByIds(scope, now, grantIds);
            return Task.FromResult(moved);
        }
    }

    public Task<OutboxCounts> CountsAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var select = connection.CreateCommand();
            // One statement, so one snapshot. Pending and dead-lettered are counted on their partial
            // indexes; delivered is the rest (status is 0, 1 or 2 by the table's CHECK). The total is
            // a scan of the smallest index, so this is linear in the table; see docs/webhooks.md.
            select.CommandText = "SELECT (SELECT COUNT(*) FROM outbox WHERE status = 0), (SELECT COUNT(*) FROM outbox WHERE status = 2), " +
                "(SELECT COUNT(*) FROM outbox), (SELECT MIN(enqueued_at) FROM outbox WHERE status = 0)";
            using var reader = select.ExecuteReader();
            reader.Read();
            long pending = reader.GetInt64(0), deadLettered = reader.GetInt64(1), total = reader.GetInt64(2);
            DateTimeOffset? oldest = reader.IsDBNull(3) ? null : Time(reader.GetInt64(3));
            return Task.FromResult(new OutboxCounts(pending, total - pending - deadLettered, deadLettered, oldest));
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            connection.Dispose();
        }
    }

    /// <summary>Every dead letter back to pending, <see cref="MoveChunk"/> at a time, walking <c>outbox_dead</c> in grant id order.</summary>
    private int MoveDeadLetters(DateTimeOffset now)
    {
        int moved = 0;
        string? after = null;
        while (true)
        {
            var seqs = new List<long>(MoveChunk);
            using (var select = connection.CreateCommand())
            {
                select.CommandText = "SELECT seq, grant_id FROM outbox WHERE status = 2" + (after is null ? "" : " AND grant_id > $after") +
                    " ORDER BY grant_id LIMIT $chunk";
                if (after is not null)
                {
                    select.Parameters.AddWithValue("$after", after);
                }
                select.Parameters.AddWithValue("$chunk", MoveChunk);
                using var reader = select.ExecuteReader();
                while (reader.Read())
                {
                    seqs.Add(reader.GetInt64(0));
                    after = reader.GetString(1);
                }
            }
            moved += MoveSeqs(seqs, "status = 2", now);
            if (seqs.Count < MoveChunk)
            {
                return moved;
            }
        }
    }

    /// <summary>
    /// Pending deliveries that failed at least once, back to attempt 0 and due now. Walks
    /// <c>outbox_due</c> with a cursor on (next attempt, seq), so each pending row is read a
    /// bounded number of times (a moved row may be met once more, at its new time, and is then
    /// skipped: its attempts are 0).
    /// </summary>
    private int MoveFailedPending(DateTimeOffset now)
    {
        int moved = 0;
        long afterNext = long.MinValue, afterSeq = long.MinValue;
        while (true)
        {
            var seqs = new List<long>(MoveChunk);
            using (var select = connection.CreateCommand())
            {
                select.CommandText = "SELECT seq, next_attempt_at FROM outbox WHERE status = 0 AND (next_attempt_at, seq) > ($n, $s) " +
                    "AND attempts > 0 ORDER BY next_attempt_at, seq LIMIT $chunk";
                select.Parameters.AddWithValue("$n", afterNext);
                select.Parameters.AddWithValue("$s", afterSeq);
                select.Parameters.AddWithValue("$chunk", MoveChunk);
                using var reader = select.ExecuteReader();
                while (reader.Read())
                {
                    afterSeq = reader.GetInt64(0);
                    afterNext = reader.GetInt64(1);
                    seqs.Add(afterSeq);
                }
            }
            moved += MoveSeqs(seqs, "status = 0 AND attempts > 0", now);
            if (seqs.Count < MoveChunk)
            {
                return moved;
            }
        }
    }

    /// <summary>Moves the rows among <paramref name="seqs"/> that are still eligible (checked again in the write: the select held no lock).</summary>
    private int MoveSeqs(List<long> seqs, string eligible, DateTimeOffset now)
    {
        if (seqs.Count == 0)
        {
            return 0;
        }
        using var update = connection.CreateCommand();
        var names = new StringBuilder();
        for (int i = 0; i < seqs.Count; i++)
        {
            string name = "$s" + i.ToString(CultureInfo.InvariantCulture);
            names.Append(i == 0 ? name : ", " + name);
            update.Parameters.AddWithValue(name, seqs[i]);
        }
        update.CommandText = $"{MoveToPending} WHERE seq IN ({names}) AND {eligible}";
        update.Parameters.AddWithValue("$now", now.UtcTicks);
        return update.ExecuteNonQuery();
    }

    private int MoveByIds(RedeliverScope scope, DateTimeOffset now, IReadOnlyCollection<string> grantIds)
    {
        string eligible = scope == RedeliverScope.AllFailed ? "(status = 2 OR (status = 0 AND attempts > 0))" : "status = 2";
        // Distinct first: an id given twice moves (and counts) once, as in the reference store.
        var ids = grantIds.Distinct(StringComparer.Ordinal).ToList();
        int moved = 0;
        for (int start = 0; start < ids.Count; start += ParameterChunk)
        {
            int count = Math.Min(ParameterChunk, ids.Count - start);
            using var update = connection.CreateCommand();
            var names = new StringBuilder();
            for (int i = 0; i < count; i++)
            {
                string name = "$g" + i.ToString(CultureInfo.InvariantCulture);
                names.Append(i == 0 ? name : ", " + name);
                update.Parameters.AddWithValue(name, ids[start + i]);
            }
            update.CommandText = $"{MoveToPending} WHERE grant_id IN ({names}) AND {eligible}";
            update.Parameters.AddWithValue("$now", now.UtcTicks);
            moved += update.ExecuteNonQuery();
        }
        return moved;
    }

    private void ThrowIfMissing(string grantId)
    {
        using var select = connection.CreateCommand();
        select.CommandText = "SELECT 1 FROM outbox WHERE grant_id = $g";
        select.Parameters.AddWithValue("$g", grantId);
        if (select.ExecuteScalar() is null)
        {
            throw new InvalidOperationException($"Grant '{grantId}' is not in the outbox.");
        }
    }

    private static DeliveryState ReadState(SqliteDataReader reader)
    {
        var status = reader.GetInt32(1) switch
        {
            StatusPending => DeliveryStatus.Pending,
            StatusDelivered => DeliveryStatus.Delivered,
            StatusDeadLettered => DeliveryStatus.DeadLettered,
            var other => throw new InvalidDataException($"outbox row '{reader.GetString(0)}' has status {other}: the data directory is damaged."),
        };
        return new DeliveryState(
            reader.GetString(0), status, reader.GetInt32(2), reader.GetInt32(3), Time(reader.GetInt64(4)),
            status == DeliveryStatus.Pending ? Time(reader.GetInt64(5)) : null,
            OptionalTime(reader, 6), reader.IsDBNull(7) ? null : reader.GetInt32(7), reader.IsDBNull(8) ? null : reader.GetString(8),
            OptionalTime(reader, 9), OptionalTime(reader, 10));
    }

    private static DateTimeOffset Time(long ticks) => new(ticks, TimeSpan.Zero);

    private static DateTimeOffset? OptionalTime(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : Time(reader.GetInt64(ordinal));
}
