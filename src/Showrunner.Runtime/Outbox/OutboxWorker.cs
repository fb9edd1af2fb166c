using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Showrunner.Runtime.Observability;
using Showrunner.Storage.Outbox;

namespace Showrunner.Runtime.Outbox;

/// <summary>Counters of one worker since it was created, and its target's circuit.</summary>
public sealed record OutboxWorkerStats(long Delivered, long FailedAttempts, long DeadLettered, long Deferred, long StoreErrors, int InFlight, CircuitSnapshot Circuit);

/// <summary>
/// Delivers the outbox: takes due deliveries from the store, at most
/// <see cref="OutboxOptions.MaxInFlight"/> attempts at a time, sends each through the deliverer
/// and records the outcome — delivered, failed with the next attempt time (exponential backoff
/// with full jitter, never before a Retry-After), or dead-lettered after
/// <see cref="OutboxOptions.MaxAttempts"/> attempts or a permanent refusal.
/// </summary>
/// <remarks>
/// It only reads and writes the outbox store; the ingest side only enqueues (and may call
/// <see cref="Notify"/>, which never blocks), so a slow or dead webhook never reaches ingest.
/// While the target's circuit is open nothing is taken, so due deliveries wait without using up
/// attempts; a delivery taken just before the circuit opened is given back unattempted.
/// At-least-once: if the outcome of a successful attempt cannot be recorded (the store fails, the
/// process dies) the claim runs out and the grant is sent again; receivers deduplicate by the
/// Idempotency-Key. Stopping: no new attempts start; attempts in flight finish until the drain
/// token passed to <see cref="StopAsync"/> fires, then they are cancelled and recorded as failed
/// and retryable (due at once, never dead-lettered for it).
/// </remarks>
internal sealed partial class OutboxWorker : IAsyncDisposable
{
    private readonly OutboxOptions _options;
    private readonly IOutboxStore _store;
    private readonly IDeliverer _deliverer;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ShowrunnerMetrics? _metrics;
    private readonly RetrySchedule _schedule;
    private readonly CircuitBreaker _breaker;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stopTaking = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly Lock _lock = new();
    private readonly HashSet<Task> _attempts = [];
    private Task? _loop;
    private int _inFlight;
    private long _delivered;
    private long _failedAttempts;
    private long _deadLettered;
    private long _deferred;
    private long _storeErrors;

    public OutboxWorker(OutboxOptions options, IOutboxStore store, IDeliverer deliverer, TimeProvider time, ILogger<OutboxWorker> logger,
        ShowrunnerMetrics? metrics = null)
    {
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid outbox options: " + string.Join(" ", errors), nameof(options));
        }
        _options = options;
        _store = store;
        _deliverer = deliverer;
        _time = time;
        _logger = logger;
        _metrics = metrics;
        _schedule = new RetrySchedule(options.BackoffBase, options.BackoffCap, options.JitterSeed);
        _breaker = new CircuitBreaker(deliverer.Target, options.CircuitFailureThreshold, options.CircuitCoolDown, options.CircuitCoolDownMax);
    }

    public CircuitSnapshot Circuit => _breaker.GetSnapshot();

    public OutboxWorkerStats GetStats() => new(
        Interlocked.Read(ref _delivered), Interlocked.Read(ref _failedAttempts), Interlocked.Read(ref _deadLettered),
        Interlocked.Read(ref _deferred), Interlocked.Read(ref _storeErrors), Volatile.Read(ref _inFlight), _breaker.GetSnapshot());

    /// <summary>Wakes the worker (something was enqueued). Never blocks.</summary>
    public void Notify() => _wake.Writer.TryWrite(true);

    /// <summary>Starts the background loop.</summary>
    public void Start()
    {
        if (_loop is not null)
        {
            throw new InvalidOperationException("The outbox worker is already started.");
        }
        LogStarted(_logger, _options.Describe());
        _loop = Task.Run(RunAsync);
    }

    /// <summary>
    /// Stops taking work, then waits for the attempts in flight; when <paramref name="drain"/>
    /// fires they are cancelled and recorded as failed and retryable.
    /// </summary>
    public async Task StopAsync(CancellationToken drain = default)
    {
        await _stopTaking.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }
        Task[] left;
        lock (_lock)
        {
            left = [.. _attempts];
        }
        using (drain.Register(() => _abort.Cancel()))
        {
            await Task.WhenAll(left).ConfigureAwait(false);
        }
        LogStopped(_logger, left.Length);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(new CancellationToken(canceled: true)).ConfigureAwait(false);
        _stopTaking.Dispose();
        _abort.Dispose();
    }

    /// <summary>
    /// One pass without the background loop: takes what is due now (at most
    /// <see cref="OutboxOptions.MaxInFlight"/>, one if the circuit wants a probe, none if it is
    /// open), attempts it all concurrently and waits for the outcomes to be recorded. Returns the
    /// number taken. For tests driven by a manual clock, and for a one-off flush.
    /// </summary>
    public async Task<int> DeliverDueAsync()
    {
        if (_loop is not null)
        {
            throw new InvalidOperationException("The background loop is running.");
        }
        var (taken, _) = await TakeAndStartAsync(_options.MaxInFlight).ConfigureAwait(false);
        Task[] started;
        lock (_lock)
        {
            started = [.. _attempts];
        }
        await Task.WhenAll(started).ConfigureAwait(false);
        return taken;
    }

    private async Task RunAsync()
    {
        var stop = _stopTaking.Token;
        while (!stop.IsCancellationRequested)
        {
            DateTimeOffset? wakeAt = null;
            bool more = false;
            try
            {
                _wake.Reader.TryRead(out _);
                int free = _options.MaxInFlight - Volatile.Read(ref _inFlight);
                if (free > 0)
                {
                    var (taken, requested) = await TakeAndStartAsync(free).ConfigureAwait(false);
                    if (requested == 0)
                    {
                        // The circuit is open (wait for its retry time) or its probe is out (wait for it).
                        wakeAt = _breaker.RetryAt;
                    }
                    else if (taken == requested)
                    {
                        more = true;
                    }
                    else
                    {
                        wakeAt = await _store.NextDueAtAsync(stop).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception exception)
            {
                Interlocked.Increment(ref _storeErrors);
                LogStoreFailed(_logger, exception);
            }
            if (!more)
            {
                await WaitAsync(wakeAt, stop).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Sleeps until <paramref name="wakeAt"/> (at most the poll interval), a <see cref="Notify"/>, or stop.</summary>
    private async Task WaitAsync(DateTimeOffset? wakeAt, CancellationToken stop)
    {
        var delay = _options.PollInterval;
        if (wakeAt is { } at)
        {
            var until = at - _time.GetUtcNow();
            if (until <= TimeSpan.Zero)
            {
                return;
            }
            if (until < delay)
            {
                delay = until;
            }
        }
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var sleep = Task.Delay(delay, _time, wait.Token);
        var woken = _wake.Reader.WaitToReadAsync(wait.Token).AsTask();
        await Task.WhenAny(sleep, woken).ConfigureAwait(false);
        await wait.CancelAsync().ConfigureAwait(false);
    }

    /// <summary>Asks the circuit, claims up to <paramref name="free"/> due deliveries and starts an attempt for each. Returns (taken, asked for).</summary>
    private async Task<(int Taken, int Requested)> TakeAndStartAsync(int free)
    {
        var now = _time.GetUtcNow();
        if (!_breaker.TryAcquire(now, out bool probe))
        {
            return (0, 0);
        }
        int requested = probe ? 1 : Math.Min(free, _options.TakeBatchMax);
        IReadOnlyList<DueDelivery> due;
        try
        {
            due = await _store.TakeDueAsync(now, requested, now + _options.ClaimDuration).ConfigureAwait(false);
        }
        catch
        {
            if (probe)
            {
                _breaker.AbandonProbe();
            }
            throw;
        }
        if (probe && due.Count == 0)
        {
            _breaker.AbandonProbe();
        }
        if (probe && due.Count > 0)
        {
            LogProbe(_logger, _breaker.Target, due[0].GrantId);
        }
        for (int i = 0; i < due.Count; i++)
        {
            Start(due[i], probe && i == 0);
        }
        return (due.Count, requested);
    }

    private void Start(DueDelivery delivery, bool probe)
    {
        Interlocked.Increment(ref _inFlight);
        var task = Task.Run(() => AttemptAsync(delivery, probe));
        lock (_lock)
        {
            if (!task.IsCompleted)
            {
                _attempts.Add(task);
            }
        }
        _ = task.ContinueWith(Finished, TaskScheduler.Default);
    }

    private void Finished(Task task)
    {
        lock (_lock)
        {
            _attempts.Remove(task);
        }
        Interlocked.Decrement(ref _inFlight);
        Notify();
    }

    private async Task AttemptAsync(DueDelivery delivery, bool probe)
    {
        try
        {
            if (!probe && !_breaker.TryAcquire(_time.GetUtcNow(), out probe))
            {
                // The circuit opened after this delivery was taken: give it back unattempted.
                Interlocked.Increment(ref _deferred);
                CountAttempt("deferred");
                await _store.ReleaseAsync(delivery.GrantId, _breaker.RetryAt ?? _time.GetUtcNow(), CancellationToken.None).ConfigureAwait(false);
                return;
            }
            int attempt = delivery.Attempts + 1;
            // A delivery starts its own trace: the request that caused the grant was answered long ago.
            // The webhook request carries this span's traceparent (HttpClient propagates it).
            System.Diagnostics.Activity.Current = null;
            using var span = ShowrunnerActivities.Source.StartActivity(ShowrunnerActivities.Spans.Deliver, System.Diagnostics.ActivityKind.Producer);
            span?.SetTag(ShowrunnerActivities.Tags.GrantId, delivery.GrantId);
            span?.SetTag(ShowrunnerActivities.Tags.Attempt, attempt);
            var result = await _deliverer.DeliverAsync(delivery, attempt, _abort.Token).ConfigureAwait(false);
            var now = _time.GetUtcNow();
            var record = Decide(delivery, attempt, probe, result, now);
            string outcome = record.Outcome switch
            {
                AttemptOutcome.Delivered => "delivered",
                AttemptOutcome.DeadLettered => "dead_lettered",
                _ => "failed",
            };
            CountAttempt(outcome);
            if (span is not null)
            {
                span.SetTag(ShowrunnerActivities.Tags.Outcome, outcome);
                if (result.StatusCode is { } status)
                {
                    span.SetTag(ShowrunnerActivities.Tags.StatusCode, status);
                }
                if (record.Outcome != AttemptOutcome.Delivered)
                {
                    span.SetStatus(System.Diagnostics.ActivityStatusCode.Error, result.Error);
                }
            }
            await _store.RecordAttemptAsync(delivery.GrantId, record, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            // The claim runs out and the delivery is taken again: at least once.
            Interlocked.Increment(ref _storeErrors);
            LogRecordFailed(_logger, exception, delivery.GrantId);
        }
    }

    private void CountAttempt(string outcome) => _metrics?.OutboxAttempts.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    private AttemptRecord Decide(DueDelivery delivery, int attempt, bool probe, AttemptResult result, DateTimeOffset now)
    {
        if (result.Kind == AttemptResultKind.Delivered)
        {
            Interlocked.Increment(ref _delivered);
            if (_breaker.OnSuccess(probe))
            {
                LogCircuitClosed(_logger, _breaker.Target);
            }
            LogDelivered(_logger, delivery.GrantId, attempt, result.StatusCode ?? 0);
            return AttemptRecord.Delivered(now, result.StatusCode ?? 0);
        }
        string error = result.Error ?? "failed";
        if (result.Kind == AttemptResultKind.Permanent && _options.DeadLetterOnPermanentFailure)
        {
            // The target is up and answering; it refuses this request.
            if (_breaker.OnSuccess(probe))
            {
                LogCircuitClosed(_logger, _breaker.Target);
            }
            Interlocked.Increment(ref _deadLettered);
            LogDeadLettered(_logger, delivery.GrantId, attempt, error);
            return AttemptRecord.DeadLettered(now, result.StatusCode, error);
        }
        Interlocked.Increment(ref _failedAttempts);
        if (result.Cancelled)
        {
            // Not the target's fault: it does not count against the circuit, and it is due again at once.
            if (probe)
            {
                _breaker.AbandonProbe();
            }
            return AttemptRecord.Failed(now, null, error, now);
        }
        if (_breaker.OnFailure(now, probe) is { } coolDown)
        {
            var circuit = _breaker.GetSnapshot();
            LogCircuitOpened(_logger, _breaker.Target, circuit.ConsecutiveFailures, coolDown);
        }
        if (attempt >= _options.MaxAttempts)
        {
            Interlocked.Increment(ref _deadLettered);
            LogDeadLettered(_logger, delivery.GrantId, attempt, error);
            return AttemptRecord.DeadLettered(now, result.StatusCode, error);
        }
        var next = now + _schedule.Delay(delivery.GrantId, attempt);
        if (result.RetryAfter is { } retryAfter && retryAfter > next)
        {
            next = retryAfter;
        }
        LogAttemptFailed(_logger, delivery.GrantId, attempt, error, next);
        return AttemptRecord.Failed(now, result.StatusCode, error, next);
    }

    [LoggerMessage(EventId = 5000, Level = LogLevel.Information, Message = "Outbox worker started: {Options}")]
    private static partial void LogStarted(ILogger logger, string options);

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Outbox worker stopped; {InFlight} attempts were in flight")]
    private static partial void LogStopped(ILogger logger, int inFlight);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Debug, Message = "Grant {GrantId} delivered on attempt {Attempt} (HTTP {StatusCode})")]
    private static partial void LogDelivered(ILogger logger, string grantId, int attempt, int statusCode);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Information, Message = "Grant {GrantId} attempt {Attempt} failed ({Error}); next attempt at {NextAttemptAt:O}")]
    private static partial void LogAttemptFailed(ILogger logger, string grantId, int attempt, string error, DateTimeOffset nextAttemptAt);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Warning, Message = "Grant {GrantId} dead-lettered after attempt {Attempt} ({Error})")]
    private static partial void LogDeadLettered(ILogger logger, string grantId, int attempt, string error);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Warning, Message = "Circuit to {Target} opened after {Failures} consecutive failures, for {CoolDown}")]
    private static partial void LogCircuitOpened(ILogger logger, string target, int failures, TimeSpan coolDown);

    [LoggerMessage(EventId = 5006, Level = LogLevel.Information, Message = "Circuit to {Target} half-open: probing with grant {GrantId}")]
    private static partial void LogProbe(ILogger logger, string target, string grantId);

    [LoggerMessage(EventId = 5007, Level = LogLevel.Information, Message = "Circuit to {Target} closed")]
    private static partial void LogCircuitClosed(ILogger logger, string target);

    [LoggerMessage(EventId = 5008, Level = LogLevel.Error, Message = "The outbox store could not be read; retrying after the poll interval")]
    private static partial void LogStoreFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 5009, Level = LogLevel.Error, Message = "The outcome of grant {GrantId}'s attempt could not be recorded; it will be attempted again when its claim ends")]
    private static partial void LogRecordFailed(ILogger logger, Exception exception, string grantId);
}
