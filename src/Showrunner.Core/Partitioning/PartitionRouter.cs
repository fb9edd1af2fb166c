using System.Text;

namespace Showrunner.Core.Partitioning;

/// <summary>
/// Maps an entity key (for actions: the <c>player</c>) to one of P partitions.
/// </summary>
/// <remarks>
/// The hash is part of the on-disk contract: a data directory created with P partitions stores each
/// action in <c>partition = Fnv1a64(UTF-8(key)) mod P</c>, and every later process must compute the
/// same value. It therefore never uses <see cref="string.GetHashCode()"/> (randomised per process).
/// FNV-1a 64 (offset basis 14695981039346656037, prime 1099511628211) is followed by the
/// "fmix64" finaliser of MurmurHash3 so that the low bits used by the modulo depend on every input
/// byte. Documented in docs/internals/ingest.md; pinned by golden values in the unit tests.
/// </remarks>
public sealed class PartitionRouter
{
    /// <summary>The default partition count of a new data directory.</summary>
    public const int DefaultPartitionCount = 256;

    /// <summary>The largest partition count a data directory may be created with.</summary>
    public const int MaxPartitionCount = 65_536;

    public PartitionRouter(int partitionCount)
    {
        if (partitionCount is < 1 or > MaxPartitionCount)
        {
            throw new ArgumentOutOfRangeException(nameof(partitionCount), partitionCount,
                $"The partition count must be between 1 and {MaxPartitionCount}.");
        }
        PartitionCount = partitionCount;
    }

    public int PartitionCount { get; }

    /// <summary>The partition that owns <paramref name="key"/>.</summary>
    public int PartitionOf(string key) => (int)(StableHash(key) % (ulong)PartitionCount);

    /// <summary>FNV-1a 64 over the UTF-8 bytes of <paramref name="key"/>, then fmix64.</summary>
    public static ulong StableHash(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        const ulong offsetBasis = 14695981039346656037UL;
        const ulong prime = 1099511628211UL;
        ulong hash = offsetBasis;
        Span<byte> buffer = stackalloc byte[256];
        int maxBytes = Encoding.UTF8.GetMaxByteCount(key.Length);
        byte[]? rented = null;
        Span<byte> bytes = maxBytes <= buffer.Length ? buffer : (rented = new byte[maxBytes]);
        int length = Encoding.UTF8.GetBytes(key, bytes);
        foreach (byte b in bytes[..length])
        {
            hash ^= b;
            hash *= prime;
        }
        return Fmix64(hash);
    }

    private static ulong Fmix64(ulong k)
    {
        k ^= k >> 33;
        k *= 0xff51afd7ed558ccdUL;
        k ^= k >> 33;
        k *= 0xc4ceb9fe1a85ec53UL;
        k ^= k >> 33;
        return k;
    }
}
