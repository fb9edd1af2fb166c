using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Showrunner.Runtime.Observability;
using Showrunner.Runtime.Outbox;
using Showrunner.Storage.Memory;
using Showrunner.Storage.Outbox;
using Showrunner.Testing;

namespace Showrunner.Runtime.Tests.Observability;

/// <summary>The outbox worker counts every attempt by outcome and traces each one as a deliver span carrying the grant id.</summary>
[Trait("Category", "Integration")]
public sealed class OutboxObservabilityTests
{
    /// <summary>Answers by grant id: "ok-…" delivered (200), "refused-…" permanently refused (400), others retryable (503).</summary>
    private sealed class ScriptedDeliverer : IDeliverer
    {
        public string Target => "scripted";

        public Task<AttemptResult> DeliverAsync(DueDelivery delivery, int attempt, CancellationToken cancellationToken) => Task.FromResult(
            delivery.GrantId.StartsWith("ok-", StringComparison.Ordinal) ? new AttemptResult(AttemptResultKind.Delivered, 200, null, null)
            : delivery.GrantId.StartsWith("refused-", StringComparison.Ordinal) ? new AttemptResult(AttemptResultKind.Permanent, 400, "HTTP 400", null)
            : new AttemptResult(AttemptResultKind.Retryable, 503, "HTTP 503", null));
    }

    [Fact]
    public async Task Attempts_are_counted_by_outcome_and_traced_with_their_grant_id()
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero));
        var store = new InMemoryOutboxStore();
        foreach (string id in new[] { "ok-1", "ok-2", "refused-1", "flaky-1" })
        {
            Assert.Equal(EnqueueResult.Added, await store.EnqueueAsync(id, Encoding.UTF8.GetBytes("{}"), clock.GetUtcNow()));
        }
        using var metrics = new ShowrunnerMetrics();
        var attempts = new ConcurrentDictionary<string, long>();
        using var meters = new MeterListener();
        meters.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument, metrics.OutboxAttempts))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        meters.SetMeasurementEventCallback<long>((_, value, tags, _) => attempts.AddOrUpdate((string)tags[0].Value!, value, (_, n) => n + value));
        meters.Start();
        var spans = new ConcurrentBag<Activity>();
        using var tracer = new ActivityListener
        {
            ShouldListenTo = source => source.Name == ShowrunnerActivities.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        ActivitySource.AddActivityListener(tracer);

        var options = new OutboxOptions
        {
            WebhookUrl = "http://127.0.0.1:9/unused",
            WebhookSecret = new string('s', 32),
            MaxAttempts = 3,
            CircuitFailureThreshold = 1_000,
            BackoffBase = TimeSpan.FromSeconds(1),
            BackoffCap = TimeSpan.FromSeconds(1),
        };
        await using var worker = new OutboxWorker(options, store, new ScriptedDeliverer(), clock, NullLogger<OutboxWorker>.Instance, metrics);
        Assert.Equal(4, await worker.DeliverDueAsync());
        // flaky-1 fails twice more (after its backoff) and is dead-lettered at attempt 3.
        for (int i = 0; i < 2; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(2));
            Assert.Equal(1, await worker.DeliverDueAsync());
        }

        Assert.Equal(2, attempts["delivered"]);
        Assert.Equal(2, attempts["failed"]);
        Assert.Equal(2, attempts["dead_lettered"]);
        var mine = spans.Where(s => s.OperationName == ShowrunnerActivities.Spans.Deliver && s.Kind == ActivityKind.Producer).ToList();
        var flaky = mine.Where(s => (string?)s.GetTagItem(ShowrunnerActivities.Tags.GrantId) == "flaky-1").OrderBy(s => s.GetTagItem(ShowrunnerActivities.Tags.Attempt)).ToList();
        Assert.Equal([1, 2, 3], flaky.Select(s => (int)s.GetTagItem(ShowrunnerActivities.Tags.Attempt)!));
        Assert.Equal(["failed", "failed", "dead_lettered"], flaky.Select(s => (string)s.GetTagItem(ShowrunnerActivities.Tags.Outcome)!));
        Assert.All(flaky, s => Assert.Equal(ActivityStatusCode.Error, s.Status));
        var delivered = Assert.Single(mine, s => (string?)s.GetTagItem(ShowrunnerActivities.Tags.GrantId) == "ok-1");
        Assert.Equal(("delivered", 200, ActivityStatusCode.Unset),
            ((string)delivered.GetTagItem(ShowrunnerActivities.Tags.Outcome)!, (int)delivered.GetTagItem(ShowrunnerActivities.Tags.StatusCode)!, delivered.Status));
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task A_webhook_request_carries_the_deliver_spans_trace_context()
    {
        const string secret = "test-secret-0123456789-abcdefghijklmnop";
        await using var receiver = await Outbox.WebhookReceiver.StartAsync(secret);
        var spans = new ConcurrentBag<Activity>();
        using var tracer = new ActivityListener
        {
            ShouldListenTo = source => source.Name == ShowrunnerActivities.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        ActivitySource.AddActivityListener(tracer);
        var store = new InMemoryOutboxStore();
        string grantId = "traced-" + Guid.NewGuid().ToString("N");
        Assert.Equal(EnqueueResult.Added, await store.EnqueueAsync(grantId, Encoding.UTF8.GetBytes("{}"), DateTimeOffset.UtcNow));
        var options = new OutboxOptions { WebhookUrl = receiver.Url, WebhookSecret = secret, AttemptTimeout = TimeSpan.FromSeconds(10) };
        using var http = WebhookDeliverer.CreateHttpClient(options);
        await using var worker = new OutboxWorker(options, store, new WebhookDeliverer(options, http, TimeProvider.System), TimeProvider.System,
            NullLogger<OutboxWorker>.Instance);
        Assert.Equal(1, await worker.DeliverDueAsync());

        var request = Assert.Single(receiver.Requests, r => r.GrantId == grantId);
        var span = Assert.Single(spans, s => (string?)s.GetTagItem(ShowrunnerActivities.Tags.GrantId) == grantId);
        Assert.NotNull(request.TraceParent);
        Assert.StartsWith($"00-{span.TraceId}-", request.TraceParent, StringComparison.Ordinal);
    }
}
