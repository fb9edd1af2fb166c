using System.Buffers.Binary;

namespace Showrunner.Core.Ledger;

/// <summary>A checkpoint as a store keeps it or a server serves it: the fields beside the signed bytes, the canonical bytes, the DER signature.</summary>
public sealed record CheckpointRecord(long Sequence, string KeyId, byte[] Body, byte[] Signature);

/// <summary>One problem <see cref="LedgerVerifier"/> found: a stable code, a detail for people, and where (as far as it can be named).</summary>
public sealed record LedgerProblem(string Code, string Detail, int? Partition = null, long? Index = null, long? Checkpoint = null);

/// <summary>A grant id stored twice: the later entry, and the earlier one that holds the same id.</summary>
public sealed record DuplicateGrant(string GrantId, int Partition, long Index, int FirstPartition, long FirstIndex);

/// <summary>
/// Where <see cref="LedgerVerifier"/> reads a whole ledger from: a data directory, or a server's
/// ledger endpoints. Each enumeration streams; a source that fails to read throws (the verifier
/// does not catch it, so an unreadable ledger is never reported as a verified one).
/// </summary>
public interface ILedgerSource
{
    /// <summary>The ledger's partition count.</summary>
    int PartitionCount { get; }

    /// <summary>Every checkpoint, in the order the source keeps them (by sequence).</summary>
    IEnumerable<CheckpointRecord> Checkpoints();

    /// <summary>One partition's entries, in index order.</summary>
    IEnumerable<StoredEntry> Entries(int partition);

    /// <summary>
    /// The source's own check of the entry it yielded last (called after the chain checks passed,
    /// before the next entry is read): for a store, that the columns repeating the entry's fields
    /// hold the same values. Null when nothing is wrong or the source has nothing to add.
    /// </summary>
    EntryProblem? CheckEntry(GrantEntry entry);

    /// <summary>
    /// Grant ids stored more than once (at most <paramref name="limit"/> ids), found without holding
    /// every id in memory (a store's SQL); null when the source cannot, and the verifier then
    /// remembers every grant id it reads (O(entries) memory).
    /// </summary>
    IReadOnlyList<DuplicateGrant>? FindDuplicates(int limit);
}

/// <summary>What <see cref="LedgerVerifier.Verify"/> found: every problem (none when the ledger verifies) and what it covered.</summary>
public sealed class LedgerVerificationReport(string keyId, int partitions)
{
    public string KeyId { get; } = keyId;
    public int Partitions { get; } = partitions;
    public List<LedgerProblem> Problems { get; } = [];

    /// <summary>Entries that passed every check (those of a partition up to its first bad entry).</summary>
    public long Entries { get; set; }

    /// <summary>Checkpoints whose signature and shape were accepted (those before the first bad one).</summary>
    public long Checkpoints { get; set; }

    /// <summary>The last accepted checkpoint, or null.</summary>
    public Checkpoint? Latest { get; set; }

    public bool IsValid => Problems.Count == 0;
}

/// <summary>
/// Verifies a whole ledger (docs/ledger.md, "Verifying a whole partition"): the checkpoints, then
/// every partition's chain against every checkpoint's head of it, then grant-id uniqueness.
/// </summary>
/// <remarks>
/// <para>
/// <b>Checkpoints</b>, in order: each must be a canonical checkpoint whose sequence and key id equal
/// the fields stored beside it, name the verification key (a checkpoint of another key is an error,
/// not a skip), carry a valid signature over its bytes, cover the ledger's partition count, and come
/// after the previous one: a greater sequence, a time not earlier, and no partition smaller. The
/// first checkpoint that fails stops this step; the ones before it are kept and the later ones are
/// not trusted (nor used).
/// </para>
/// <para>
/// <b>Chains</b>: each partition is walked once (<see cref="ChainVerifier"/>), checking every entry
/// and, at each accepted checkpoint's size for the partition, the Merkle root. Each partition
/// reports its first bad entry; the others are still checked, so one report names every damaged
/// partition. Memory: O(log n) per walk, plus each partition's distinct checkpoint heads (40 bytes each).
/// </para>
/// <para>
/// <b>Grant ids</b>: no id may appear twice. Through the source's own query when it has one;
/// otherwise the walk remembers every id (32 bytes each, plus the table's overhead).
/// </para>
/// </remarks>
public static class LedgerVerifier
{
    public const string CheckpointMalformed = "checkpoint.malformed";
    public const string CheckpointKeyMismatch = "checkpoint.key_mismatch";
    public const string CheckpointSignatureInvalid = "checkpoint.signature_invalid";
    public const string CheckpointPartitionCountMismatch = "checkpoint.partition_count_mismatch";
    public const string CheckpointNotLater = "checkpoint.not_later";
    public const string CheckpointShrunk = "checkpoint.shrunk";
    public const string DuplicateGrantId = "ledger.duplicate_grant_id";

    /// <summary>At most this many duplicate grant ids are reported (all are counted by the source's query up to it).</summary>
    public const int DuplicatesReportedMax = 100;

    public static LedgerVerificationReport Verify(ILedgerSource source, LedgerPublicKey key)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(key);
        var report = new LedgerVerificationReport(key.KeyId, source.PartitionCount);
        var heads = VerifyCheckpoints(source, key, report);
        var duplicates = source.FindDuplicates(DuplicatesReportedMax);
        var seen = duplicates is null ? new Dictionary<GrantIdKey, (int Partition, long Index)>() : null;
        int inMemoryDuplicates = 0;
        for (int partition = 0; partition < source.PartitionCount; partition++)
        {
            var expected = heads[partition];
            var result = ChainVerifier.Verify(partition, source.Entries(partition), expected.Select(h => h.Head).ToList(), entry =>
            {
                if (source.CheckEntry(entry) is { } problem)
                {
                    return problem;
                }
                if (seen is not null && !seen.TryAdd(GrantIdKey.Parse(entry.GrantId), (entry.Partition, entry.Index)))
                {
                    var first = seen[GrantIdKey.Parse(entry.GrantId)];
                    if (++inMemoryDuplicates <= DuplicatesReportedMax)
                    {
                        report.Problems.Add(new LedgerProblem(DuplicateGrantId,
                            $"grant {entry.GrantId} is also entry {first.Index} of partition {first.Partition}", entry.Partition, entry.Index));
                    }
                }
                return null;
            });
            report.Entries += result.Size;
            if (!result.IsValid)
            {
                long? sequence = result.FailedHead is { } failed ? expected.First(h => ReferenceEquals(h.Head, failed)).Sequence : null;
                string detail = sequence is { } s ? $"{result.Detail} (checkpoint {s})" : result.Detail;
                report.Problems.Add(new LedgerProblem(result.Code, detail, partition, result.FirstBadIndex, sequence));
            }
        }
        foreach (var duplicate in duplicates ?? [])
        {
            report.Problems.Add(new LedgerProblem(DuplicateGrantId,
                $"grant {duplicate.GrantId} is also entry {duplicate.FirstIndex} of partition {duplicate.FirstPartition}", duplicate.Partition, duplicate.Index));
        }
        return report;
    }

    /// <summary>Checks the checkpoints in order; returns, per partition, the distinct heads of the accepted ones (sorted by size) with the first sequence that committed to each.</summary>
    private static List<(PartitionHead Head, long Sequence)>[] VerifyCheckpoints(ILedgerSource source, LedgerPublicKey key, LedgerVerificationReport report)
    {
        var heads = new List<(PartitionHead Head, long Sequence)>[source.PartitionCount];
        for (int p = 0; p < heads.Length; p++)
        {
            heads[p] = [];
        }
        Checkpoint? previous = null;
        foreach (var record in source.Checkpoints())
        {
            var problem = Check(record, previous, key, source.PartitionCount, out var checkpoint);
            if (problem is not null)
            {
                report.Problems.Add(problem);
                break;
            }
            for (int p = 0; p < heads.Length; p++)
            {
                var head = checkpoint!.Partitions[p];
                var last = heads[p].Count == 0 ? null : heads[p][^1].Head;
                // Sizes never shrink (checked above), so equal heads are consecutive; keep one of them.
                if (last is null || last.Size != head.Size || !last.Root.AsSpan().SequenceEqual(head.Root))
                {
                    heads[p].Add((head, checkpoint.Sequence));
                }
            }
            previous = checkpoint;
            report.Checkpoints++;
            report.Latest = checkpoint;
        }
        return heads;
    }

    private static LedgerProblem? Check(CheckpointRecord record, Checkpoint? previous, LedgerPublicKey key, int partitionCount, out Checkpoint? checkpoint)
    {
        long sequence = record.Sequence;
        var (decoded, error) = Checkpoint.Decode(record.Body);
        checkpoint = decoded;
        if (decoded is null)
        {
            return new(CheckpointMalformed, $"checkpoint {sequence}: {error}", Checkpoint: sequence);
        }
        if (decoded.Sequence != record.Sequence || decoded.KeyId != record.KeyId)
        {
            return new(CheckpointMalformed,
                $"checkpoint {sequence}: the signed bytes say sequence {decoded.Sequence}, key {decoded.KeyId}; stored beside them: sequence {record.Sequence}, key {record.KeyId}",
                Checkpoint: sequence);
        }
        if (decoded.KeyId != key.KeyId)
        {
            return new(CheckpointKeyMismatch, $"checkpoint {sequence} is signed by key {decoded.KeyId}, not by the ledger's key {key.KeyId}", Checkpoint: sequence);
        }
        if (!new SignedCheckpoint(decoded, record.Signature).Verify(key))
        {
            return new(CheckpointSignatureInvalid, $"checkpoint {sequence}: the signature does not verify with key {key.KeyId}", Checkpoint: sequence);
        }
        if (decoded.Partitions.Count != partitionCount)
        {
            return new(CheckpointPartitionCountMismatch, $"checkpoint {sequence} covers {decoded.Partitions.Count} partitions; the ledger has {partitionCount}",
                Checkpoint: sequence);
        }
        if (previous is not null)
        {
            if (decoded.Sequence <= previous.Sequence || decoded.TimeTicks < previous.TimeTicks)
            {
                return new(CheckpointNotLater, $"checkpoint {sequence} (time {decoded.TimeTicks}) does not come after checkpoint {previous.Sequence} (time {previous.TimeTicks})",
                    Checkpoint: sequence);
            }
            for (int p = 0; p < partitionCount; p++)
            {
                long before = previous.Partitions[p].Size, after = decoded.Partitions[p].Size;
                if (after < before)
                {
                    return new(CheckpointShrunk, $"checkpoint {sequence}: partition {p} shrank from {before} entries (checkpoint {previous.Sequence}) to {after}",
                        p, Checkpoint: sequence);
                }
            }
        }
        return null;
    }

    /// <summary>A grant id's 32 bytes as two 128-bit halves: a compact key for the in-memory duplicate check.</summary>
    private readonly record struct GrantIdKey(UInt128 High, UInt128 Low)
    {
        public static GrantIdKey Parse(string hex)
        {
            Span<byte> bytes = stackalloc byte[32];
            Convert.FromHexString(hex, bytes, out _, out _);
            return new(BinaryPrimitives.ReadUInt128BigEndian(bytes[..16]), BinaryPrimitives.ReadUInt128BigEndian(bytes[16..]));
        }
    }
}
