using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Showrunner.Core.Ledger;
using Showrunner.Runtime.Observability;
using Showrunner.Storage;

namespace Showrunner.Runtime.Ledger;

/// <summary>
/// Why a partition's ledger is not trusted: the failing check's stable code (<c>chain.*</c>,
/// <c>ledger.columns_mismatch</c>, <c>checkpoint.*</c>, <c>merkle.node_missing</c>), a detail for
/// people, the first entry known bad (null when no single entry can be named, e.g. a root that
/// differs although every entry links), and who found it (<c>startup</c> or <c>read</c>).
/// </summary>
public sealed record PartitionDamage(int Partition, string Check, string Detail, long? FirstBadIndex, string FoundBy, DateTimeOffset FoundAt);

/// <summary>What the start-up tail check covered and found.</summary>
/// <param name="Checkpoint">The checkpoint the tails were checked against, or null when none was signed yet.</param>
/// <param name="Signed">Whether that checkpoint's signature was verified with this server's key (false when it names another key).</param>
public sealed record TailCheckReport(int Partitions, long Entries, long? Checkpoint, bool Signed, TimeSpan Elapsed, IReadOnlyList<PartitionDamage> Damaged);

/// <summary>A stored entry after its read check: the verified entry, or why the partition is not trusted.</summary>
internal readonly record struct CheckedRow(LedgerRow Row, GrantEntry? Entry, PartitionDamage? Damage);

/// <summary>
/// Which partitions' ledgers the server trusts, and the checks that decide it (docs/ledger.md,
/// "Start-up tail check"). Two checks mark a partition damaged:
/// <list type="bullet">
/// <item><b>At start</b> (<see cref="VerifyTails"/>, before the pipeline loads state): each
/// partition's recent tail — the entries after the latest signed checkpoint plus the last
/// <see cref="TailEntriesBeforeCheckpoint"/> before it — is walked like <c>ledger verify</c> walks a
/// whole partition: hash links, entry hashes recomputed from the canonical bytes, each entry at its
/// own partition and index, the indexed columns equal to the entry's own fields, and the Merkle root
/// at the checkpoint's size (the stored nodes before the tail, then the tail's leaves) equal to the
/// signed root, whose signature is checked with the server's key.</item>
/// <item><b>On every read</b> of a stored entry that the API answers from (<see cref="Check"/>): the
/// entry decodes, hashes to its stored hash, sits where it is stored and its columns agree with it.
/// A read never answers from a row that fails, and the partition is marked damaged from then on.</item>
/// </list>
/// A damaged partition stays damaged until the next start finds it sound (an operator repairs or
/// restores the data directory and restarts): reads of it answer <c>ledger_damaged</c>, checkpoints
/// keep its last signed head (see <see cref="CheckpointSigner"/>), and the rest of the server runs on.
/// </summary>
/// <remarks>
/// What the start-up check does not see: a change to an entry older than the tail (only
/// <c>showrunner ledger verify</c>, linear in the ledger, reads every entry); such an entry is still
/// refused when a read touches it. Cost: O(tail) hashes per partition and O(log n) node reads,
/// partitions in parallel. Thread-safe: the damage table is read on request threads and written by
/// the start-up check and by reads.
/// </remarks>
public sealed partial class LedgerIntegrity
{
    /// <summary>
    /// How many entries before the latest checkpoint's size the start-up check re-reads per partition
    /// (besides every entry after it): the grants of the last minutes of a busy partition; at 256
    /// partitions at most about 262,000 entries, one SHA-256 and one decode each (the start-up log
    /// line, event 5201, gives the time it took; not yet benchmarked at that size).
    /// </summary>
    public const int TailEntriesBeforeCheckpoint = 1024;

    /// <summary>The tail starts on a multiple of this, so the nodes before it are whole stored subtrees (the SQLite store keeps levels 4 and up).</summary>
    public const int TailAlignment = 16;

    /// <summary>Entries read per store query during the walk.</summary>
    public const int PageSize = 1000;

    public const string ColumnsMismatch = "ledger.columns_mismatch";
    public const string NodeMissing = "merkle.node_missing";
    public const string FoundAtStartup = "startup";
    public const string FoundOnRead = "read";

    private readonly ILedgerStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly PartitionDamage?[] _damage;
    private readonly Lock _lock = new();
    private TailCheckReport? _startup;

    public LedgerIntegrity(IActionStore store, int partitionCount, TimeProvider time, ILogger<LedgerIntegrity> logger, ShowrunnerMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(partitionCount);
        _store = store.Ledger;
        _time = time;
        _logger = logger;
        _damage = new PartitionDamage?[partitionCount];
        metrics?.ObserveLedgerDamage(() => Damaged.Count);
    }

    /// <summary>The start-up check's report, or null before it ran.</summary>
    public TailCheckReport? Startup => Volatile.Read(ref _startup);

    /// <summary>Every damaged partition, by partition.</summary>
    public IReadOnlyList<PartitionDamage> Damaged
    {
        get
        {
            lock (_lock)
            {
                return [.. _damage.OfType<PartitionDamage>()];
            }
        }
    }

    /// <summary>Why <paramref name="partition"/> is not trusted, or null when it is.</summary>
    public PartitionDamage? DamageOf(int partition)
    {
        if ((uint)partition >= (uint)_damage.Length)
        {
            return null;
        }
        lock (_lock)
        {
            return _damage[partition];
        }
    }

    /// <summary>
    /// Checks a stored row before anything is answered from it. A row of a partition already
    /// damaged is refused without looking at it: the partition's chain is not trusted.
    /// </summary>
    internal CheckedRow Check(LedgerRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        if (DamageOf(row.Partition) is { } known)
        {
            return new CheckedRow(row, null, known);
        }
        var (entry, error) = GrantEntry.Decode(row.Entry, row.PrevHash);
        (string Code, string Detail)? problem =
            entry is null ? (ChainVerification.EntryMalformed, error ?? "the entry does not decode")
            : !entry.Hash.AsSpan().SequenceEqual(row.Hash) ? (ChainVerification.HashMismatch, "the entry hashes to another value than its stored hash")
            : entry.Partition != row.Partition || entry.Index != row.Index
                ? (ChainVerification.EntryMisplaced, $"the entry says partition {entry.Partition}, index {entry.Index}")
            : ColumnsProblem(row, entry) is { } columns ? (ColumnsMismatch, columns)
            : null;
        if (problem is not { } found)
        {
            return new CheckedRow(row, entry, null);
        }
        var damage = MarkDamaged(new PartitionDamage(row.Partition, found.Code, $"entry {row.Index}: {found.Detail}", row.Index, FoundOnRead, _time.GetUtcNow()));
        return new CheckedRow(row, null, damage);
    }

    /// <summary>The first indexed column that differs from the entry's own field, described, or null.</summary>
    internal static string? ColumnsProblem(LedgerRow row, GrantEntry entry)
    {
        string? field =
            Convert.ToHexStringLower(row.GrantId) != entry.GrantId ? "grant_id"
            : row.Player != entry.Player ? "player"
            : row.EventId != entry.EventId ? "event_id"
            : row.Run != entry.Run ? "run"
            : row.CauseKind != GrantEntry.KindName(entry.CauseKind) ? "cause_kind"
            : row.TimeTicks != entry.TimeTicks ? "time"
            : null;
        return field is null ? null : $"the row's {field} column differs from the entry's own field";
    }

    /// <summary>
    /// Records a damaged partition (keeping the lowest first bad index known) and reports it: an
    /// error in the log for each new finding, and the damaged-partitions gauge.
    /// </summary>
    internal PartitionDamage MarkDamaged(PartitionDamage damage)
    {
        PartitionDamage kept;
        bool changed;
        lock (_lock)
        {
            var existing = _damage[damage.Partition];
            changed = existing is null || (damage.FirstBadIndex is { } index && (existing.FirstBadIndex is not { } known || index < known));
            kept = changed ? damage : existing!;
            _damage[damage.Partition] = kept;
        }
        if (changed)
        {
            LogDamaged(_logger, damage.Partition, damage.Check, damage.FirstBadIndex?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none named",
                damage.FoundBy, damage.Detail);
        }
        return kept;
    }

    /// <summary>
    /// The start-up check: every partition's tail against the latest stored checkpoint. Runs before
    /// the pipeline starts (nothing writes the ledger meanwhile). Store read failures propagate: a
    /// store that cannot be read stops the start, like the state load that follows would.
    /// </summary>
    internal TailCheckReport VerifyTails(LedgerSigningKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        long started = Stopwatch.GetTimestamp();
        var now = _time.GetUtcNow();
        using var publicKey = LedgerPublicKey.FromPem(key.ExportPublicKeyPem()).Key
            ?? throw new InvalidOperationException("The ledger's own public key does not read back.");
        int partitions = _damage.Length;
        Checkpoint? checkpoint = null;
        bool signed = false;
        if (_store.LatestCheckpoint() is { } stored)
        {
            var (anchor, problem) = CheckAnchor(stored, publicKey, partitions);
            if (problem is { } bad)
            {
                // The signed statement the tails are checked against is itself damaged: no partition can be vouched for.
                for (int p = 0; p < partitions; p++)
                {
                    MarkDamaged(new PartitionDamage(p, bad.Code, bad.Detail, null, FoundAtStartup, now));
                }
                var failed = new TailCheckReport(partitions, 0, stored.Sequence, false, Stopwatch.GetElapsedTime(started), Damaged);
                Volatile.Write(ref _startup, failed);
                LogTailsChecked(_logger, failed.Entries, partitions, stored.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    (long)failed.Elapsed.TotalMilliseconds, failed.Damaged.Count);
                return failed;
            }
            checkpoint = anchor;
            signed = anchor!.KeyId == publicKey.KeyId;
            if (!signed)
            {
                LogOtherKey(_logger, anchor.Sequence, anchor.KeyId, publicKey.KeyId);
            }
        }
        long[] counts = new long[partitions];
        Parallel.For(0, partitions, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, Environment.ProcessorCount) }, p =>
        {
            var head = checkpoint?.Partitions[p];
            var (damage, entries) = VerifyTail(p, head, now);
            counts[p] = entries;
            if (damage is not null)
            {
                MarkDamaged(damage);
            }
        });
        var report = new TailCheckReport(partitions, counts.Sum(), checkpoint?.Sequence, signed, Stopwatch.GetElapsedTime(started), Damaged);
        Volatile.Write(ref _startup, report);
        LogTailsChecked(_logger, report.Entries, partitions, checkpoint?.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none",
            (long)report.Elapsed.TotalMilliseconds, report.Damaged.Count);
        return report;
    }

    /// <summary>The latest checkpoint decoded and checked (shape, fields, partition count, signature when it names this key), or the problem.</summary>
    private static (Checkpoint? Checkpoint, (string Code, string Detail)? Problem) CheckAnchor(StoredCheckpoint stored, LedgerPublicKey key, int partitions)
    {
        var (checkpoint, error) = Checkpoint.Decode(stored.Body);
        if (checkpoint is null)
        {
            return (null, (LedgerVerifier.CheckpointMalformed, $"checkpoint {stored.Sequence}: {error}"));
        }
        if (checkpoint.Sequence != stored.Sequence || checkpoint.KeyId != stored.KeyId)
        {
            return (null, (LedgerVerifier.CheckpointMalformed,
                $"checkpoint {stored.Sequence}: the signed bytes say sequence {checkpoint.Sequence}, key {checkpoint.KeyId}; stored beside them: sequence {stored.Sequence}, key {stored.KeyId}"));
        }
        if (checkpoint.Partitions.Count != partitions)
        {
            return (null, (LedgerVerifier.CheckpointPartitionCountMismatch, $"checkpoint {stored.Sequence} covers {checkpoint.Partitions.Count} partitions; the ledger has {partitions}"));
        }
        // A checkpoint of another key (the key file was replaced) cannot be checked here; its roots still are.
        if (checkpoint.KeyId == key.KeyId && !new SignedCheckpoint(checkpoint, stored.Signature).Verify(key))
        {
            return (null, (LedgerVerifier.CheckpointSignatureInvalid, $"checkpoint {stored.Sequence}: the signature does not verify with key {key.KeyId}"));
        }
        return (checkpoint, null);
    }

    /// <summary>One partition's tail: from <see cref="TailStart"/> to the last stored entry, against <paramref name="head"/> when a checkpoint gives one.</summary>
    private (PartitionDamage? Damage, long Entries) VerifyTail(int partition, PartitionHead? head, DateTimeOffset now)
    {
        long start = TailStart(head?.Size ?? 0);
        CompactRange prefix;
        byte[] previous;
        try
        {
            prefix = ReadPrefix(partition, start);
            previous = start == 0 ? LedgerFormat.GenesisPrevHash() : PreviousHash(partition, start);
        }
        catch (KeyNotFoundException exception)
        {
            return (new PartitionDamage(partition, NodeMissing, $"the entries or Merkle nodes before the tail (entry {start}) are not all stored: {exception.Message}",
                null, FoundAtStartup, now), 0);
        }
        long read = 0;
        LedgerRow? current = null;
        IEnumerable<StoredEntry> Entries()
        {
            long from = start;
            while (true)
            {
                var page = _store.ReadEntries(partition, from, PageSize);
                foreach (var row in page)
                {
                    current = row;
                    read++;
                    yield return new StoredEntry(row.Index, row.Entry, row.PrevHash, row.Hash);
                }
                if (page.Count < PageSize)
                {
                    yield break;
                }
                from = page[^1].Index + 1;
            }
        }
        var result = ChainVerifier.VerifyFrom(partition, prefix, previous, Entries(), head is null ? [] : [head],
            entry => ColumnsProblem(current!, entry) is { } columns ? new EntryProblem(ColumnsMismatch, columns) : null);
        if (result.IsValid)
        {
            return (null, read);
        }
        string where = result.FirstBadIndex is { } index ? $"entry {index}: " : "";
        return (new PartitionDamage(partition, result.Code, where + result.Detail, result.FirstBadIndex, FoundAtStartup, now), read);
    }

    /// <summary>The first entry the start-up check reads: <see cref="TailEntriesBeforeCheckpoint"/> before the checkpoint's size, aligned down.</summary>
    public static long TailStart(long checkpointSize)
    {
        long start = Math.Max(0, checkpointSize - TailEntriesBeforeCheckpoint);
        return start - (start % TailAlignment);
    }

    /// <summary>The compact range of the first <paramref name="size"/> entries, from the stored subtrees (one per set bit of the size).</summary>
    private CompactRange ReadPrefix(int partition, long size)
    {
        var subtrees = new List<byte[]>();
        long start = 0;
        for (int level = 62; level >= 0; level--)
        {
            if ((size & (1L << level)) != 0)
            {
                subtrees.Add(_store.ReadNode(partition, level, start >> level));
                start += 1L << level;
            }
        }
        return new CompactRange(size, subtrees);
    }

    /// <summary>The stored hash of entry <paramref name="start"/> − 1, which the tail's first entry links to.</summary>
    private byte[] PreviousHash(int partition, long start)
    {
        var rows = _store.ReadEntries(partition, start - 1, 1);
        return rows.Count == 1 && rows[0].Index == start - 1
            ? rows[0].Hash
            : throw new KeyNotFoundException($"entry {start - 1} is not stored");
    }

    [LoggerMessage(EventId = 5200, Level = LogLevel.Error,
        Message = "Ledger partition {Partition} is damaged ({Check}, first bad entry {FirstBadIndex}, found by {FoundBy}): {Detail}. " +
                  "Its receipts and reward reads answer ledger_damaged until a start finds it sound; run 'showrunner ledger verify' (docs/operations.md)")]
    private static partial void LogDamaged(ILogger logger, int partition, string check, string firstBadIndex, string foundBy, string detail);

    [LoggerMessage(EventId = 5201, Level = LogLevel.Information,
        Message = "Ledger tails checked: {Entries} entries of {Partitions} partitions against checkpoint {Checkpoint} in {ElapsedMs} ms; {Damaged} damaged")]
    private static partial void LogTailsChecked(ILogger logger, long entries, int partitions, string checkpoint, long elapsedMs, int damaged);

    [LoggerMessage(EventId = 5202, Level = LogLevel.Warning,
        Message = "The latest checkpoint {Sequence} is signed by key {CheckpointKeyId}, not by this server's key {KeyId} (was the key file replaced?): " +
                  "the ledger tails are checked against its roots, its signature is not checked")]
    private static partial void LogOtherKey(ILogger logger, long sequence, string checkpointKeyId, string keyId);
}
