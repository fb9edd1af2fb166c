namespace Showrunner.Core.Ledger;

/// <summary>
/// Where one partition's Merkle log keeps the hashes of its complete (perfect) subtrees: the node
/// at <c>level</c> L and <c>index</c> i covers leaves [i·2^L, (i+1)·2^L). Level 0 holds the leaf
/// hashes. Nodes are only ever appended, in order within a level, and never change; a node exists
/// once all of its leaves do. Proofs and historical roots need O(log n) reads.
/// </summary>
/// <remarks>
/// The in-memory implementation serves tests and tools; the storage layer will provide one over
/// a table (<c>merkle_nodes</c>) written in the same transaction as the ledger entries.
/// </remarks>
public interface IMerkleNodeStore
{
    /// <summary>How many nodes the store holds at <paramref name="level"/>; at level 0 the log's size.</summary>
    long Count(int level);

    /// <summary>Appends the node at (<paramref name="level"/>, <paramref name="index"/>); index must equal <see cref="Count"/>(level).</summary>
    void Append(int level, long index, ReadOnlySpan<byte> hash);

    /// <summary>The hash of an existing node.</summary>
    byte[] Read(int level, long index);
}

/// <summary>
/// An <see cref="IMerkleNodeStore"/> in memory: 32 bytes per node in fixed-size chunks (no object
/// per node), about 64 bytes per leaf in all. Counts reads so tests can pin the cost of proofs.
/// </summary>
internal sealed class InMemoryMerkleNodeStore : IMerkleNodeStore
{
    private const int ChunkNodes = 1 << 15;
    private readonly List<Level> _levels = [];

    /// <summary>How many node reads have been served since creation.</summary>
    public long ReadCount { get; private set; }

    public long Count(int level) => level < _levels.Count ? _levels[level].Count : 0;

    public void Append(int level, long index, ReadOnlySpan<byte> hash)
    {
        if (hash.Length != MerkleHash.Size)
        {
            throw new ArgumentException($"A node hash is {MerkleHash.Size} bytes, not {hash.Length}.", nameof(hash));
        }
        while (_levels.Count <= level)
        {
            _levels.Add(new Level());
        }
        var nodes = _levels[level];
        if (index != nodes.Count)
        {
            throw new InvalidOperationException($"Merkle node ({level}, {index}) appended out of order: level {level} holds {nodes.Count} nodes.");
        }
        int offset = (int)(index % ChunkNodes) * MerkleHash.Size;
        if (offset == 0)
        {
            nodes.Chunks.Add(new byte[ChunkNodes * MerkleHash.Size]);
        }
        hash.CopyTo(nodes.Chunks[^1].AsSpan(offset));
        nodes.Count++;
    }

    public byte[] Read(int level, long index)
    {
        if (index < 0 || index >= Count(level))
        {
            throw new ArgumentOutOfRangeException(nameof(index), $"Merkle node ({level}, {index}) does not exist.");
        }
        ReadCount++;
        var chunk = _levels[level].Chunks[(int)(index / ChunkNodes)];
        return chunk.AsSpan((int)(index % ChunkNodes) * MerkleHash.Size, MerkleHash.Size).ToArray();
    }

    private sealed class Level
    {
        public List<byte[]> Chunks { get; } = [];
        public long Count { get; set; }
    }
}
