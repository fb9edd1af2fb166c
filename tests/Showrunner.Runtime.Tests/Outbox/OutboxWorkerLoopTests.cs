using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Showrunner.Runtime.Outbox;
using Showrunner.Storage.Memory;
using Showrunner.Storage.Outbox;

namespace Showrunner.Runtime.Tests.Outbox;

/// <summary>
/// The background loop on the system clock with millisecond backoffs, against the real receiver:
/// it drains the outbox through failures and an opening circuit, keeps to its concurrency bound,
/// and stops cleanly. Every wait is a barrier with a bound.
/// </summary>
[Trait("Category", "Integration")]
public sealed class OutboxWorkerLoopTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private readonly InMemoryOutboxStore _store = new();
    private WebhookReceiver _receiver = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync() => _receiver = await WebhookReceiver.StartAsync(OutboxDeliveryTests.Secret);

    public async Task DisposeAsync()
    {
        _http?.Dispose();
        await _receiver.DisposeAsync();
    }

    private (OutboxWorker Worker, CountingDeliverer Deliverer) Create(int maxInFlight)
    {
        var options = new OutboxOptions
        {
            WebhookUrl = _receiver.Url,
            WebhookSecret = OutboxDeliveryTests.Secret,
            MaxInFlight = maxInFlight,
            AttemptTimeout = TimeSpan.FromSeconds(5),
            BackoffBase = TimeSpan.FromMilliseconds(5),
            BackoffCap = TimeSpan.FromMilliseconds(20),
            CircuitFailureThreshold = 5,
            CircuitCoolDown = TimeSpan.FromMilliseconds(20),
            CircuitCoolDownMax = TimeSpan.FromMilliseconds(80),
            PollInterval = TimeSpan.FromMilliseconds(50),
            JitterSeed = 3,
        };
        _http = WebhookDeliverer.CreateHttpClient(options);
        var deliverer = new CountingDeliverer(new WebhookDeliverer(options, _http, TimeProvider.System));
        return (new OutboxWorker(options, _store, deliverer, TimeProvider.System, NullLogger<OutboxWorker>.Instance), deliverer);
    }

    private async Task<List<string>> EnqueueAsync(int count, string prefix)
    {
        var ids = Enumerable.Range(1, count).Select(i => string.Create(CultureInfo.InvariantCulture, $"{prefix}-{i:000}")).ToList();
        foreach (var id in ids)
        {
            await _store.EnqueueAsync(id, Encoding.UTF8.GetBytes($"{{\"grant_id\":\"{id}\"}}"), TimeProvider.System.GetUtcNow());
        }
        return ids;
    }

    [Fact]
    public async Task The_loop_delivers_every_grant_through_failures_and_an_open_circuit_within_its_bound()
    {
        var seen = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        // Each grant fails twice (500, then a reset) before it is accepted: the circuit opens on the way.
        _receiver.Behave = id => seen.AddOrUpdate(id, 1, (_, n) => n + 1) switch
        {
            1 => new ReceiverBehavior.Answer(500),
            2 => new ReceiverBehavior.Reset(),
            _ => ReceiverBehavior.Ok,
        };
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _receiver.OnAcknowledged = count =>
        {
            if (count == 30)
            {
                all.TrySetResult();
            }
        };
        var (worker, deliverer) = Create(maxInFlight: 4);
        var ids = await EnqueueAsync(30, "l");
        worker.Start();
        worker.Notify();
        await all.Task.WaitAsync(Bound);
        await worker.StopAsync().WaitAsync(Bound);

        var states = await Task.WhenAll(ids.Select(id => _store.GetAsync(id)));
        Assert.All(states, s => Assert.Equal(DeliveryStatus.Delivered, s!.Status));
        Assert.All(states, s => Assert.Equal(3, s!.Attempts));
        Assert.InRange(deliverer.ConcurrentMax, 1, 4);
        Assert.True(worker.GetStats().Circuit.Openings > 0, "the circuit never opened");
        Assert.Equal(CircuitState.Closed, worker.Circuit.State);
        Assert.All(_receiver.BodiesByGrant().Values, bodies => Assert.Single(bodies));
        Assert.All(_receiver.Requests, r => Assert.True(r.SignatureValid));
        await worker.DisposeAsync();
    }

    [Fact]
    public async Task Enqueue_never_waits_for_a_stuck_webhook_and_stopping_records_attempts_in_flight_as_retryable()
    {
        _receiver.Behave = _ => new ReceiverBehavior.Hang(TimeSpan.FromSeconds(30));
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int requests = 0;
        _receiver.OnRequest = _ =>
        {
            if (Interlocked.Increment(ref requests) == 2)
            {
                arrived.TrySetResult();
            }
        };
        var (worker, _) = Create(maxInFlight: 2);
        var stuck = await EnqueueAsync(2, "s");
        worker.Start();
        worker.Notify();
        await arrived.Task.WaitAsync(Bound);
        Assert.Equal(2, worker.GetStats().InFlight);

        // Every slot is taken by a hung request: the ingest side still enqueues at once.
        for (int i = 0; i < 100; i++)
        {
            var enqueue = _store.EnqueueAsync($"more-{i}", "{}"u8.ToArray(), TimeProvider.System.GetUtcNow());
            Assert.True(enqueue.IsCompletedSuccessfully);
            worker.Notify();
        }

        // Stop without a drain: the hung attempts are cancelled and recorded as failed and retryable.
        await worker.StopAsync(new CancellationToken(canceled: true)).WaitAsync(Bound);
        foreach (var id in stuck)
        {
            var state = await _store.GetAsync(id);
            Assert.Equal(DeliveryStatus.Pending, state!.Status);
            Assert.Equal(1, state.Attempts);
            Assert.Equal("cancelled: the outbox worker is stopping", state.LastError);
            Assert.Equal(state.LastAttemptAt, state.NextAttemptAt); // due again at once
        }
        Assert.Equal(0, worker.Circuit.ConsecutiveFailures); // stopping is not the target's fault
        Assert.Equal(0, (await _store.GetAsync("more-0"))!.Attempts);
        Assert.Equal(2, _receiver.Requests.Count);
        await worker.DisposeAsync();
    }

    [Fact]
    public async Task Stopping_with_time_to_drain_lets_attempts_in_flight_finish()
    {
        _receiver.Behave = _ => new ReceiverBehavior.Hang(TimeSpan.FromMilliseconds(300));
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _receiver.OnRequest = _ => arrived.TrySetResult();
        var (worker, _) = Create(maxInFlight: 1);
        await EnqueueAsync(1, "f");
        worker.Start();
        worker.Notify();
        await arrived.Task.WaitAsync(Bound);
        using var drain = new CancellationTokenSource(Bound);
        await worker.StopAsync(drain.Token).WaitAsync(Bound);
        Assert.Equal(DeliveryStatus.Delivered, (await _store.GetAsync("f-001"))!.Status);
        await worker.DisposeAsync();
    }
}
