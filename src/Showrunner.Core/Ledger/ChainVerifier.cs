namespace Showrunner.Core.Ledger;

/// <summary>One stored ledger row as the store hands it back: its index, canonical bytes and the two hashes it claims.</summary>
public sealed record StoredEntry(long Index, byte[] Entry, byte[] PrevHash, byte[] Hash);

/// <summary>The outcome of checking a partition's chain; on failure the first bad entry (if one can be named) and why.</summary>
public sealed record ChainVerification(string Code, string Detail, long? FirstBadIndex, long Size, byte[] Root)
{
    public const string Ok = "ok";
    public const string IndexGap = "chain.index_gap";
    public const string EntryMalformed = "chain.entry_malformed";
    public const string EntryMisplaced = "chain.entry_misplaced";
    public const string PrevHashMismatch = "chain.prev_hash_mismatch";
    public const string HashMismatch = "chain.hash_mismatch";
    public const string Truncated = "chain.truncated";
    public const string RootMismatch = "chain.root_mismatch";

    public bool IsValid => Code == Ok;

    /// <summary>For <see cref="RootMismatch"/> and <see cref="Truncated"/>: the expected head that failed (the very instance passed in).</summary>
    public PartitionHead? FailedHead { get; init; }
}

/// <summary>A problem a caller finds in an entry that the chain itself accepts (see <see cref="ChainVerifier.Verify(int, IEnumerable{StoredEntry}, IReadOnlyList{PartitionHead}, Func{GrantEntry, EntryProblem?})"/>).</summary>
public readonly record struct EntryProblem(string Code, string Detail);

/// <summary>
/// Checks one partition's ledger as stored: every entry decodes and is canonical, sits at its own
/// partition and index, links to its predecessor (the first to 32 zero bytes) and hashes to its
/// stored hash; then the Merkle root of the entries up to each expected head's size (a checkpoint's
/// size for this partition) equals that head's root. Streams: memory is O(log n) whatever the number
/// of entries, plus the expected heads. Reports the first failure only (later ones usually follow
/// from it). This is what <c>ledger verify</c> runs for each partition.
/// </summary>
public static class ChainVerifier
{
    /// <param name="partition">The partition the entries belong to.</param>
    /// <param name="entries">The partition's entries in index order, from index 0.</param>
    /// <param name="expected">The head a (signature-checked) checkpoint commits to for this partition, if any.</param>
    public static ChainVerification Verify(int partition, IEnumerable<StoredEntry> entries, PartitionHead? expected = null) =>
        Verify(partition, entries, expected is null ? [] : [expected]);

    /// <summary>
    /// Checks the chain and, in the same pass, the root at every expected head: when the walk has
    /// seen <c>head.Size</c> entries, the root of those entries must be <c>head.Root</c>.
    /// </summary>
    /// <param name="expected">
    /// Heads of signature-checked checkpoints for this partition, sorted by size (equal sizes may
    /// repeat; they must then have the same root, or one of them fails).
    /// </param>
    /// <param name="inspect">
    /// Called with each entry that passed the chain checks, before the next is read; a problem it
    /// returns stops the walk at that entry with its code (the caller's own checks: columns that
    /// repeat the entry's fields, grant ids seen before).
    /// </param>
    public static ChainVerification Verify(int partition, IEnumerable<StoredEntry> entries, IReadOnlyList<PartitionHead> expected,
        Func<GrantEntry, EntryProblem?>? inspect = null) =>
        VerifyFrom(partition, new CompactRange(), LedgerFormat.GenesisPrevHash(), entries, expected, inspect);

    /// <summary>
    /// Checks a partition's chain from entry <c>prefix.Size</c> on (a tail): the same checks as
    /// <see cref="Verify(int, IEnumerable{StoredEntry}, IReadOnlyList{PartitionHead}, Func{GrantEntry, EntryProblem?})"/>,
    /// starting from what the caller trusts about the entries before the tail.
    /// </summary>
    /// <param name="prefix">The Merkle compact range of the entries before the tail (empty for a walk from entry 0).</param>
    /// <param name="previousHash">The hash the tail's first entry must link to (32 zero bytes for entry 0).</param>
    /// <param name="entries">The tail's entries in index order, from index <c>prefix.Size</c>.</param>
    /// <param name="expected">Heads of signature-checked checkpoints, sorted by size; those smaller than the prefix must not be passed (the tail cannot check them).</param>
    public static ChainVerification VerifyFrom(int partition, CompactRange prefix, byte[] previousHash, IEnumerable<StoredEntry> entries,
        IReadOnlyList<PartitionHead> expected, Func<GrantEntry, EntryProblem?>? inspect = null)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentNullException.ThrowIfNull(previousHash);
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentNullException.ThrowIfNull(expected);
        for (int i = 1; i < expected.Count; i++)
        {
            if (expected[i].Size < expected[i - 1].Size)
            {
                throw new ArgumentException("The expected heads must be sorted by size.", nameof(expected));
            }
        }
        if (expected.Count > 0 && expected[0].Size < prefix.Size)
        {
            throw new ArgumentException($"A head of {expected[0].Size} entries lies before the tail, which starts at entry {prefix.Size}.", nameof(expected));
        }
        var range = prefix;
        byte[] previous = previousHash;
        long index = prefix.Size;
        int next = 0;
        // Heads at the size the walk starts from (the empty log, or a tail's prefix): checked before any entry is read.
        while (next < expected.Count && expected[next].Size == index)
        {
            if (!range.Root().AsSpan().SequenceEqual(expected[next].Root))
            {
                string what = index == 0 ? "the checkpoint's root of the empty log is not the empty root"
                    : $"the root of the first {index} entries (from stored Merkle nodes) differs from the checkpoint's";
                return new(ChainVerification.RootMismatch, what, null, index, range.Root())
                {
                    FailedHead = expected[next],
                };
            }
            next++;
        }
        // A tail's prefix is trusted, not matched against a head: a later mismatch names the range from the tail's start.
        long tailStart = index;
        long matchedSize = index;
        foreach (var stored in entries)
        {
            ChainVerification Bad(string code, string detail) => new(code, detail, index, index, range.Root());
            if (stored.Index != index)
            {
                return Bad(ChainVerification.IndexGap, $"expected entry {index}, found entry {stored.Index} (missing, duplicated or reordered)");
            }
            if (!stored.PrevHash.AsSpan().SequenceEqual(previous))
            {
                return Bad(ChainVerification.PrevHashMismatch, index == 0
                    ? "the first entry's prev_hash is not 32 zero bytes"
                    : $"prev_hash does not equal the hash of entry {index - 1}");
            }
            var (entry, error) = GrantEntry.Decode(stored.Entry, stored.PrevHash);
            if (entry is null)
            {
                return Bad(ChainVerification.EntryMalformed, error!);
            }
            if (entry.Partition != partition || entry.Index != index)
            {
                return Bad(ChainVerification.EntryMisplaced, $"the entry says partition {entry.Partition}, index {entry.Index}");
            }
            if (!entry.Hash.AsSpan().SequenceEqual(stored.Hash))
            {
                return Bad(ChainVerification.HashMismatch, $"the entry hashes to {Convert.ToHexStringLower(entry.Hash)}, the stored hash differs");
            }
            if (inspect?.Invoke(entry) is { } problem)
            {
                return Bad(problem.Code, problem.Detail);
            }
            range.Append(entry.LeafHash);
            previous = stored.Hash;
            index++;
            if (next < expected.Count && expected[next].Size == index)
            {
                byte[] root = range.Root();
                while (next < expected.Count && expected[next].Size == index)
                {
                    if (!root.AsSpan().SequenceEqual(expected[next].Root))
                    {
                        // Every entry links and hashes correctly, so the log was rewritten consistently
                        // somewhere after the last head that matched: no single entry can be named.
                        string since = matchedSize == 0 ? ""
                            : matchedSize == tailStart ? $"; the walk started at entry {tailStart}, so an entry from {tailStart} to {index - 1} or a stored Merkle node below {tailStart} was changed"
                            : $"; the first {matchedSize} matched an earlier checkpoint, so an entry from {matchedSize} to {index - 1} was changed";
                        return new(ChainVerification.RootMismatch, $"the root of the first {index} entries differs from the checkpoint's{since}", null, index, root)
                        {
                            FailedHead = expected[next],
                        };
                    }
                    next++;
                }
                matchedSize = index;
            }
        }
        if (next < expected.Count)
        {
            return new(ChainVerification.Truncated, $"a checkpoint commits to {expected[next].Size} entries, the ledger holds {index}", index, index, range.Root())
            {
                FailedHead = expected[next],
            };
        }
        return new(ChainVerification.Ok, "", null, index, range.Root());
    }
}

/// <summary>The outcome of checking that a later checkpoint extends an earlier one.</summary>
public sealed record ConsistencyVerification(string Code, string Detail, int? Partition)
{
    public const string Ok = "ok";
    public const string SignatureInvalid = "consistency.signature_invalid";
    public const string NotLater = "consistency.not_later";
    public const string PartitionCountChanged = "consistency.partition_count_changed";
    public const string Shrunk = "consistency.shrunk";
    public const string ProofInvalid = "consistency.proof_invalid";

    public bool IsValid => Code == Ok;
}

/// <summary>Consistency between two checkpoints: every partition's log only grew (RFC 9162 consistency proofs, one per partition).</summary>
public static class CheckpointConsistency
{
    /// <summary>The consistency proof of each partition from <paramref name="older"/>'s size to <paramref name="newer"/>'s.</summary>
    public static IReadOnlyList<IReadOnlyList<byte[]>> Proofs(Checkpoint older, Checkpoint newer, Func<int, MerkleLog> logOf)
    {
        var proofs = new List<IReadOnlyList<byte[]>>(newer.Partitions.Count);
        for (int p = 0; p < newer.Partitions.Count; p++)
        {
            proofs.Add(logOf(p).ConsistencyProof(older.Partitions[p].Size, newer.Partitions[p].Size));
        }
        return proofs;
    }

    public static ConsistencyVerification Verify(SignedCheckpoint older, SignedCheckpoint newer, IReadOnlyList<IReadOnlyList<byte[]>> proofs, LedgerPublicKey key)
    {
        if (!older.Verify(key) || !newer.Verify(key))
        {
            return new(ConsistencyVerification.SignatureInvalid, "a checkpoint's signature does not verify with the given key", null);
        }
        var a = older.Checkpoint;
        var b = newer.Checkpoint;
        if (b.Sequence < a.Sequence || b.TimeTicks < a.TimeTicks)
        {
            return new(ConsistencyVerification.NotLater, $"checkpoint {b.Sequence} is not later than checkpoint {a.Sequence}", null);
        }
        if (a.Partitions.Count != b.Partitions.Count || proofs.Count != b.Partitions.Count)
        {
            return new(ConsistencyVerification.PartitionCountChanged, $"{a.Partitions.Count} partitions before, {b.Partitions.Count} after, {proofs.Count} proofs", null);
        }
        for (int p = 0; p < a.Partitions.Count; p++)
        {
            var (before, after) = (a.Partitions[p], b.Partitions[p]);
            if (after.Size < before.Size)
            {
                return new(ConsistencyVerification.Shrunk, $"partition {p} shrank from {before.Size} to {after.Size} entries", p);
            }
            if (!MerkleProof.VerifyConsistency(before.Size, after.Size, before.Root, after.Root, proofs[p]))
            {
                return new(ConsistencyVerification.ProofInvalid, $"partition {p}: the log at {after.Size} entries does not extend the log at {before.Size}", p);
            }
        }
        return new(ConsistencyVerification.Ok, "", null);
    }
}
