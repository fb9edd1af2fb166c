using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Showrunner.Storage.Sqlite;

/// <summary>
/// The partition log side of the embedded store: owner epochs (<c>partition_epochs</c>) and reads of
/// one partition's actions by seq.
/// </summary>
/// <remarks>
/// Claims run on a connection of their own under a lock (they are rare); the fence check runs on
/// the writer inside the group commit's IMMEDIATE transaction, so SQLite's one write lock orders a
/// claim and a fenced commit: a commit that starts after a claim returned sees the new epoch.
/// </remarks>
public sealed partial class SqliteActionStore : IPartitionLog
{
    private readonly Lock _claimLock = new();
    private SqliteConnection? _claims;
    private sqlite3_stmt? _epochStatement;

    public IPartitionLog PartitionLog => this;

    private void PrepareEpochCheck() => _epochStatement = Prepare("SELECT epoch FROM partition_epochs WHERE partition = ?1");

    private void CheckFences(SqliteConnection writer, List<PartitionFence> fences)
    {
        var statement = _epochStatement!;
        foreach (var fence in fences)
        {
            Check(writer, raw.sqlite3_bind_int(statement, 1, fence.Partition));
            int step = raw.sqlite3_step(statement);
            long current = step == raw.SQLITE_ROW ? raw.sqlite3_column_int64(statement, 0) : 0;
            raw.sqlite3_reset(statement);
            if (step is not (raw.SQLITE_ROW or raw.SQLITE_DONE))
            {
                throw new SqliteException($"Reading the epoch of partition {fence.Partition} failed: {raw.sqlite3_errmsg(writer.Handle).utf8_to_string()}", step);
            }
            if (current != fence.Epoch)
            {
                throw new StaleEpochException(fence.Partition, fence.Epoch, current);
            }
        }
    }

    public ValueTask<PartitionOwner> ClaimAsync(int partition, string owner, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        CheckPartition(partition);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_claimLock)
        {
            var connection = _claims ?? throw new InvalidOperationException("The store is not open.");
            try
            {
                // The increment and the read of its result are one statement: two claims can never
                // get the same epoch, and each one's result is durable when it returns.
                using var transaction = connection.BeginTransaction();
                using var claim = connection.CreateCommand();
                claim.Transaction = transaction;
                claim.CommandText = "INSERT INTO partition_epochs (partition, epoch, owner, claimed_at) VALUES ($p, 1, $o, $t) " +
                    "ON CONFLICT (partition) DO UPDATE SET epoch = epoch + 1, owner = excluded.owner, claimed_at = excluded.claimed_at " +
                    "RETURNING epoch";
                claim.Parameters.AddWithValue("$p", partition);
                claim.Parameters.AddWithValue("$o", owner);
                long at = _time.GetUtcNow().UtcTicks;
                claim.Parameters.AddWithValue("$t", at);
                long epoch = (long)claim.ExecuteScalar()!;
                transaction.Commit();
                return ValueTask.FromResult(new PartitionOwner(partition, epoch, owner, at));
            }
            catch (SqliteException exception) when (SqliteErrors.IsTransient(exception))
            {
                throw SqliteErrors.Unavailable(exception);
            }
        }
    }

    public ValueTask<PartitionOwner?> ReadOwnerAsync(int partition, CancellationToken cancellationToken = default)
    {
        CheckPartition(partition);
        cancellationToken.ThrowIfCancellationRequested();
        var rows = Guarded(() => ReadList("SELECT partition, epoch, owner, claimed_at FROM partition_epochs WHERE partition = $p",
            reader => new PartitionOwner(reader.GetInt32(0), reader.GetInt64(1), reader.GetString(2), reader.GetInt64(3)), ("$p", partition)));
        return ValueTask.FromResult(rows.Count == 0 ? null : rows[0]);
    }

    /// <remarks>
    /// Cost: the actions table is ordered by log position and has no (partition, seq) index (an
    /// index would cost every append one more B-tree write; docs/internals/storage.md), so this
    /// walks the log from the partition's snapshot position when one covers <paramref name="fromSeq"/>,
    /// else from the start. It serves recovery and takeover, not the hot path.
    /// </remarks>
    public ValueTask<IReadOnlyList<ActionRecord>> ReadAsync(int partition, long fromSeq, int max, CancellationToken cancellationToken = default)
    {
        CheckPartition(partition);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(max, IPartitionLog.ReadMax);
        cancellationToken.ThrowIfCancellationRequested();
        // A snapshot at seq s records the log position of its partition's action s (or a bound
        // below every later one): actions with seq > s lie above it, so the scan may start there.
        var rows = Guarded(() => ReadList(
            $"SELECT {Columns} FROM actions WHERE partition = $p AND seq >= $f AND position > " +
            "COALESCE((SELECT position FROM partition_snapshots WHERE partition = $p AND seq < $f), 0) ORDER BY seq LIMIT $m",
            ReadRecord, ("$p", partition), ("$f", fromSeq), ("$m", max)));
        return ValueTask.FromResult<IReadOnlyList<ActionRecord>>(rows);
    }

    private void CheckPartition(int partition)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(partition, _partitionCount);
    }

    private static T Guarded<T>(Func<T> read)
    {
        try
        {
            return read();
        }
        catch (SqliteException exception) when (SqliteErrors.IsTransient(exception))
        {
            throw SqliteErrors.Unavailable(exception);
        }
    }
}
