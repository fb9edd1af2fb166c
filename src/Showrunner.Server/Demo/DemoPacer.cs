namespace Showrunner.Server.Demo;

/// <summary>
/// Paces the simulator at a fixed rate: by elapsed time t it has handed out at most
/// ⌊rate × t⌋ actions, ever. When the sender falls behind (a slow server, 503s), at most one
/// second of backlog is kept; the rest is dropped rather than sent as a burst later.
/// </summary>
internal sealed class DemoPacer(int actionsPerSecond)
{
    private long _handedOut;

    public long HandedOut => _handedOut;

    /// <summary>How many actions may go now (0 to <paramref name="max"/>), given the time since the pacer started.</summary>
    public int Take(TimeSpan elapsed, int max)
    {
        long allowed = (long)Math.Floor(actionsPerSecond * elapsed.TotalSeconds);
        if (allowed - _handedOut > actionsPerSecond)
        {
            _handedOut = allowed - actionsPerSecond;
        }
        int take = (int)Math.Clamp(allowed - _handedOut, 0, max);
        _handedOut += take;
        return take;
    }
}
