using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Showrunner.Runtime.Outbox;
using Showrunner.Storage.Memory;
using Showrunner.Storage.Outbox;
using Showrunner.Testing;

namespace Showrunner.Runtime.Tests.Outbox;

/// <summary>
/// The outbox worker against a real HTTP receiver on loopback, driven pass by pass on a manual
/// clock (so backoff, Retry-After and the circuit's cool-down are exact), with short real
/// timeouts. The receiver is the oracle: what it acknowledged, what bodies it saw per grant id,
/// and whether it could verify each signature itself.
/// </summary>
[Trait("Category", "Integration")]
public sealed class OutboxDeliveryTests : IAsyncLifetime
{
    internal const string Secret = "test-secret-0123456789-abcdefghijklmnop";
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private readonly ManualClock _clock = new(Start);
    private readonly InMemoryOutboxStore _store = new();
    private readonly List<OutboxWorker> _workers = [];
    private readonly List<HttpClient> _clients = [];
    private readonly List<CountingDeliverer> _deliverers = [];
    private WebhookReceiver _receiver = null!;

    public async Task InitializeAsync()
    {
        _receiver = await WebhookReceiver.StartAsync(Secret);
        // One request before the test, so that a cold start (JIT on both sides) does not look like a timeout.
        using var warm = new HttpClient();
        (await warm.PostAsync(_receiver.Url, new ByteArrayContent([]))).Dispose();
        _receiver.Clear();
    }

    public async Task DisposeAsync()
    {
        foreach (var worker in _workers)
        {
            await worker.DisposeAsync();
        }
        foreach (var client in _clients)
        {
            client.Dispose();
        }
        await _receiver.DisposeAsync();
    }

    private OutboxOptions Options(string? url = null) => new()
    {
        WebhookUrl = url ?? _receiver.Url,
        WebhookSecret = Secret,
        // Tests that want timeouts shorten this; the others must never see one, even on a loaded machine.
        AttemptTimeout = TimeSpan.FromSeconds(5),
        ClaimDuration = TimeSpan.FromMinutes(1),
        BackoffBase = TimeSpan.FromSeconds(1),
        BackoffCap = TimeSpan.FromSeconds(10),
        JitterSeed = 42,
        CircuitFailureThreshold = 1_000,
    };

    private OutboxWorker Worker(OutboxOptions options)
    {
        var http = WebhookDeliverer.CreateHttpClient(options);
        _clients.Add(http);
        var deliverer = new CountingDeliverer(new WebhookDeliverer(options, http, _clock));
        _deliverers.Add(deliverer);
        var worker = new OutboxWorker(options, _store, deliverer, _clock, NullLogger<OutboxWorker>.Instance);
        _workers.Add(worker);
        return worker;
    }

    private static byte[] Payload(string grantId) =>
        Encoding.UTF8.GetBytes($$$"""{"grant_id":"{{{grantId}}}","player":"p-{{{grantId}}}","reward":{"item":"gem","count":3}}""");

    private async Task<List<string>> EnqueueAsync(int count, string prefix = "g")
    {
        var ids = Enumerable.Range(1, count).Select(i => string.Create(CultureInfo.InvariantCulture, $"{prefix}-{i:000}")).ToList();
        foreach (var id in ids)
        {
            Assert.Equal(EnqueueResult.Added, await _store.EnqueueAsync(id, Payload(id), _clock.GetUtcNow()));
        }
        return ids;
    }

    /// <summary>Passes until nothing is due now; returns the number of attempts taken.</summary>
    private static async Task<int> DrainAsync(OutboxWorker worker)
    {
        int total = 0;
        for (int pass = 0; pass < 100; pass++)
        {
            int taken = await worker.DeliverDueAsync();
            if (taken == 0)
            {
                return total;
            }
            total += taken;
        }
        throw new InvalidOperationException("Deliveries kept coming due within one instant.");
    }

    private async Task AssertStatusAsync(IEnumerable<string> ids, DeliveryStatus status, int attempts)
    {
        foreach (var id in ids)
        {
            var state = await _store.GetAsync(id);
            Assert.NotNull(state);
            Assert.Equal(status, state.Status);
            Assert.Equal(attempts, state.Attempts);
        }
    }

    private void AssertReceiverOracle(IReadOnlyCollection<string> ids)
    {
        Assert.All(_receiver.Requests, r =>
        {
            Assert.True(r.SignatureValid, $"signature of {r.GrantId} did not verify");
            Assert.Equal("application/json", r.ContentType);
        });
        var bodies = _receiver.BodiesByGrant();
        foreach (var id in ids)
        {
            // Never two different payloads for one grant id, and the one seen is the one enqueued.
            var seen = Assert.Single(bodies[id]);
            Assert.Equal(Convert.ToHexString(Payload(id)), seen);
        }
    }

    [Fact]
    public async Task Every_grant_is_delivered_through_failures_timeouts_resets_and_429_with_one_payload_per_grant()
    {
        var worker = Worker(Options() with { AttemptTimeout = TimeSpan.FromSeconds(1), MaxInFlight = 10 });
        var ids = await EnqueueAsync(20);
        var phase = new ReceiverBehavior[]
        {
            new ReceiverBehavior.Answer(500),
            new ReceiverBehavior.Hang(TimeSpan.FromSeconds(30)),
            new ReceiverBehavior.Reset(),
            new ReceiverBehavior.Answer(429, "120"),
        };
        for (int i = 0; i < phase.Length; i++)
        {
            _receiver.Behave = _ => phase[i];
            Assert.Equal(20, await DrainAsync(worker));
            await AssertStatusAsync(ids, DeliveryStatus.Pending, i + 1);
            Assert.Empty(_receiver.Acknowledged);
            if (i < phase.Length - 1)
            {
                _clock.Advance(TimeSpan.FromSeconds(10)); // the backoff cap: everything is due again
            }
        }
        var lastErrors = await Task.WhenAll(ids.Select(id => _store.GetAsync(id)));
        Assert.All(lastErrors, s => Assert.Equal(429, s!.LastStatusCode));

        // Retry-After: 120 is a lower bound even though the backoff cap is 10 s.
        _receiver.Behave = _ => ReceiverBehavior.Ok;
        _clock.Advance(TimeSpan.FromSeconds(119));
        Assert.Equal(0, await DrainAsync(worker));
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(20, await DrainAsync(worker));

        await AssertStatusAsync(ids, DeliveryStatus.Delivered, 5);
        Assert.Equal(ids.Order(StringComparer.Ordinal), _receiver.Acknowledged.Order(StringComparer.Ordinal));
        Assert.Equal(100, _receiver.Requests.Count);
        AssertReceiverOracle(ids);
        // Attempt numbers as sent: 1..5 for every grant.
        Assert.All(ids, id => Assert.Equal(["1", "2", "3", "4", "5"], _receiver.Requests.Where(r => r.GrantId == id).Select(r => r.Attempt)));
        var errors = (await Task.WhenAll(ids.Select(id => _store.GetAsync(id)))).Select(s => s!.LastError);
        Assert.All(errors, Assert.Null);
        Assert.Equal(10, _deliverers[0].ConcurrentMax); // MaxInFlight, reached
        var stats = worker.GetStats();
        Assert.Equal(20, stats.Delivered);
        Assert.Equal(80, stats.FailedAttempts);
    }

    [Fact]
    public async Task Failures_are_recorded_with_their_cause_and_the_seeded_backoff()
    {
        var options = Options() with { AttemptTimeout = TimeSpan.FromMilliseconds(300) };
        var worker = Worker(options);
        var schedule = new RetrySchedule(options.BackoffBase, options.BackoffCap, options.JitterSeed);
        await EnqueueAsync(1, "t");
        _receiver.Behave = _ => new ReceiverBehavior.Hang(TimeSpan.FromSeconds(30));
        Assert.Equal(1, await worker.DeliverDueAsync());
        var state = await _store.GetAsync("t-001");
        Assert.Equal("timeout: no answer within 300 ms", state!.LastError);
        Assert.Null(state.LastStatusCode);
        Assert.Equal(Start + schedule.Delay("t-001", 1), state.NextAttemptAt);

        _clock.Advance(TimeSpan.FromSeconds(10));
        _receiver.Behave = _ => new ReceiverBehavior.Answer(503);
        Assert.Equal(1, await worker.DeliverDueAsync());
        state = await _store.GetAsync("t-001");
        Assert.Equal("HTTP 503", state!.LastError);
        Assert.Equal(503, state.LastStatusCode);
        Assert.Equal(_clock.GetUtcNow() + schedule.Delay("t-001", 2), state.NextAttemptAt);
    }

    [Fact]
    public async Task A_closed_port_is_retried_and_delivery_resumes_when_the_receiver_is_back()
    {
        // A port that was just listening and is now closed: connection refused.
        await using var gone = await WebhookReceiver.StartAsync(Secret);
        var url = gone.Url;
        int port = gone.Port;
        await gone.DisposeAsync();
        var worker = Worker(Options(url));
        var ids = await EnqueueAsync(3, "c");
        Assert.Equal(3, await DrainAsync(worker));
        var state = await _store.GetAsync("c-001");
        Assert.Equal(DeliveryStatus.Pending, state!.Status);
        Assert.StartsWith("connection: ", state.LastError, StringComparison.Ordinal);

        await using var back = await WebhookReceiver.StartAsync(Secret, port);
        _clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(3, await DrainAsync(worker));
        await AssertStatusAsync(ids, DeliveryStatus.Delivered, 2);
        Assert.Equal(3, back.Acknowledged.Count);
    }

    [Fact]
    public async Task Dead_letter_after_max_attempts_then_redeliver_delivers()
    {
        var worker = Worker(Options() with { MaxAttempts = 3 });
        var ids = await EnqueueAsync(4, "d");
        _receiver.Behave = _ => new ReceiverBehavior.Answer(500);
        for (int attempt = 1; attempt <= 3; attempt++)
        {
            Assert.Equal(4, await DrainAsync(worker));
            _clock.Advance(TimeSpan.FromSeconds(10));
        }
        await AssertStatusAsync(ids, DeliveryStatus.DeadLettered, 3);
        Assert.Equal(0, await DrainAsync(worker)); // dead letters are not attempted again
        var dead = await _store.ListDeadLettersAsync(10);
        Assert.Equal(ids, dead.Select(d => d.GrantId));
        Assert.All(dead, d => Assert.Equal("HTTP 500", d.LastError));
        Assert.All(dead, d => Assert.Equal(_clock.GetUtcNow() - TimeSpan.FromSeconds(10), d.DeadLetteredAt));
        Assert.Equal(12, _receiver.Requests.Count);

        _receiver.Behave = _ => ReceiverBehavior.Ok;
        Assert.Equal(4, await _store.RedeliverAsync(RedeliverScope.DeadLettered, _clock.GetUtcNow()));
        await AssertStatusAsync(ids, DeliveryStatus.Pending, 0);
        Assert.Equal(4, await DrainAsync(worker));
        await AssertStatusAsync(ids, DeliveryStatus.Delivered, 1);
        Assert.All(await Task.WhenAll(ids.Select(id => _store.GetAsync(id))), s => Assert.Equal(4, s!.TotalAttempts));
        Assert.Empty(await _store.ListDeadLettersAsync(10));
        AssertReceiverOracle(ids);
    }

    [Fact]
    public async Task A_permanent_refusal_dead_letters_at_once_unless_configured_to_retry()
    {
        _receiver.Behave = id => new ReceiverBehavior.Answer(id.StartsWith("p-", StringComparison.Ordinal) ? 422 : 404);
        var worker = Worker(Options());
        await EnqueueAsync(1, "p");
        Assert.Equal(1, await worker.DeliverDueAsync());
        var state = await _store.GetAsync("p-001");
        Assert.Equal(DeliveryStatus.DeadLettered, state!.Status);
        Assert.Equal(1, state.Attempts);
        Assert.Equal(422, state.LastStatusCode);

        var retrying = Worker(Options() with { DeadLetterOnPermanentFailure = false });
        await EnqueueAsync(1, "q");
        Assert.Equal(1, await retrying.DeliverDueAsync());
        state = await _store.GetAsync("q-001");
        Assert.Equal(DeliveryStatus.Pending, state!.Status);
        Assert.Equal(404, state.LastStatusCode);
    }

    [Fact]
    public async Task The_circuit_opens_after_K_failures_sends_nothing_while_open_and_closes_after_a_good_probe()
    {
        var worker = Worker(Options() with
        {
            MaxInFlight = 1,
            CircuitFailureThreshold = 3,
            CircuitCoolDown = TimeSpan.FromSeconds(30),
            CircuitCoolDownMax = TimeSpan.FromSeconds(90),
            BackoffCap = TimeSpan.FromSeconds(1),
        });
        var ids = await EnqueueAsync(5, "k");
        _receiver.Behave = _ => new ReceiverBehavior.Answer(500);

        // Three failures, one at a time (one in flight): the third opens the circuit.
        Assert.Equal(3, await DrainAsync(worker));
        var circuit = worker.Circuit;
        Assert.Equal(CircuitState.Open, circuit.State);
        Assert.Equal(3, circuit.ConsecutiveFailures);
        Assert.Equal(Start, circuit.OpenedAt);
        Assert.Equal(Start + TimeSpan.FromSeconds(30), circuit.RetryAt);
        Assert.Equal(3, _receiver.Requests.Count);

        // While open: everything is due, nothing is sent, no attempt is used up.
        _clock.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(0, await DrainAsync(worker));
        Assert.Equal(3, _receiver.Requests.Count);
        Assert.Equal(0, (await _store.GetAsync("k-004"))!.Attempts);

        // Cool-down over: exactly one probe; it fails, the circuit reopens for twice as long.
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await worker.DeliverDueAsync());
        Assert.Equal(0, await DrainAsync(worker));
        Assert.Equal(4, _receiver.Requests.Count);
        circuit = worker.Circuit;
        Assert.Equal(CircuitState.Open, circuit.State);
        Assert.Equal(TimeSpan.FromSeconds(60), circuit.CoolDown);
        Assert.Equal(_clock.GetUtcNow() + TimeSpan.FromSeconds(60), circuit.RetryAt);
        Assert.Equal(2, circuit.Openings);

        _clock.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(0, await DrainAsync(worker));
        Assert.Equal(4, _receiver.Requests.Count);

        // The target is back: one probe succeeds, the circuit closes, the rest flows.
        _receiver.Behave = _ => ReceiverBehavior.Ok;
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await worker.DeliverDueAsync());
        circuit = worker.Circuit;
        Assert.Equal(CircuitState.Closed, circuit.State);
        Assert.Equal(0, circuit.ConsecutiveFailures);
        Assert.Null(circuit.OpenedAt);
        Assert.Equal(TimeSpan.FromSeconds(30), circuit.CoolDown);
        Assert.Equal(4, await DrainAsync(worker));
        var states = await Task.WhenAll(ids.Select(id => _store.GetAsync(id)));
        Assert.All(states, s => Assert.Equal(DeliveryStatus.Delivered, s!.Status));
        Assert.Equal(9, states.Sum(s => s!.TotalAttempts)); // the 4 attempts that failed and the 5 that delivered; none while open
        Assert.Equal(5, _receiver.Acknowledged.Count);
        Assert.Equal(9, _receiver.Requests.Count);
        AssertReceiverOracle(ids);
    }

    [Fact]
    public async Task Retry_after_as_an_http_date_is_a_lower_bound_and_capped()
    {
        var options = Options() with { RetryAfterMax = TimeSpan.FromMinutes(10) };
        var worker = Worker(options);
        await EnqueueAsync(2, "r");
        var date = (Start + TimeSpan.FromSeconds(300)).ToString("R", CultureInfo.InvariantCulture);
        _receiver.Behave = id => id == "r-001" ? new ReceiverBehavior.Answer(503, date) : new ReceiverBehavior.Answer(429, "86400");
        Assert.Equal(2, await DrainAsync(worker));
        Assert.Equal(Start + TimeSpan.FromSeconds(300), (await _store.GetAsync("r-001"))!.NextAttemptAt);
        Assert.Equal(Start + TimeSpan.FromMinutes(10), (await _store.GetAsync("r-002"))!.NextAttemptAt);
    }
}
