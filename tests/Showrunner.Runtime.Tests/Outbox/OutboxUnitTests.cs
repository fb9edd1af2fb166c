using System.Text;
using Showrunner.Runtime.Outbox;
using Showrunner.Storage.Memory;
using Showrunner.Storage.Outbox;
using Xunit.Abstractions;

namespace Showrunner.Runtime.Tests.Outbox;

[Trait("Category", "Unit")]
public sealed class RetryScheduleTests(ITestOutputHelper output)
{
    [Fact]
    public void Every_delay_lies_in_zero_to_min_of_cap_and_base_times_two_to_the_n()
    {
        const long seed = 20261122;
        output.WriteLine($"seed {seed}");
        var schedule = new RetrySchedule(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10), seed);
        for (int n = 1; n <= 40; n++)
        {
            var bound = TimeSpan.FromTicks(Math.Min(TimeSpan.FromMinutes(10).Ticks, TimeSpan.FromSeconds(1).Ticks * (long)Math.Min(1L << 40, 1L << (n - 1))));
            Assert.Equal(bound, schedule.UpperBound(n));
            for (int g = 0; g < 200; g++)
            {
                var delay = schedule.Delay($"grant-{g}", n);
                Assert.InRange(delay, TimeSpan.Zero, bound);
            }
        }
        Assert.Equal(TimeSpan.FromSeconds(1), schedule.UpperBound(1));
        Assert.Equal(TimeSpan.FromSeconds(512), schedule.UpperBound(10));
        Assert.Equal(TimeSpan.FromMinutes(10), schedule.UpperBound(11));
        Assert.Equal(TimeSpan.FromMinutes(10), schedule.UpperBound(int.MaxValue));
    }

    [Fact]
    public void The_same_seed_gives_the_same_schedule_and_another_seed_another()
    {
        var a = new RetrySchedule(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10), 7);
        var b = new RetrySchedule(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10), 7);
        var c = new RetrySchedule(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10), 8);
        var first = Enumerable.Range(1, 12).Select(n => a.Delay("g-1", n)).ToList();
        Assert.Equal(first, Enumerable.Range(1, 12).Select(n => b.Delay("g-1", n)));
        Assert.NotEqual(first, Enumerable.Range(1, 12).Select(n => c.Delay("g-1", n)));
        // Golden values, computed independently (docs/webhooks.md gives the formula):
        //   u = first 8 bytes, little-endian, of SHA-256(seed as int64 LE ‖ n as int32 LE ‖ UTF-8 grant id) >> 11
        //   delay ticks = floor(u / 2^53 · (bound ticks + 1))
        // A change of the draw changes every deployment's schedule, so it is pinned.
        Assert.Equal([5158955L, 4192726L, 35874050L, 60791149L], first.Take(4).Select(d => d.Ticks));
    }

    [Fact]
    public void The_jitter_is_spread_over_the_whole_range()
    {
        // Full jitter: over many grants the mean is near half the bound, and both ends are reached.
        var schedule = new RetrySchedule(TimeSpan.FromSeconds(8), TimeSpan.FromMinutes(10), 1);
        var delays = Enumerable.Range(0, 4_000).Select(i => schedule.Delay($"g-{i}", 1).TotalSeconds).ToList();
        Assert.InRange(delays.Average(), 3.8, 4.2);
        Assert.InRange(delays.Min(), 0, 0.1);
        Assert.InRange(delays.Max(), 7.9, 8);
    }
}

[Trait("Category", "Unit")]
public sealed class WebhookSignatureTests
{
    private const string Secret = "example-secret-example-secret-0123";
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"grant_id":"g-42","reward":"gem"}""");
    private static readonly DateTimeOffset At = DateTimeOffset.FromUnixTimeSeconds(1795867200);

    [Fact]
    public void The_documented_example_matches_an_independent_computation()
    {
        // docs/webhooks.md; computed with: printf '%s' '1795867200.{"grant_id":"g-42","reward":"gem"}' | openssl dgst -sha256 -hmac "$SECRET"
        Assert.Equal("sha256=bc7b6ab0829dc4540e1576a85db1573e98793cfbcbdb08270d953abd4ff994fe", WebhookSignature.Compute(Secret, 1795867200, Body));
    }

    [Fact]
    public void Verify_accepts_a_fresh_signature_and_refuses_replays_tampering_and_garbage()
    {
        var signature = WebhookSignature.Compute(Secret, At.ToUnixTimeSeconds(), Body);
        var tolerance = TimeSpan.FromMinutes(5);
        Assert.Equal(SignatureCheck.Valid, WebhookSignature.Verify(Secret, "1795867200", signature, Body, At + TimeSpan.FromMinutes(5), tolerance));
        Assert.Equal(SignatureCheck.OutsideTolerance, WebhookSignature.Verify(Secret, "1795867200", signature, Body, At + TimeSpan.FromSeconds(301), tolerance));
        Assert.Equal(SignatureCheck.OutsideTolerance, WebhookSignature.Verify(Secret, "1795867200", signature, Body, At - TimeSpan.FromSeconds(301), tolerance));
        var tampered = (byte[])Body.Clone();
        tampered[^3] ^= 1;
        Assert.Equal(SignatureCheck.Mismatch, WebhookSignature.Verify(Secret, "1795867200", signature, tampered, At, tolerance));
        Assert.Equal(SignatureCheck.Mismatch, WebhookSignature.Verify(Secret, "1795867201", signature, Body, At, tolerance));
        Assert.Equal(SignatureCheck.Mismatch, WebhookSignature.Verify(Secret + "x", "1795867200", signature, Body, At, tolerance));
        Assert.Equal(SignatureCheck.Mismatch, WebhookSignature.Verify(Secret, "1795867200", signature.ToUpperInvariant(), Body, At, tolerance));
        Assert.Equal(SignatureCheck.Mismatch, WebhookSignature.Verify(Secret, "1795867200", null, Body, At, tolerance));
        Assert.Equal(SignatureCheck.MalformedTimestamp, WebhookSignature.Verify(Secret, "-5", signature, Body, At, tolerance));
        Assert.Equal(SignatureCheck.MalformedTimestamp, WebhookSignature.Verify(Secret, null, signature, Body, At, tolerance));
    }
}

[Trait("Category", "Unit")]
public sealed class OutboxOptionsTests
{
    private static readonly OutboxOptions Good = new() { WebhookUrl = "https://inventory.example/hooks/grants?token=abc", WebhookSecret = new string('s', 32) };

    [Fact]
    public void Defaults_with_a_url_and_a_secret_are_valid()
    {
        Assert.Empty(Good.Validate());
        Assert.Equal(TimeSpan.FromSeconds(10), Good.AttemptTimeout);
        Assert.Equal(12, Good.MaxAttempts);
        Assert.Equal(8, Good.MaxInFlight);
    }

    [Theory]
    [InlineData(null, "WebhookUrl is not set")]
    [InlineData("ftp://inventory.example/", "WebhookUrl = ftp://inventory.example/: must be an absolute http or https URL.")]
    [InlineData("inventory.example/hooks", "WebhookUrl = (not a URL): must be an absolute http or https URL.")]
    [InlineData("https://user:pw@inventory.example/", "WebhookUrl = https://inventory.example/: must not carry user credentials")]
    public void A_bad_url_is_refused_with_a_message_that_names_it(string? url, string message)
    {
        var error = Assert.Single((Good with { WebhookUrl = url }).Validate());
        Assert.StartsWith(message, error, StringComparison.Ordinal);
        Assert.DoesNotContain("pw", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Limits_are_enforced_and_named()
    {
        var errors = (Good with
        {
            WebhookSecret = "short",
            AttemptTimeout = TimeSpan.FromMinutes(6),
            MaxAttempts = 0,
            MaxInFlight = 5_000,
            BackoffCap = TimeSpan.FromMilliseconds(1),
            CircuitFailureThreshold = 0,
            ClaimDuration = TimeSpan.FromSeconds(5),
        }).Validate();
        Assert.Contains("WebhookSecret is 5 bytes: must be between 32 and 1024 bytes (UTF-8).", errors);
        Assert.Contains("AttemptTimeout = 00:06:00: must be between 00:00:00.0100000 and 00:05:00.", errors);
        Assert.Contains("MaxAttempts = 0: must be between 1 and 1000.", errors);
        Assert.Contains("MaxInFlight = 5000: must be between 1 and 1024.", errors);
        Assert.Contains("BackoffCap = 00:00:00.0010000: must be between 00:00:01 and 1.00:00:00.", errors);
        Assert.Contains("CircuitFailureThreshold = 0: must be between 1 and 10000.", errors);
        Assert.Contains(errors, e => e.StartsWith("ClaimDuration = 00:00:05: must be longer than AttemptTimeout", StringComparison.Ordinal));
        Assert.Equal(7, errors.Count);
    }

    [Fact]
    public void The_description_for_the_log_carries_neither_the_secret_nor_the_query()
    {
        var line = (Good with { WebhookSecret = "a-secret-that-must-never-be-logged-0123" }).Describe();
        Assert.DoesNotContain("never-be-logged", line, StringComparison.Ordinal);
        Assert.DoesNotContain("token", line, StringComparison.Ordinal);
        Assert.Contains("url=https://inventory.example/hooks/grants secret=(39 bytes)", line, StringComparison.Ordinal);
    }

    [Fact]
    public void The_worker_refuses_invalid_options()
    {
        var error = Assert.Throws<ArgumentException>(() => new OutboxWorker(Good with { MaxInFlight = 0 }, new InMemoryOutboxStore(),
            new CountingDeliverer(new NeverDeliverer()), TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<OutboxWorker>.Instance));
        Assert.Contains("MaxInFlight = 0", error.Message, StringComparison.Ordinal);
    }

    private sealed class NeverDeliverer : IDeliverer
    {
        public string Target => "none";

        public Task<AttemptResult> DeliverAsync(DueDelivery delivery, int attempt, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}

[Trait("Category", "Unit")]
public sealed class CircuitBreakerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Opens_at_the_threshold_lets_one_probe_through_and_doubles_the_cool_down_up_to_the_max()
    {
        var breaker = new CircuitBreaker("t", 2, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(25));
        Assert.Null(breaker.OnFailure(T0, wasProbe: false));
        Assert.True(breaker.TryAcquire(T0, out bool probe));
        Assert.False(probe);
        Assert.Equal(TimeSpan.FromSeconds(10), breaker.OnFailure(T0, wasProbe: false));
        Assert.False(breaker.TryAcquire(T0 + TimeSpan.FromSeconds(9), out _));

        Assert.True(breaker.TryAcquire(T0 + TimeSpan.FromSeconds(10), out probe));
        Assert.True(probe);
        Assert.Equal(CircuitState.HalfOpen, breaker.GetSnapshot().State);
        Assert.False(breaker.TryAcquire(T0 + TimeSpan.FromSeconds(10), out _)); // one probe at a time
        Assert.Equal(TimeSpan.FromSeconds(20), breaker.OnFailure(T0 + TimeSpan.FromSeconds(11), wasProbe: true));
        Assert.Equal(T0 + TimeSpan.FromSeconds(31), breaker.RetryAt);

        Assert.True(breaker.TryAcquire(T0 + TimeSpan.FromSeconds(31), out probe));
        Assert.Equal(TimeSpan.FromSeconds(25), breaker.OnFailure(T0 + TimeSpan.FromSeconds(31), wasProbe: true)); // capped

        Assert.True(breaker.TryAcquire(T0 + TimeSpan.FromSeconds(56), out probe));
        breaker.AbandonProbe();
        Assert.True(breaker.TryAcquire(T0 + TimeSpan.FromSeconds(56), out probe));
        Assert.True(breaker.OnSuccess(wasProbe: true));
        var snapshot = breaker.GetSnapshot();
        Assert.Equal(new CircuitSnapshot("t", CircuitState.Closed, 0, null, null, TimeSpan.FromSeconds(10), 3), snapshot);
    }

    [Fact]
    public void A_success_resets_the_count_of_consecutive_failures()
    {
        var breaker = new CircuitBreaker("t", 3, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10));
        breaker.OnFailure(T0, false);
        breaker.OnFailure(T0, false);
        Assert.False(breaker.OnSuccess(false));
        breaker.OnFailure(T0, false);
        breaker.OnFailure(T0, false);
        Assert.Equal(CircuitState.Closed, breaker.GetSnapshot().State);
        Assert.NotNull(breaker.OnFailure(T0, false));
        Assert.Equal(CircuitState.Open, breaker.GetSnapshot().State);
    }
}
