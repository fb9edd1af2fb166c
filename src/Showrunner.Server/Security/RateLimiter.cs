namespace Showrunner.Server.Security;

/// <summary>Whose bucket a request is counted in: each kind has its own rate and burst.</summary>
internal enum RateLimitKind
{
    Operator,
    GameServer,
    Player,
    /// <summary>Requests without a valid credential (public endpoints, failed authentication), per remote address.</summary>
    Anonymous,
}

/// <summary>One kind's limit: a steady rate and the burst a full bucket allows at once.</summary>
internal sealed record RateLimit(int PerSecond, int Burst);

/// <summary>The limits of each kind and the most buckets held in memory.</summary>
internal sealed record RateLimitOptions
{
    public RateLimit Operator { get; init; } = new(50, 100);
    public RateLimit GameServer { get; init; } = new(1_000, 2_000);
    public RateLimit Player { get; init; } = new(5, 20);
    public RateLimit Anonymous { get; init; } = new(20, 40);
    public int MaxBuckets { get; init; } = 100_000;

    public const int PerSecondMax = 1_000_000;
    public const int BurstMax = 1_000_000;
    public const int MaxBucketsMin = 1_000;
    public const int MaxBucketsMax = 10_000_000;

    public RateLimit For(RateLimitKind kind) => kind switch
    {
        RateLimitKind.Operator => Operator,
        RateLimitKind.GameServer => GameServer,
        RateLimitKind.Player => Player,
        _ => Anonymous,
    };
}

/// <summary>
/// Token buckets per caller (a key id, a player, a remote address), in integer ticks of the
/// injected clock: the generic cell rate algorithm, which is a token bucket that stores one number
/// per caller — the time at which its bucket will be full again ("theoretical arrival time").
/// A request costs one interval (1 s / rate); it is allowed when, after paying, the bucket is not
/// more than <c>burst</c> intervals in debt.
/// </summary>
/// <remarks>
/// Memory is bounded by <see cref="RateLimitOptions.MaxBuckets"/>. A bucket that is full again is
/// indistinguishable from a new one, so it is dropped without changing any answer; when the table
/// is full, full buckets are swept out (at most once a second, so that a table full of busy
/// callers does not cost a sweep per request). Callers that still find no room share one overflow
/// bucket of their kind until room frees up: bounded memory before fairness.
/// </remarks>
internal sealed class RateLimiter(RateLimitOptions options, TimeProvider time)
{
    private const string OverflowId = "\0overflow";
    private readonly Dictionary<(RateLimitKind Kind, string Id), long> _fullAt = [];
    private readonly Lock _lock = new();
    private long _nextSweepTicks = long.MinValue;

    public int BucketCount
    {
        get
        {
            lock (_lock)
            {
                return _fullAt.Count;
            }
        }
    }

    /// <summary>Takes one request from the caller's bucket: null when allowed, else how long until one would be.</summary>
    public TimeSpan? TryTake(RateLimitKind kind, string id)
    {
        var limit = options.For(kind);
        long interval = TimeSpan.TicksPerSecond / limit.PerSecond;
        long window = interval * limit.Burst;
        long now = time.GetUtcNow().UtcTicks;
        lock (_lock)
        {
            var bucket = (kind, id);
            if (!_fullAt.TryGetValue(bucket, out long fullAt))
            {
                if (_fullAt.Count >= options.MaxBuckets && !MakeRoom(now))
                {
                    bucket = (kind, OverflowId);
                    fullAt = _fullAt.GetValueOrDefault(bucket, now);
                }
                else
                {
                    fullAt = now;
                }
            }
            long next = Math.Max(fullAt, now) + interval;
            if (next - now > window)
            {
                return TimeSpan.FromTicks(next - now - window);
            }
            _fullAt[bucket] = next;
            return null;
        }
    }

    /// <summary>Drops every full bucket; true when that freed room. Called under the lock.</summary>
    private bool MakeRoom(long now)
    {
        if (now < _nextSweepTicks)
        {
            return false;
        }
        _nextSweepTicks = now + TimeSpan.TicksPerSecond;
        foreach (var (bucket, fullAt) in _fullAt)
        {
            if (fullAt <= now)
            {
                _fullAt.Remove(bucket);
            }
        }
        return _fullAt.Count < options.MaxBuckets;
    }
}
