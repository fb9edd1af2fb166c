using Microsoft.Data.Sqlite;
using Showrunner.Storage.Audit;

namespace Showrunner.Storage.Sqlite;

/// <summary>Approval requests in the embedded store; one connection of its own, used under a lock (rare, small writes).</summary>
internal sealed class SqliteApprovalStore(SqliteConnection connection) : IApprovalStore, IDisposable
{
    private const string Columns = "id, kind, subject, path, body, requested_by, reason, created_at, expires_at, status, " +
        "decided_by, decided_at, decision_reason, result_status, result";
    private readonly Lock _lock = new();

    public StoredApproval Insert(StoredApproval request)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_lock)
        {
            using var transaction = connection.BeginTransaction(deferred: false);
            using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO approvals (kind, subject, path, body, requested_by, reason, created_at, expires_at, status) " +
                "VALUES ($kind, $subject, $path, $body, $by, $reason, $created, $expires, 'pending') RETURNING id";
            insert.Parameters.AddWithValue("$kind", request.Kind);
            insert.Parameters.AddWithValue("$subject", request.Subject);
            insert.Parameters.AddWithValue("$path", request.Path);
            insert.Parameters.AddWithValue("$body", request.Body);
            insert.Parameters.AddWithValue("$by", request.RequestedBy);
            insert.Parameters.AddWithValue("$reason", (object?)request.Reason ?? DBNull.Value);
            insert.Parameters.AddWithValue("$created", request.CreatedAtTicks);
            insert.Parameters.AddWithValue("$expires", request.ExpiresAtTicks);
            long id = (long)insert.ExecuteScalar()!;
            transaction.Commit();
            return request with { Id = id, Status = ApprovalStatuses.Pending, DecidedBy = null, DecidedAtTicks = null, DecisionReason = null, ResultStatus = null, Result = null };
        }
    }

    public StoredApproval? Find(long id)
    {
        lock (_lock)
        {
            return Select("WHERE id = $id", command => command.Parameters.AddWithValue("$id", id)).FirstOrDefault();
        }
    }

    public IReadOnlyList<StoredApproval> List(int limit, long? beforeId, string? status)
    {
        lock (_lock)
        {
            return Select("WHERE id < $before AND ($status IS NULL OR status = $status) ORDER BY id DESC LIMIT $limit", command =>
            {
                command.Parameters.AddWithValue("$before", beforeId ?? long.MaxValue);
                command.Parameters.AddWithValue("$status", (object?)status ?? DBNull.Value);
                command.Parameters.AddWithValue("$limit", limit);
            });
        }
    }

    public IReadOnlyList<StoredApproval> FindPending(string kind, string subject)
    {
        lock (_lock)
        {
            return Select("WHERE status = 'pending' AND kind = $kind AND subject = $subject ORDER BY id", command =>
            {
                command.Parameters.AddWithValue("$kind", kind);
                command.Parameters.AddWithValue("$subject", subject);
            });
        }
    }

    public int CountPending()
    {
        lock (_lock)
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT count(*) FROM approvals WHERE status = 'pending'";
            return Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    public bool TryDecide(long id, string from, string to, string? decidedBy, long decidedAtTicks, string? reason)
    {
        lock (_lock)
        {
            return Update("UPDATE approvals SET status = $to, decided_by = $by, decided_at = $at, decision_reason = $reason WHERE id = $id AND status = $from",
                command =>
                {
                    command.Parameters.AddWithValue("$id", id);
                    command.Parameters.AddWithValue("$from", from);
                    command.Parameters.AddWithValue("$to", to);
                    command.Parameters.AddWithValue("$by", (object?)decidedBy ?? DBNull.Value);
                    command.Parameters.AddWithValue("$at", decidedAtTicks);
                    command.Parameters.AddWithValue("$reason", (object?)reason ?? DBNull.Value);
                }) == 1;
        }
    }

    public bool TryComplete(long id, string to, int resultStatus, string result)
    {
        if (to is not (ApprovalStatuses.Executed or ApprovalStatuses.Failed))
        {
            throw new ArgumentException($"An approved request completes as executed or failed, not {to}.", nameof(to));
        }
        lock (_lock)
        {
            return Update("UPDATE approvals SET status = $to, result_status = $status, result = $result WHERE id = $id AND status = 'approved'", command =>
            {
                command.Parameters.AddWithValue("$id", id);
                command.Parameters.AddWithValue("$to", to);
                command.Parameters.AddWithValue("$status", resultStatus);
                command.Parameters.AddWithValue("$result", result);
            }) == 1;
        }
    }

    public int ExpireDue(long nowTicks)
    {
        lock (_lock)
        {
            return Update("UPDATE approvals SET status = 'expired', decided_at = expires_at WHERE status = 'pending' AND expires_at <= $now",
                command => command.Parameters.AddWithValue("$now", nowTicks));
        }
    }

    private int Update(string sql, Action<SqliteCommand> bind)
    {
        using var transaction = connection.BeginTransaction(deferred: false);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        bind(command);
        int changed = command.ExecuteNonQuery();
        transaction.Commit();
        return changed;
    }

    private List<StoredApproval> Select(string clause, Action<SqliteCommand> bind)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM approvals {clause}";
        bind(command);
        using var reader = command.ExecuteReader();
        var rows = new List<StoredApproval>();
        while (reader.Read())
        {
            rows.Add(new StoredApproval(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetString(6), reader.GetInt64(7), reader.GetInt64(8), reader.GetString(9),
                reader.IsDBNull(10) ? null : reader.GetString(10), reader.IsDBNull(11) ? null : reader.GetInt64(11),
                reader.IsDBNull(12) ? null : reader.GetString(12), reader.IsDBNull(13) ? null : reader.GetInt32(13),
                reader.IsDBNull(14) ? null : reader.GetString(14)));
        }
        return rows;
    }

    public void Dispose()
    {
        lock (_lock)
        {
            connection.Dispose();
        }
    }
}
