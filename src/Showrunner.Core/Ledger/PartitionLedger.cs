namespace Showrunner.Core.Ledger;

/// <summary>A complete subtree an append produced, to be stored with the entry (level 1 and above).</summary>
public readonly record struct CompletedNode(int Level, long Index, byte[] Hash);

/// <summary>
/// The writing end of one partition's ledger: the next index, the hash to link to, and the Merkle
/// frontier (one hash per set bit of the size). <see cref="Append"/> builds the entry and reports
/// the subtrees it completes; the caller stores both in the same transaction. Owned by the
/// partition's single writer; after a failed commit the caller throws it away and reopens it from
/// the store (<see cref="Open"/>, O(log n) reads).
/// </summary>
public sealed class PartitionLedger
{
    private readonly CompactRange _frontier;

    private PartitionLedger(int partition, long size, byte[] lastHash, CompactRange frontier)
    {
        Partition = partition;
        Size = size;
        LastHash = lastHash;
        _frontier = frontier;
    }

    public int Partition { get; }

    /// <summary>Entries appended so far: the index the next entry gets.</summary>
    public long Size { get; private set; }

    /// <summary>The hash of the last entry (32 zero bytes while empty): the next entry's prev_hash.</summary>
    public byte[] LastHash { get; private set; }

    /// <summary>A new, empty ledger.</summary>
    public static PartitionLedger Empty(int partition) => new(partition, 0, LedgerFormat.GenesisPrevHash(), new CompactRange());

    /// <summary>
    /// Opens a stored ledger of <paramref name="size"/> entries whose last entry hashes to
    /// <paramref name="lastHash"/>; <paramref name="readNode"/> reads a stored node (level, index),
    /// level 0 being the leaf hash of an entry.
    /// </summary>
    public static PartitionLedger Open(int partition, long size, byte[] lastHash, Func<int, long, byte[]> readNode)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        ArgumentNullException.ThrowIfNull(readNode);
        if (lastHash.Length != MerkleHash.Size)
        {
            throw new ArgumentException($"A hash is {MerkleHash.Size} bytes.", nameof(lastHash));
        }
        var subtrees = new List<byte[]>();
        long start = 0;
        for (int level = 62; level >= 0; level--)
        {
            if ((size & (1L << level)) != 0)
            {
                subtrees.Add(readNode(level, start >> level));
                start += 1L << level;
            }
        }
        return new PartitionLedger(partition, size, [.. lastHash], new CompactRange(size, subtrees));
    }

    /// <summary>The Merkle root of the entries appended so far.</summary>
    public byte[] Root() => _frontier.Root();

    /// <summary>Appends the grant as the next entry; adds the subtrees it completes to <paramref name="nodes"/>.</summary>
    public GrantEntry Append(GrantCause cause, IReadOnlyList<RewardLine> rewards, string releaseId, long timeTicks, string? author, string? reason,
        string? actionId, List<CompletedNode> nodes)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        var entry = GrantEntry.Create(cause, rewards, releaseId, timeTicks, author, reason, Partition, Size, LastHash, actionId);
        _frontier.Append(entry.LeafHash, (level, index, hash) => nodes.Add(new CompletedNode(level, index, hash.ToArray())));
        Size++;
        LastHash = entry.Hash;
        return entry;
    }
}
