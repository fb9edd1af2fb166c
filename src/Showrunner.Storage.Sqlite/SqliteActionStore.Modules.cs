using Microsoft.Data.Sqlite;

namespace Showrunner.Storage.Sqlite;

/// <summary>The partition modules' own logs and snapshots (migration 0009): written inside <see cref="Commit"/>, read on the read connections.</summary>
public sealed partial class SqliteActionStore : IModuleLogStore
{
    public IModuleLogStore Modules => this;

    /// <summary>Writes the batch's module records and snapshots inside the commit's transaction (not the hot path of live events: plain commands).</summary>
    private static void WriteModuleRows(SqliteConnection writer, SqliteTransaction transaction, CommitBatch batch)
    {
        if (batch.ModuleLog.Count > 0)
        {
            using var insert = writer.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO module_log (module, partition, seq, payload) VALUES ($m, $p, $s, $d)";
            var m = insert.Parameters.Add("$m", SqliteType.Text);
            var p = insert.Parameters.Add("$p", SqliteType.Integer);
            var s = insert.Parameters.Add("$s", SqliteType.Integer);
            var d = insert.Parameters.Add("$d", SqliteType.Blob);
            foreach (var row in batch.ModuleLog)
            {
                m.Value = row.Module;
                p.Value = row.Partition;
                s.Value = row.Seq;
                d.Value = row.Payload;
                // A second record at a taken seq fails the whole commit (primary key): two writers
                // of one partition, or a module that numbered its log wrong, never goes unnoticed.
                insert.ExecuteNonQuery();
            }
        }
        if (batch.ModuleSnapshots.Count > 0)
        {
            using var upsert = writer.CreateCommand();
            upsert.Transaction = transaction;
            upsert.CommandText = "INSERT INTO module_snapshots (module, partition, seq, taken_at, data) VALUES ($m, $p, $s, $t, $d) "
                + "ON CONFLICT (module, partition) DO UPDATE SET seq = excluded.seq, taken_at = excluded.taken_at, data = excluded.data";
            var m = upsert.Parameters.Add("$m", SqliteType.Text);
            var p = upsert.Parameters.Add("$p", SqliteType.Integer);
            var s = upsert.Parameters.Add("$s", SqliteType.Integer);
            var t = upsert.Parameters.Add("$t", SqliteType.Integer);
            var d = upsert.Parameters.Add("$d", SqliteType.Blob);
            foreach (var row in batch.ModuleSnapshots)
            {
                m.Value = row.Module;
                p.Value = row.Partition;
                s.Value = row.Seq;
                t.Value = row.TakenAtTicks;
                d.Value = row.Data;
                upsert.ExecuteNonQuery();
            }
        }
    }

    ModuleSnapshotRow? IModuleLogStore.LoadSnapshot(string module, int partition) =>
        ReadList("SELECT module, partition, seq, taken_at, data FROM module_snapshots WHERE module = $m AND partition = $p",
            r => new ModuleSnapshotRow(r.GetString(0), r.GetInt32(1), r.GetInt64(2), r.GetInt64(3), (byte[])r.GetValue(4)),
            ("$m", module), ("$p", partition)).FirstOrDefault();

    IReadOnlyList<ModuleLogRow> IModuleLogStore.ReadLog(string module, int partition, long afterSeq, int limit) =>
        ReadList("SELECT module, partition, seq, payload FROM module_log WHERE module = $m AND partition = $p AND seq > $s ORDER BY seq LIMIT $l",
            r => new ModuleLogRow(r.GetString(0), r.GetInt32(1), r.GetInt64(2), (byte[])r.GetValue(3)),
            ("$m", module), ("$p", partition), ("$s", afterSeq), ("$l", limit));

    long IModuleLogStore.Head(string module, int partition) =>
        ReadList("SELECT COALESCE(MAX(seq), 0) FROM module_log WHERE module = $m AND partition = $p", r => r.GetInt64(0),
            ("$m", module), ("$p", partition))[0];
}
