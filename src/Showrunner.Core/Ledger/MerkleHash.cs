using System.Numerics;
using System.Security.Cryptography;

namespace Showrunner.Core.Ledger;

/// <summary>
/// The hashing of RFC 9162 §2.1 (the same as RFC 6962 §2.1) with SHA-256: leaf hash =
/// SHA-256(0x00 ‖ data), node hash = SHA-256(0x01 ‖ left ‖ right), a tree of n &gt; 1 leaves splits
/// at the largest power of two smaller than n, and the empty tree hashes to SHA-256 of nothing.
/// Used by the ledger's Merkle logs and by release bundles.
/// </summary>
public static class MerkleHash
{
    public const int Size = 32;

    public static byte[] Leaf(ReadOnlySpan<byte> data)
    {
        var buffer = new byte[data.Length + 1];
        buffer[0] = 0x00;
        data.CopyTo(buffer.AsSpan(1));
        return SHA256.HashData(buffer);
    }

    public static byte[] Node(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        Span<byte> buffer = stackalloc byte[1 + 2 * Size];
        buffer[0] = 0x01;
        left.CopyTo(buffer[1..]);
        right.CopyTo(buffer[(1 + Size)..]);
        return SHA256.HashData(buffer);
    }

    public static byte[] EmptyRoot() => SHA256.HashData(ReadOnlySpan<byte>.Empty);

    /// <summary>The largest power of two strictly smaller than <paramref name="n"/> (n ≥ 2).</summary>
    public static long Split(long n) => (long)BitOperations.RoundUpToPowerOf2((ulong)n) >> 1;

    /// <summary>
    /// The Merkle tree hash (RFC 9162 §2.1.1) of the given leaf hashes, computed from scratch in
    /// O(n). The reference the incremental log is tested against; not for large trees.
    /// </summary>
    public static byte[] Root(IReadOnlyList<byte[]> leafHashes) => RootOf(leafHashes, 0, leafHashes.Count);

    private static byte[] RootOf(IReadOnlyList<byte[]> leafHashes, int start, int count)
    {
        if (count == 0)
        {
            return EmptyRoot();
        }
        if (count == 1)
        {
            return leafHashes[start];
        }
        int split = (int)Split(count);
        return Node(RootOf(leafHashes, start, split), RootOf(leafHashes, start + split, count - split));
    }
}
