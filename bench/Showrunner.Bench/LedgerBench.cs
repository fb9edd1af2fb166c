using System.Diagnostics;
using System.Globalization;
using Showrunner.Core.Ledger;
using Showrunner.Core.LiveEvents;
using Showrunner.Core.Partitioning;
using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.Ledger;
using Showrunner.Storage;
using Showrunner.Storage.Sqlite;

namespace Showrunner.Bench;

/// <summary>
/// <c>ledger</c>: in-process micro-measurements of the ledger, one thread, no HTTP.
/// <list type="number">
/// <item>(a) <see cref="PartitionLedger.Append"/> alone (entry, canonical bytes, hash, Merkle
/// frontier), then with the rows the partition executor builds from it (ledger row, Merkle node
/// rows, outbox payload: PartitionExecutor.AppendGrants).</item>
/// <item>(b) durable appends: those rows through <see cref="SqliteActionStore.Commit"/>, --commit-batch
/// entries per transaction (default 256), --entries in all (default 1,000,000) over --partitions
/// (default 256), each grant in its player's partition.</item>
/// <item>(c) a checkpoint: <see cref="LedgerSigningKey.Sign"/> over the 256 partition heads, and
/// storing it (<see cref="ILedgerStore.AppendCheckpoint"/>, one durable transaction), --checkpoints
/// times each (default 200).</item>
/// <item>(d) inclusion proofs from the store of (b): <see cref="MerkleLog"/> over
/// <see cref="StoredMerkleView"/> at the partition's size, as a receipt reads them, --proofs times
/// (default 2,000) at random (partition, index); each proof is checked against the partition's root.</item>
/// </list>
/// </summary>
/// <remarks>
/// The grants are tier grants like the live release's (one reward line, an action id); grant i is
/// (player i mod --players, event, tier) so that every grant id is distinct. The store lives in a
/// temporary directory, deleted at the end (or in --data DIR, which must be new, and is kept).
/// </remarks>
internal static class LedgerBench
{
    private const int WarmupAppends = 20_000;

    public static Task RunAsync(BenchOptions options)
    {
        int partitions = options.Int("partitions", PartitionRouter.DefaultPartitionCount);
        int entries = options.Int("entries", 1_000_000);
        int commitBatch = options.Int("commit-batch", 256);
        int checkpoints = options.Int("checkpoints", 200);
        int proofs = options.Int("proofs", 2_000);
        var grants = new GrantSource(options.Players, partitions, LiveRelease.Build(TimeProvider.System.GetUtcNow(), options).Id,
            TimeProvider.System.GetUtcNow().UtcTicks);
        Console.WriteLine($"# {partitions} partitions, {entries} entries, commits of {commitBatch}, {checkpoints} checkpoints, {proofs} proofs; seed {options.Seed}");

        MeasureAppends(grants, partitions, entries);
        var (data, delete) = BenchServer.FreshDataDirectory(options, "ledger");
        try
        {
            using var store = new SqliteActionStore(new SqliteStoreOptions { DataDirectory = data }, TimeProvider.System);
            store.Open(partitions);
            var ledgers = MeasureDurableAppends(store, data, grants, partitions, entries, commitBatch);
            MeasureCheckpoints(store, ledgers, checkpoints);
            MeasureProofs(store, ledgers, proofs, new Random(options.Seed));
        }
        finally
        {
            if (delete && Directory.Exists(data))
            {
                Directory.Delete(data, recursive: true);
            }
        }
        return Task.CompletedTask;
    }

    /// <summary>(a) Appends alone, then with the executor's rows; both on fresh in-memory ledgers after a warm-up.</summary>
    private static void MeasureAppends(GrantSource grants, int partitions, int entries)
    {
        foreach (bool withRows in new[] { false, true })
        {
            var rows = new CommitBatch();
            var nodes = new List<CompletedNode>();
            var ledgers = Enumerable.Range(0, partitions).Select(PartitionLedger.Empty).ToArray();
            for (int i = 0; i < WarmupAppends; i++)
            {
                AppendOne(grants, ledgers, i, nodes, withRows ? rows : null);
            }
            rows.Clear();
            ledgers = [.. Enumerable.Range(0, partitions).Select(PartitionLedger.Empty)];
            long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            long started = Stopwatch.GetTimestamp();
            for (int i = 0; i < entries; i++)
            {
                AppendOne(grants, ledgers, i, nodes, withRows ? rows : null);
                if (rows.Ledger.Count >= 256)
                {
                    rows.Clear(); // the committer takes the rows; memory stays bounded
                }
            }
            double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"(a) {(withRows ? "PartitionLedger.Append + executor rows (ledger row, Merkle node rows, outbox payload)" : "PartitionLedger.Append alone")}, one thread: " +
                $"{entries / seconds:F0} appends/s, {seconds * 1e6 / entries:F2} µs and {allocated / (double)entries:F0} bytes allocated per append"));
        }
    }

    /// <summary>(b) The executor's rows through the store's commit, <paramref name="commitBatch"/> entries per transaction.</summary>
    private static PartitionLedger[] MeasureDurableAppends(SqliteActionStore store, string data, GrantSource grants, int partitions, int entries, int commitBatch)
    {
        var ledgers = Enumerable.Range(0, partitions).Select(PartitionLedger.Empty).ToArray();
        var nodes = new List<CompletedNode>();
        var batch = new CommitBatch();
        var commitMs = new List<double>(entries / commitBatch + 1);
        long nodeRows = 0, payloadBytes = 0;
        double buildSeconds = 0;
        long started = Stopwatch.GetTimestamp();
        long lastProgress = started;
        for (int first = 0; first < entries; first += commitBatch)
        {
            long building = Stopwatch.GetTimestamp();
            for (int i = first; i < Math.Min(entries, first + commitBatch); i++)
            {
                AppendOne(grants, ledgers, i, nodes, batch);
            }
            nodeRows += batch.Nodes.Count;
            payloadBytes += batch.Outbox.Sum(o => (long)o.Payload.Length);
            long committing = Stopwatch.GetTimestamp();
            buildSeconds += Stopwatch.GetElapsedTime(building, committing).TotalSeconds;
            store.Commit(batch);
            commitMs.Add(Stopwatch.GetElapsedTime(committing).TotalMilliseconds);
            batch.Clear();
            if (Stopwatch.GetElapsedTime(lastProgress).TotalSeconds >= 5)
            {
                lastProgress = Stopwatch.GetTimestamp();
                Console.WriteLine($"(b) … {first + commitBatch} entries");
            }
        }
        double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        double commitSeconds = commitMs.Sum() / 1000;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"(b) durable appends through SqliteActionStore.Commit, {commitBatch} per transaction: {entries / seconds:F0} entries/s end to end " +
            $"({entries / commitSeconds:F0}/s counting the commits alone; building the rows took {100 * buildSeconds / seconds:F0}% of the time)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"(b) commit latency ms: {Percentiles.Format(commitMs)}; per entry {nodeRows / (double)entries:F2} Merkle node rows and {payloadBytes / (double)entries:F0} payload bytes; " +
            $"data directory {Directory.EnumerateFiles(data).Sum(f => new FileInfo(f).Length) / 1048576.0:F0} MiB"));
        return ledgers;
    }

    /// <summary>(c) Signing a checkpoint of every partition head, and storing one (each its own durable transaction).</summary>
    private static void MeasureCheckpoints(SqliteActionStore store, PartitionLedger[] ledgers, int checkpoints)
    {
        using var key = LedgerSigningKey.Create();
        PartitionHead[] heads = [.. ledgers.Select(l => new PartitionHead(l.Size, l.Root()))];
        var signMs = new List<double>(checkpoints);
        var storeMs = new List<double>(checkpoints);
        var signed = new List<SignedCheckpoint>(checkpoints);
        long time = TimeProvider.System.GetUtcNow().UtcTicks;
        key.Sign(0, time, heads); // warm-up: the first signature pays for loading the crypto code
        for (int sequence = 0; sequence < checkpoints; sequence++)
        {
            long started = Stopwatch.GetTimestamp();
            signed.Add(key.Sign(sequence, time + sequence, heads));
            signMs.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        foreach (var checkpoint in signed)
        {
            var row = new StoredCheckpoint(checkpoint.Checkpoint.Sequence, checkpoint.Checkpoint.TimeTicks, checkpoint.Checkpoint.KeyId,
                checkpoint.Checkpoint.CanonicalBytes, checkpoint.Signature);
            long started = Stopwatch.GetTimestamp();
            if (!store.Ledger.AppendCheckpoint(row))
            {
                throw new InvalidOperationException($"Checkpoint {row.Sequence} was already stored.");
            }
            storeMs.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"(c) checkpoint of {heads.Length} partition heads ({signed[0].Checkpoint.CanonicalBytes.Length} bytes): sign ms {Percentiles.Format(signMs)}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"(c) store one checkpoint (durable) ms: {Percentiles.Format(storeMs)}"));
    }

    /// <summary>(d) Inclusion proofs read from the store, as a receipt builds them; each checked against the in-memory root.</summary>
    private static void MeasureProofs(SqliteActionStore store, PartitionLedger[] ledgers, int proofs, Random random)
    {
        var filled = ledgers.Where(l => l.Size > 0).ToArray();
        var proofMs = new List<double>(proofs);
        long proofNodes = 0, reads = 0, failures = 0;
        for (int k = 0; k < proofs; k++)
        {
            var ledger = filled[random.Next(filled.Length)];
            long index = random.NextInt64(ledger.Size);
            long started = Stopwatch.GetTimestamp();
            var log = new MerkleLog(new StoredMerkleView(store.Ledger, ledger.Partition, ledger.Size));
            var proof = log.InclusionProof(index, ledger.Size);
            proofMs.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            proofNodes += proof.Count;
            // Outside the timing: count the node reads, and check the proof (assert in pairs).
            var counting = new CountingView(new StoredMerkleView(store.Ledger, ledger.Partition, ledger.Size));
            new MerkleLog(counting).InclusionProof(index, ledger.Size);
            reads += counting.Reads;
            if (!MerkleProof.VerifyInclusion(index, ledger.Size, store.Ledger.ReadNode(ledger.Partition, 0, index), proof, ledger.Root()))
            {
                failures++;
            }
        }
        long total = ledgers.Sum(l => l.Size);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"(d) inclusion proof from SQLite ({total} entries in {ledgers.Length} partitions, about {total / ledgers.Length} each; open the view + proof) ms: {Percentiles.Format(proofMs)}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"(d) {proofNodes / (double)proofs:F1} hashes per proof, {reads / (double)proofs:F1} node reads per proof (frontier included); {failures} proofs failed to verify (expected 0)"));
    }

    private static void AppendOne(GrantSource grants, PartitionLedger[] ledgers, int i, List<CompletedNode> nodes, CommitBatch? rows)
    {
        var (partition, cause, actionId) = grants.Grant(i);
        var ledger = ledgers[partition];
        nodes.Clear();
        var entry = ledger.Append(cause, grants.Rewards, grants.ReleaseId, grants.TimeTicks + i, null, null, actionId, nodes);
        if (rows is null)
        {
            return;
        }
        // As PartitionExecutor.AppendGrants builds them.
        rows.Ledger.Add(new LedgerRow(partition, entry.Index, Convert.FromHexString(entry.GrantId), entry.Player, entry.EventId, entry.Run,
            GrantEntry.KindName(entry.CauseKind), entry.TimeTicks, entry.CanonicalBytes, entry.PrevHash, entry.Hash));
        foreach (var node in nodes)
        {
            rows.Nodes.Add(new MerkleNodeRow(partition, node.Level, node.Index, node.Hash));
        }
        rows.Outbox.Add(new OutboxRow(entry.GrantId, GrantPayload.Build(entry), entry.TimeTicks));
    }

    /// <summary>Distinct tier grants: grant i is for player i mod P, in event (i / P) mod 20, at tier (i / 20P) mod 20, run i / 400P.</summary>
    private sealed class GrantSource
    {
        private readonly string[] _players;
        private readonly int[] _partitionOfPlayer;
        private readonly string[] _events;
        private readonly string[] _rules;

        public GrantSource(int players, int partitions, string releaseId, long timeTicks)
        {
            var router = new PartitionRouter(partitions);
            _players = [.. Enumerable.Range(0, players).Select(p => "player-" + p.ToString(CultureInfo.InvariantCulture))];
            _partitionOfPlayer = [.. _players.Select(router.PartitionOf)];
            _events = [.. Enumerable.Range(0, LiveRelease.EventCount).Select(e => "zone_hunt_" + e.ToString("D2", CultureInfo.InvariantCulture))];
            _rules = [.. Enumerable.Range(1, LiveRelease.TierCount).Select(t => GrantRules.Tier("t" + (t * LiveRelease.TierStep).ToString("D2", CultureInfo.InvariantCulture)))];
            ReleaseId = releaseId;
            TimeTicks = timeTicks;
        }

        public string ReleaseId { get; }
        public long TimeTicks { get; }
        public IReadOnlyList<RewardLine> Rewards { get; } = [new RewardLine("gems", 10)];

        public (int Partition, GrantCause Cause, string ActionId) Grant(int i)
        {
            int player = i % _players.Length;
            int rest = i / _players.Length;
            var cause = new GrantCause(_events[rest % _events.Length], rest / (_events.Length * _rules.Length), _players[player],
                _rules[rest / _events.Length % _rules.Length], CauseKind.Action, GrantRules.TierCause);
            return (_partitionOfPlayer[player], cause, "bench-" + i.ToString(CultureInfo.InvariantCulture));
        }
    }

    /// <summary>Counts the node reads of a proof.</summary>
    private sealed class CountingView(IMerkleNodeStore inner) : IMerkleNodeStore
    {
        public long Reads { get; private set; }

        public long Count(int level) => inner.Count(level);

        public void Append(int level, long index, ReadOnlySpan<byte> hash) => inner.Append(level, index, hash);

        public byte[] Read(int level, long index)
        {
            Reads++;
            return inner.Read(level, index);
        }
    }
}
