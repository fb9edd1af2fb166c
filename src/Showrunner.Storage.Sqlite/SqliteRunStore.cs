using Microsoft.Data.Sqlite;

namespace Showrunner.Storage.Sqlite;

/// <summary>Run transitions in the embedded store; one connection of its own, used under a lock (rare, small writes).</summary>
internal sealed class SqliteRunStore(SqliteConnection connection) : IRunStore, IDisposable
{
    private readonly Lock _lock = new();

    public IReadOnlyList<StoredTransition> Load()
    {
        lock (_lock)
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT event_id, run, sequence, from_phase, to_phase, at, cause, recorded_at, release_ref " +
                "FROM run_transitions ORDER BY event_id, run, sequence";
            using var reader = command.ExecuteReader();
            var transitions = new List<StoredTransition>();
            while (reader.Read())
            {
                transitions.Add(new StoredTransition(reader.GetString(0), reader.GetInt64(1), reader.GetInt32(2), reader.GetString(3),
                    reader.GetString(4), reader.GetInt64(5), reader.GetString(6), reader.GetInt64(7), reader.GetInt64(8)));
            }
            return transitions;
        }
    }

    public bool Append(IReadOnlyList<StoredTransition> transitions)
    {
        lock (_lock)
        {
            using var transaction = connection.BeginTransaction();
            using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO run_transitions (event_id, run, sequence, from_phase, to_phase, at, cause, recorded_at, release_ref) " +
                "VALUES ($e, $r, $s, $f, $t, $a, $c, $w, $x) ON CONFLICT DO NOTHING";
            var parameters = new[] { "$e", "$r", "$s", "$f", "$t", "$a", "$c", "$w", "$x" }.Select(name => insert.Parameters.Add(new SqliteParameter { ParameterName = name })).ToArray();
            foreach (var t in transitions)
            {
                object[] values = [t.EventId, t.Run, t.Sequence, t.From, t.To, t.AtTicks, t.Cause, t.RecordedAtTicks, t.ReleaseRef];
                for (int i = 0; i < values.Length; i++)
                {
                    parameters[i].Value = values[i];
                }
                if (insert.ExecuteNonQuery() != 1)
                {
                    transaction.Rollback();
                    return false;
                }
            }
            transaction.Commit();
            return true;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            connection.Dispose();
        }
    }
}
