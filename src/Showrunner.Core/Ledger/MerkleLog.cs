using System.Numerics;

namespace Showrunner.Core.Ledger;

/// <summary>
/// One partition's append-only Merkle log (RFC 9162 §2.1) over leaf hashes, kept in an
/// <see cref="IMerkleNodeStore"/> as the hashes of its complete subtrees.
/// </summary>
/// <remarks>
/// Costs, for a log of n leaves: appending writes the leaf and each subtree it completes
/// (amortised 2 node writes, at most log2 n + 1) and reads nothing; the current root folds the
/// in-memory frontier (one hash per set bit of n, the "compact range"); a historical root, an
/// inclusion proof and a consistency proof each read O(log n) stored nodes, because every hash
/// they need is either a stored complete subtree or a right edge made of at most log2 n of them.
/// Not thread-safe: a partition has one writer.
/// </remarks>
public sealed class MerkleLog
{
    private readonly IMerkleNodeStore _store;

    private readonly CompactRange _frontier;

    /// <summary>Opens the log the store holds, reading its frontier (O(log n) reads) and checking the store's shape.</summary>
    public MerkleLog(IMerkleNodeStore store)
    {
        _store = store;
        Size = store.Count(0);
        for (int level = 1; level < 64; level++)
        {
            long expected = Size >> level;
            long actual = store.Count(level);
            if (actual != expected)
            {
                throw new InvalidOperationException($"The Merkle node store is inconsistent: {Size} leaves need {expected} nodes at level {level}, it holds {actual}.");
            }
        }
        var subtrees = new List<byte[]>();
        long start = 0;
        for (int level = 63; level >= 0; level--)
        {
            if ((Size & (1L << level)) != 0)
            {
                subtrees.Add(store.Read(level, start >> level));
                start += 1L << level;
            }
        }
        _frontier = new CompactRange(Size, subtrees);
    }

    /// <summary>The number of leaves.</summary>
    public long Size { get; private set; }

    /// <summary>Appends a leaf hash and returns its index.</summary>
    public long Append(ReadOnlySpan<byte> leafHash)
    {
        if (leafHash.Length != MerkleHash.Size)
        {
            throw new ArgumentException($"A leaf hash is {MerkleHash.Size} bytes, not {leafHash.Length}.", nameof(leafHash));
        }
        long index = Size;
        _store.Append(0, index, leafHash);
        _frontier.Append(leafHash, _store.Append);
        Size = index + 1;
        return index;
    }

    /// <summary>The root of the whole log, from the frontier (no reads).</summary>
    public byte[] Root() => _frontier.Root();

    /// <summary>The root of the first <paramref name="size"/> leaves (MTH(D[0:size])).</summary>
    public byte[] RootAt(long size)
    {
        CheckSize(size, nameof(size));
        if (size == Size)
        {
            return Root();
        }
        return size == 0 ? MerkleHash.EmptyRoot() : RangeHash(0, size);
    }

    /// <summary>The inclusion proof (RFC 9162 §2.1.3.1, PATH) of leaf <paramref name="index"/> in the tree of the first <paramref name="size"/> leaves.</summary>
    public IReadOnlyList<byte[]> InclusionProof(long index, long size)
    {
        CheckSize(size, nameof(size));
        if (index < 0 || index >= size)
        {
            throw new ArgumentOutOfRangeException(nameof(index), $"Leaf {index} is not in a tree of {size} leaves.");
        }
        var proof = new List<byte[]>(64);
        Path(index, 0, size, proof);
        return proof;
    }

    /// <summary>The consistency proof (RFC 9162 §2.1.4.1, PROOF) between the trees of the first <paramref name="firstSize"/> and <paramref name="secondSize"/> leaves.</summary>
    public IReadOnlyList<byte[]> ConsistencyProof(long firstSize, long secondSize)
    {
        CheckSize(secondSize, nameof(secondSize));
        if (firstSize < 0 || firstSize > secondSize)
        {
            throw new ArgumentOutOfRangeException(nameof(firstSize), $"A tree of {firstSize} leaves is not a prefix of one of {secondSize}.");
        }
        var proof = new List<byte[]>(128);
        if (firstSize > 0 && firstSize < secondSize)
        {
            SubProof(firstSize, 0, secondSize, true, proof);
        }
        return proof;
    }

    // PATH(m, D[start:start+n]); the proof lists the deepest sibling first.
    private void Path(long m, long start, long n, List<byte[]> proof)
    {
        if (n == 1)
        {
            return;
        }
        long k = MerkleHash.Split(n);
        if (m < k)
        {
            Path(m, start, k, proof);
            proof.Add(RangeHash(start + k, start + n));
        }
        else
        {
            Path(m - k, start + k, n - k, proof);
            proof.Add(RangeHash(start, start + k));
        }
    }

    // SUBPROOF(m, D[start:start+n], b).
    private void SubProof(long m, long start, long n, bool completeSubtree, List<byte[]> proof)
    {
        if (m == n)
        {
            if (!completeSubtree)
            {
                proof.Add(RangeHash(start, start + n));
            }
            return;
        }
        long k = MerkleHash.Split(n);
        if (m <= k)
        {
            SubProof(m, start, k, completeSubtree, proof);
            proof.Add(RangeHash(start + k, start + n));
        }
        else
        {
            SubProof(m - k, start + k, n - k, false, proof);
            proof.Add(RangeHash(start, start + k));
        }
    }

    /// <summary>
    /// MTH(D[start:end]) for a range that is a node of some tree over the log's leaves: a stored
    /// complete subtree when its length is a power of two, else split like the RFC (the left part
    /// is then complete, so this reads at most one node per level).
    /// </summary>
    private byte[] RangeHash(long start, long end)
    {
        long length = end - start;
        if ((length & (length - 1)) == 0)
        {
            int level = BitOperations.Log2((ulong)length);
            if (start % length != 0)
            {
                throw new InvalidOperationException($"The range [{start}, {end}) is not a subtree.");
            }
            return _store.Read(level, start >> level);
        }
        long k = MerkleHash.Split(length);
        return MerkleHash.Node(RangeHash(start, start + k), RangeHash(start + k, end));
    }

    private void CheckSize(long size, string name)
    {
        if (size < 0 || size > Size)
        {
            throw new ArgumentOutOfRangeException(name, $"The log holds {Size} leaves, not {size}.");
        }
    }
}

/// <summary>
/// The "compact range" of a Merkle log: the roots of the complete subtrees that make up its
/// leaves (one per set bit of the size, largest first). Appending is O(log n) hashes amortised
/// O(1), the root is O(log n); memory is O(log n), so a verifier can stream any number of leaves.
/// </summary>
public sealed class CompactRange
{
    private readonly List<byte[]> _subtrees;

    public CompactRange() : this(0, []) { }

    public CompactRange(long size, List<byte[]> subtrees)
    {
        if (System.Numerics.BitOperations.PopCount((ulong)size) != subtrees.Count)
        {
            throw new ArgumentException($"A range of {size} leaves has one subtree per set bit, not {subtrees.Count}.", nameof(subtrees));
        }
        Size = size;
        _subtrees = subtrees;
    }

    public long Size { get; private set; }

    /// <summary>Appends a leaf hash; <paramref name="completed"/> hears of each subtree (level ≥ 1, index) it completes.</summary>
    public void Append(ReadOnlySpan<byte> leafHash, CompletedSubtree? completed = null)
    {
        byte[] hash = leafHash.ToArray();
        int level = 0;
        long position = Size;
        // A node with an odd position is a right child: it completes its parent with the
        // smallest subtree of the range, which is its left sibling.
        while ((position & 1) == 1)
        {
            hash = MerkleHash.Node(_subtrees[^1], hash);
            _subtrees.RemoveAt(_subtrees.Count - 1);
            level++;
            position >>= 1;
            completed?.Invoke(level, position, hash);
        }
        _subtrees.Add(hash);
        Size++;
    }

    public byte[] Root()
    {
        if (Size == 0)
        {
            return MerkleHash.EmptyRoot();
        }
        byte[] root = _subtrees[^1];
        for (int i = _subtrees.Count - 2; i >= 0; i--)
        {
            root = MerkleHash.Node(_subtrees[i], root);
        }
        return root;
    }

    public delegate void CompletedSubtree(int level, long index, ReadOnlySpan<byte> hash);
}
