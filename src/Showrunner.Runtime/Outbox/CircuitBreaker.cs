namespace Showrunner.Runtime.Outbox;

public enum CircuitState
{
    /// <summary>Requests flow.</summary>
    Closed,
    /// <summary>No requests until <see cref="CircuitSnapshot.RetryAt"/>.</summary>
    Open,
    /// <summary>The cool-down is over: one probe request is allowed; its outcome closes or reopens the circuit.</summary>
    HalfOpen,
}

/// <summary>What dashboards and metrics show of one target's circuit.</summary>
/// <param name="CoolDown">The cool-down of the current (or next) opening.</param>
public sealed record CircuitSnapshot(string Target, CircuitState State, int ConsecutiveFailures, DateTimeOffset? OpenedAt, DateTimeOffset? RetryAt, TimeSpan CoolDown, long Openings);

/// <summary>
/// A circuit breaker for one webhook target. After <c>threshold</c> consecutive failed attempts it
/// opens for a cool-down; then it lets exactly one probe through (half-open). A successful probe
/// closes it and resets the cool-down; a failed probe reopens it with the cool-down doubled, up to
/// the maximum. While open nothing is sent, so deliveries wait without using up attempts.
/// </summary>
/// <remarks>Thread-safe; time is passed in, so the breaker follows the worker's TimeProvider.</remarks>
internal sealed class CircuitBreaker
{
    private readonly Lock _lock = new();
    private readonly int _threshold;
    private readonly TimeSpan _coolDownInitial;
    private readonly TimeSpan _coolDownMax;
    private CircuitState _state = CircuitState.Closed;
    private int _consecutiveFailures;
    private DateTimeOffset? _openedAt;
    private DateTimeOffset? _retryAt;
    private TimeSpan _coolDown;
    private bool _probeInFlight;
    private long _openings;

    public CircuitBreaker(string target, int threshold, TimeSpan coolDown, TimeSpan coolDownMax)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threshold, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(coolDown, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(coolDownMax, coolDown);
        Target = target;
        _threshold = threshold;
        _coolDownInitial = coolDown;
        _coolDownMax = coolDownMax;
        _coolDown = coolDown;
    }

    public string Target { get; }

    /// <summary>
    /// Asks to send one request at <paramref name="now"/>. Closed: yes. Open before its retry time:
    /// no. Open after it, or half-open with no probe out: yes, as the probe
    /// (<paramref name="isProbe"/>); the caller must then report its outcome or call
    /// <see cref="AbandonProbe"/>.
    /// </summary>
    public bool TryAcquire(DateTimeOffset now, out bool isProbe)
    {
        lock (_lock)
        {
            isProbe = false;
            switch (_state)
            {
                case CircuitState.Closed:
                    return true;
                case CircuitState.Open when now < _retryAt:
                    return false;
                default:
                    if (_probeInFlight)
                    {
                        return false;
                    }
                    _state = CircuitState.HalfOpen;
                    _probeInFlight = true;
                    isProbe = true;
                    return true;
            }
        }
    }

    /// <summary>When a request could next be allowed (now if closed or a probe is due).</summary>
    public DateTimeOffset? RetryAt
    {
        get
        {
            lock (_lock)
            {
                return _state == CircuitState.Open ? _retryAt : null;
            }
        }
    }

    /// <summary>The probe was not sent after all: another caller may probe.</summary>
    public void AbandonProbe()
    {
        lock (_lock)
        {
            _probeInFlight = false;
        }
    }

    /// <summary>The target answered well. Returns true if this closed an open or half-open circuit.</summary>
    public bool OnSuccess(bool wasProbe)
    {
        lock (_lock)
        {
            if (wasProbe)
            {
                _probeInFlight = false;
            }
            _consecutiveFailures = 0;
            if (_state == CircuitState.Closed)
            {
                return false;
            }
            _state = CircuitState.Closed;
            _openedAt = null;
            _retryAt = null;
            _coolDown = _coolDownInitial;
            return true;
        }
    }

    /// <summary>An attempt failed in a way that counts against the target. Returns the cool-down if this opened the circuit.</summary>
    public TimeSpan? OnFailure(DateTimeOffset now, bool wasProbe)
    {
        lock (_lock)
        {
            _consecutiveFailures++;
            if (wasProbe)
            {
                _probeInFlight = false;
                // A failed probe reopens with the cool-down doubled.
                _coolDown = TimeSpan.FromTicks(Math.Min(_coolDownMax.Ticks, _coolDown.Ticks * 2));
                return Open(now);
            }
            if (_state == CircuitState.Closed && _consecutiveFailures >= _threshold)
            {
                return Open(now);
            }
            // Already open (a request sent before it opened has failed too): nothing more to do.
            return null;
        }
    }

    public CircuitSnapshot GetSnapshot()
    {
        lock (_lock)
        {
            return new CircuitSnapshot(Target, _state, _consecutiveFailures, _openedAt, _state == CircuitState.Open ? _retryAt : null, _coolDown, _openings);
        }
    }

    private TimeSpan Open(DateTimeOffset now)
    {
        _state = CircuitState.Open;
        _openedAt = now;
        _retryAt = now + _coolDown;
        _openings++;
        return _coolDown;
    }
}
