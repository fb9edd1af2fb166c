using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Showrunner.Core.Rollouts;

/// <summary>
/// Sticky rollout buckets: a player's bucket is the first 8 bytes of SHA-256(salt ":" player) as a
/// big-endian unsigned number, modulo 10,000 (basis points). Stable across processes, machines and
/// versions: raising a step's percentage only adds players, it never moves one out.
/// </summary>
public static class Bucketing
{
    public const int Buckets = 10_000;

    public static int BucketOf(string salt, string player)
    {
        ArgumentNullException.ThrowIfNull(salt);
        ArgumentNullException.ThrowIfNull(player);
        int length = Encoding.UTF8.GetByteCount(salt) + 1 + Encoding.UTF8.GetByteCount(player);
        Span<byte> buffer = length <= 512 ? stackalloc byte[length] : new byte[length];
        int written = Encoding.UTF8.GetBytes(salt, buffer);
        buffer[written++] = (byte)':';
        Encoding.UTF8.GetBytes(player, buffer[written..]);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(buffer, hash);
        return (int)(BinaryPrimitives.ReadUInt64BigEndian(hash) % Buckets);
    }

    /// <summary>Whether a player falls in a cohort of <paramref name="percentBasisPoints"/> (0–10,000).</summary>
    public static bool InCohort(string salt, string player, int percentBasisPoints) => BucketOf(salt, player) < percentBasisPoints;
}
