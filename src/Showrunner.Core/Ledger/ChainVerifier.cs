namespace Showrunner.Core.Ledger;

/// <summary>One stored ledger row as the store hands it back: its index, canonical bytes and the two hashes it claims.</summary>
internal sealed record StoredEntry(long Index, byte[] Entry, byte[] PrevHash, byte[] Hash);

/// <summary>The outcome of checking a partition's chain; on failure the first bad entry (if one can be named) and why.</summary>
internal sealed record ChainVerification(string Code, string Detail, long? FirstBadIndex, long Size, byte[] Root)
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
}

/// <summary>
/// Checks one partition's ledger as stored: every entry decodes and is canonical, sits at its own
/// partition and index, links to its predecessor (the first to 32 zero bytes) and hashes to its
/// stored hash; then the Merkle root of the entries up to a checkpoint's size equals the
/// checkpoint's root. Streams: memory is O(log n) whatever the number of entries. Reports the
/// first failure only (later ones usually follow from it). This is what <c>ledger verify</c> runs.
/// </summary>
internal static class ChainVerifier
{
    /// <param name="partition">The partition the entries belong to.</param>
    /// <param name="entries">The partition's entries in index order, from index 0.</param>
    /// <param name="expected">The head a (signature-checked) checkpoint commits to for this partition, if any.</param>
    public static ChainVerification Verify(int partition, IEnumerable<StoredEntry> entries, PartitionHead? expected = null)
    {
        var range = new CompactRange();
        byte[] previous = LedgerFormat.GenesisPrevHash();
        byte[]? expectedRootChecked = null;
        long index = 0;
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
            range.Append(entry.LeafHash);
            previous = stored.Hash;
            index++;
            if (expected is not null && index == expected.Size)
            {
                expectedRootChecked = range.Root();
                if (!expectedRootChecked.AsSpan().SequenceEqual(expected.Root))
                {
                    return new(ChainVerification.RootMismatch, $"the root of the first {expected.Size} entries differs from the checkpoint's", null, index, expectedRootChecked);
                }
            }
        }
        if (expected is not null)
        {
            if (index < expected.Size)
            {
                return new(ChainVerification.Truncated, $"the checkpoint commits to {expected.Size} entries, the ledger holds {index}", index, index, range.Root());
            }
            if (expected.Size == 0 && !MerkleHash.EmptyRoot().AsSpan().SequenceEqual(expected.Root))
            {
                return new(ChainVerification.RootMismatch, "the checkpoint's root of the empty log is not the empty root", null, index, range.Root());
            }
        }
        return new(ChainVerification.Ok, "", null, index, range.Root());
    }
}

/// <summary>The outcome of checking that a later checkpoint extends an earlier one.</summary>
internal sealed record ConsistencyVerification(string Code, string Detail, int? Partition)
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
internal static class CheckpointConsistency
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
