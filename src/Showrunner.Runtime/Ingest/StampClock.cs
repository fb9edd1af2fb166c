namespace Showrunner.Runtime.Ingest;

/// <summary>
/// The ingest time stamps of batches: monotone (never below an earlier stamp, even if the clock
/// steps back), with a register of the stamps of batches still in flight, and decisions taken
/// "at a stamp" under the same lock.
/// </summary>
/// <remarks>
/// Two guarantees the live-event state relies on (docs/internals/live-events.md, "Phases"):
/// <list type="number">
/// <item>A decision made by <see cref="Decide"/> at stamp T is ordered with every batch stamp: batches
/// stamped before it have stamps below T, batches stamped after it have stamps of at least T and
/// see whatever the decision published (it ran inside the lock). So an operator's pause at T blocks
/// exactly the actions stamped at T or later, live and on replay.</item>
/// <item><see cref="OldestInFlight"/> is a low-watermark: once the clock has passed a run's end and no
/// batch stamped before it is in flight, no action stamped before the end will ever be processed
/// again, and the run's leaderboard is final.</item>
/// </list>
/// </remarks>
internal sealed class StampClock(TimeProvider time)
{
    private readonly Lock _lock = new();
    private readonly SortedDictionary<long, int> _inFlight = [];
    private long _last;

    /// <summary>Stamps a batch and registers it in flight until <see cref="End"/>.</summary>
    public long Begin()
    {
        lock (_lock)
        {
            long stamp = Math.Max(time.GetUtcNow().UtcTicks, _last);
            _last = stamp;
            _inFlight[stamp] = _inFlight.GetValueOrDefault(stamp) + 1;
            return stamp;
        }
    }

    public void End(long stamp)
    {
        lock (_lock)
        {
            int left = _inFlight[stamp] - 1;
            if (left == 0)
            {
                _inFlight.Remove(stamp);
            }
            else
            {
                _inFlight[stamp] = left;
            }
        }
    }

    /// <summary>The smallest stamp of a batch still in flight, or null.</summary>
    public long? OldestInFlight
    {
        get
        {
            lock (_lock)
            {
                return _inFlight.Count == 0 ? null : _inFlight.Keys.First();
            }
        }
    }

    /// <summary>A stamp no earlier batch has and no later batch goes below (for reading, not deciding).</summary>
    public long Now
    {
        get
        {
            lock (_lock)
            {
                return Math.Max(time.GetUtcNow().UtcTicks, _last);
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="decide"/> with a stamp T above every stamp handed out so far, inside the
    /// lock: no batch is stamped while it runs, and every later batch gets a stamp of at least T.
    /// </summary>
    public T Decide<T>(Func<long, T> decide)
    {
        lock (_lock)
        {
            long stamp = Math.Max(time.GetUtcNow().UtcTicks, _last + 1);
            _last = stamp;
            return decide(stamp);
        }
    }
}
