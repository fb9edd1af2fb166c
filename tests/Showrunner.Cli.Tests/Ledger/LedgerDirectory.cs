using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Showrunner.Core.Actions;
using Showrunner.Core.Ledger;
using Showrunner.Core.Rules.Bundle;
using Showrunner.Core.Rules.Syntax;
using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.LiveEvents;
using Showrunner.Runtime.Releases;
using Showrunner.Storage;
using Showrunner.Storage.Sqlite;
using Showrunner.Testing;

namespace Showrunner.Cli.Tests.Ledger;

/// <summary>
/// A data directory written by the real pipeline (store, ingest pipeline, release register and
/// lifecycle coordinator, with a manual clock): tier crossings, a community goal paid in bulk and
/// to late participants, a crash-like restart, a pause and resume, a finalized leaderboard with prizes; then three
/// signed checkpoints of the heads as they were before finalization, so the prizes lie beyond
/// every checkpoint. Built once per test class; each test works on its own <see cref="Copy"/>.
/// </summary>
public sealed class LedgerDirectory : IAsyncLifetime
{
    public const int Partitions = 4;
    public static readonly DateTimeOffset Start = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    public static readonly string Source = ReleaseFixtures.Source("hunt-with-audience-and-together-goal");

    private readonly TempDirectory _golden = new("showrunner-ledger-golden");
    private readonly List<TempDirectory> _copies = [];

    public string GoldenPath => _golden.Path;
    public string ReleaseId { get; private set; } = "";
    public string PublicKeyPem { get; private set; } = "";

    /// <summary>The checkpoints written, in order (sequence 1, 2, 3).</summary>
    internal List<SignedCheckpoint> Checkpoints { get; } = [];

    public async Task InitializeAsync()
    {
        var clock = new ManualClock(Start);
        var heads = new List<IReadOnlyList<PartitionHead>>();
        var runtime = await Runtime.OpenAsync(_golden.Path, clock);
        try
        {
            var (bundle, diagnostics) = ReleaseBundle.Build([new SourceText("r.hcl", Source)]);
            Assert.True(bundle is not null, string.Join("\n", diagnostics.Select(d => d.Format())));
            Assert.Equal(PublishStatus.Created, (await runtime.Register.PublishAsync(bundle.CanonicalBytes, bundle.Id)).Status);
            Assert.Equal(ChangeStatus.Changed, (await runtime.Register.ActivateAsync(bundle.Id, 0, null)).Status);
            ReleaseId = bundle.Id;
            async Task Submit(params BatchItem[] items) => Assert.Equal(SubmitStatus.Completed, (await runtime.Pipeline.SubmitAsync(items)).Status);

            string[] hunters = ["x", "y", "z", "w", "v", "u", "t", "s"];
            await Submit([.. hunters.Select((p, i) => Profile($"pr-{p}", p, 12 + i)), Profile("pr-low", "p-low", 3)]);
            // Bronze for x and y; everyone's kills count for the community goal (target 5), reached on the tick.
            await Submit(Kill("k-1", "x"), Kill("k-2", "x"), Kill("k-3", "y"), Kill("k-4", "y"), Kill("k-5", "z"), Kill("k-6", "w"),
                Kill("k-7", "p-low"), Kill("k-8", "p-low"), Kill("k-9", "v", "slime"), Kill("k-10", "u"), Kill("k-11", "t"), Kill("k-12", "s"));
            await runtime.Coordinator.TickAsync();
            heads.Add(Heads(runtime.Store));

            // A restart as after a crash (no final snapshot): what follows is granted from the state
            // loaded back from the last snapshots and the replayed log tail.
            runtime.Pipeline.SkipFinalSnapshotForTests = true;
            await runtime.DisposeAsync();
            runtime = await Runtime.OpenAsync(_golden.Path, clock);
            clock.Advance(TimeSpan.FromMinutes(1));
            // Silver for x; a late participant of the goal; bronze for u, t and s.
            await Submit(Kill("k-20", "x"), Kill("k-21", "x"), Kill("k-22", "late-1"), Kill("k-23", "u"), Kill("k-24", "t"), Kill("k-25", "s"));
            await runtime.Coordinator.TickAsync();
            Assert.Null((await runtime.Coordinator.OperateAsync("hunt", 0, RunOperation.Pause)).Error);
            clock.Advance(TimeSpan.FromMinutes(1));
            // Paused: nothing counts for the hunt (the goal's event is not paused).
            await Submit(Kill("k-30", "z"), Kill("k-31", "z"), Kill("k-32", "w"), Kill("k-33", "w"), Kill("k-34", "late-2"));
            Assert.Null((await runtime.Coordinator.OperateAsync("hunt", 0, RunOperation.Resume)).Error);
            clock.Advance(TimeSpan.FromMinutes(1));
            await Submit(Kill("k-40", "z"), Kill("k-41", "v"), Kill("k-42", "v"));
            heads.Add(Heads(runtime.Store));
            heads.Add(Heads(runtime.Store));

            // Past the end and the grace: prizes are paid, then both runs are recorded finalized.
            clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromHours(2));
            await runtime.Coordinator.TickAsync();
            Assert.Equal(Core.LiveEvents.RunPhase.Finalized, runtime.Coordinator.RecordedFor("hunt").Last().To);
            Assert.Equal(Core.LiveEvents.RunPhase.Finalized, runtime.Coordinator.RecordedFor("together").Last().To);
        }
        finally
        {
            await runtime.DisposeAsync();
        }

        // The server's checkpoint signer is not on this branch: sign the heads recorded above with
        // the data directory's key, as it would, and store them in order.
        using var key = LedgerSigningKey.Create();
        File.WriteAllText(Path.Combine(_golden.Path, SqliteActionStore.LedgerKeyFileName), key.ExportPkcs8Pem());
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(Path.Combine(_golden.Path, SqliteActionStore.LedgerKeyFileName), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        PublicKeyPem = key.ExportPublicKeyPem();
        using var signer = new SqliteActionStore(new SqliteStoreOptions { DataDirectory = _golden.Path, ReadConnections = 1 }, clock);
        signer.Open(Partitions);
        for (int i = 0; i < heads.Count; i++)
        {
            var signed = key.Sign(i + 1, (Start + TimeSpan.FromMinutes(i)).UtcTicks, heads[i]);
            Assert.True(signer.Ledger.AppendCheckpoint(new StoredCheckpoint(signed.Checkpoint.Sequence, signed.Checkpoint.TimeTicks, signed.Checkpoint.KeyId,
                signed.Checkpoint.CanonicalBytes, signed.Signature)));
            Checkpoints.Add(signed);
        }
        Assert.True(signer.Ledger.CountEntries() > heads[^1].Sum(h => h.Size), "the prizes lie beyond the last checkpoint");
    }

    /// <summary>The server's parts on one data directory, composed by <see cref="RuntimeHarness"/>, opened and closed together.</summary>
    private sealed record Runtime(RuntimeHarness Harness, SqliteActionStore Store, IngestPipeline Pipeline, ReleaseRegister Register, LifecycleCoordinator Coordinator) : IAsyncDisposable
    {
        public static async Task<Runtime> OpenAsync(string directory, ManualClock clock)
        {
            var harness = RuntimeHarness.Create(new global::Showrunner.Runtime.RuntimeSettings
            {
                StoreProvider = new SqliteStoreProvider(),
                DataDirectory = directory,
                ReadConnections = 2,
                Ingest = new IngestOptions { PartitionCount = Partitions, ExecutorCount = 2, SnapshotEveryActions = 5 },
            }, clock);
            harness.Open();
            await harness.Register.InitializeAsync(null);
            await harness.Pipeline.StartAsync();
            return new Runtime(harness, (SqliteActionStore)harness.Store, harness.Pipeline, harness.Register, harness.Coordinator);
        }

        public ValueTask DisposeAsync() => Harness.DisposeAsync();
    }

    private static BatchItem Kill(string id, string player, string target = "dragon") =>
        BatchItem.Valid(new ValidAction(id, player, "combat.kill", Start.UtcTicks, Encoding.UTF8.GetBytes($$"""{"target":"{{target}}"}""")));

    private static BatchItem Profile(string id, string player, int level) =>
        BatchItem.Valid(new ValidAction(id, player, "player.profile", Start.UtcTicks, Encoding.UTF8.GetBytes($$"""{"level":{{level}}}""")));

    /// <summary>Every partition's (size, root), computed from the committed entries.</summary>
    private static List<PartitionHead> Heads(SqliteActionStore store)
    {
        var heads = new List<PartitionHead>();
        for (int p = 0; p < Partitions; p++)
        {
            var range = new CompactRange();
            foreach (var row in store.Ledger.ReadEntries(p, 0, int.MaxValue))
            {
                range.Append(MerkleHash.Leaf(row.Hash));
            }
            heads.Add(new PartitionHead(range.Size, range.Root()));
        }
        return heads;
    }

    /// <summary>A fresh copy of the golden directory (deleted with the fixture) that a test may tamper with.</summary>
    public LedgerCopy Copy()
    {
        var copy = new TempDirectory("showrunner-ledger");
        lock (_copies)
        {
            _copies.Add(copy);
        }
        foreach (string file in Directory.GetFiles(_golden.Path))
        {
            string name = Path.GetFileName(file);
            if (name != SqliteActionStore.LockFileName)
            {
                File.Copy(file, Path.Combine(copy.Path, name));
            }
        }
        return new LedgerCopy(copy.Path);
    }

    public Task DisposeAsync()
    {
        foreach (var copy in _copies)
        {
            copy.Dispose();
        }
        _golden.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>A copy of the golden data directory, and the writes an attacker with file access could make to it (triggers and indexes dropped as needed).</summary>
public sealed class LedgerCopy(string path)
{
    public string Path { get; } = path;

    public string Database => System.IO.Path.Combine(Path, SqliteActionStore.DatabaseFileName);

    public SqliteConnection Connect()
    {
        var connection = new SqliteConnection($"Data Source={Database};Pooling=False");
        connection.Open();
        return connection;
    }

    public int Execute(string sql, params (string Name, object Value)[] parameters)
    {
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        return command.ExecuteNonQuery();
    }

    /// <summary>Drops the append-only triggers (and, when asked, the unique grant-id index), as an attacker editing the file would.</summary>
    public void Unprotect(bool uniqueIndexToo = false)
    {
        foreach (string trigger in new[] { "ledger_entries_append_only_update", "ledger_entries_append_only_delete", "checkpoints_append_only_update", "checkpoints_append_only_delete" })
        {
            Execute($"DROP TRIGGER IF EXISTS {trigger}");
        }
        if (uniqueIndexToo)
        {
            Execute("DROP INDEX IF EXISTS ledger_by_grant_id");
        }
    }

    /// <summary>Every stored row of a partition, in index order.</summary>
    public List<LedgerRow> Rows(int partition)
    {
        using var reader = SqliteDataDirectoryReader.Open(Path);
        return [.. reader.Entries(partition)];
    }

    public void SetEntry(int partition, long index, byte[] entry) =>
        Assert.Equal(1, Execute("UPDATE ledger_entries SET entry = $e WHERE partition = $p AND idx = $i", ("$e", entry), ("$p", partition), ("$i", index)));

    /// <summary>Writes a row as the store would: the entry's bytes and hashes and its repeated columns.</summary>
    internal void Insert(GrantEntry entry) =>
        Execute("INSERT INTO ledger_entries (partition, idx, grant_id, player, event_id, run, cause_kind, time, entry, prev_hash, hash) " +
            "VALUES ($p, $i, $g, $pl, $e, $r, $k, $t, $b, $ph, $h)",
            ("$p", entry.Partition), ("$i", entry.Index), ("$g", Convert.FromHexString(entry.GrantId)), ("$pl", entry.Player), ("$e", entry.EventId),
            ("$r", entry.Run), ("$k", GrantEntry.KindName(entry.CauseKind)), ("$t", entry.TimeTicks), ("$b", entry.CanonicalBytes),
            ("$ph", entry.PrevHash), ("$h", entry.Hash));
}
