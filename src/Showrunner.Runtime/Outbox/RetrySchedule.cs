using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Showrunner.Runtime.Outbox;

/// <summary>
/// Exponential backoff with full jitter: after the n-th failed attempt (n ≥ 1) the next one waits a
/// uniformly drawn delay in [0, min(cap, base · 2^(n−1))].
/// </summary>
/// <remarks>
/// The draw is a pure function of (seed, grant id, n): SHA-256 over the seed, n and the id, its
/// first 8 bytes read as a fraction. So the schedule does not depend on the order in which
/// concurrent attempts finish, a test replays it exactly, and grants that failed together still
/// spread out (their ids differ). No shared random state, so no lock.
/// </remarks>
internal sealed class RetrySchedule
{
    private readonly long _seed;

    public RetrySchedule(TimeSpan backoffBase, TimeSpan backoffCap, long seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(backoffBase, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(backoffCap, backoffBase);
        Base = backoffBase;
        Cap = backoffCap;
        _seed = seed;
    }

    public TimeSpan Base { get; }
    public TimeSpan Cap { get; }

    /// <summary>The largest delay after the <paramref name="failedAttempts"/>-th failed attempt: min(cap, base · 2^(n−1)).</summary>
    public TimeSpan UpperBound(int failedAttempts)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(failedAttempts, 1);
        int doublings = failedAttempts - 1;
        // base · 2^doublings overflows long ticks well after it passes any cap we allow (≤ 1 day).
        if (doublings >= 62 || Base.Ticks > Cap.Ticks >> doublings)
        {
            return Cap;
        }
        return TimeSpan.FromTicks(Math.Min(Cap.Ticks, Base.Ticks << doublings));
    }

    /// <summary>The delay before the attempt that follows the <paramref name="failedAttempts"/>-th failed one of <paramref name="grantId"/>.</summary>
    public TimeSpan Delay(string grantId, int failedAttempts)
    {
        long bound = UpperBound(failedAttempts).Ticks;
        // A fraction in [0, 1] with 53 bits; multiplying by bound + 1 and flooring gives [0, bound].
        double fraction = Draw(grantId, failedAttempts) / (double)(1UL << 53);
        long ticks = (long)Math.Floor(fraction * (bound + 1));
        return TimeSpan.FromTicks(Math.Min(ticks, bound));
    }

    private ulong Draw(string grantId, int failedAttempts)
    {
        int idBytes = Encoding.UTF8.GetByteCount(grantId);
        Span<byte> input = idBytes <= 256 ? stackalloc byte[12 + idBytes] : new byte[12 + idBytes];
        BinaryPrimitives.WriteInt64LittleEndian(input, _seed);
        BinaryPrimitives.WriteInt32LittleEndian(input[8..], failedAttempts);
        Encoding.UTF8.GetBytes(grantId, input[12..]);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(input, hash);
        return BinaryPrimitives.ReadUInt64LittleEndian(hash) >> 11;
    }
}
