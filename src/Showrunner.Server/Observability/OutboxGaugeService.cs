using Showrunner.Runtime.Observability;
using Showrunner.Storage;

namespace Showrunner.Server.Observability;

/// <summary>
/// Keeps the outbox gauges (backlog, dead letters, oldest pending age) fresh: reads the store's
/// counts every <see cref="RefreshInterval"/> in the background and serves the last reading from
/// memory, so a scrape never waits on the store. Runs whether or not a webhook is configured:
/// without one the backlog only grows, which is exactly what an operator must see.
/// </summary>
internal sealed partial class OutboxGaugeService(IActionStore store, ShowrunnerMetrics metrics, TimeProvider time, ILogger<OutboxGaugeService> logger)
    : Hosting.SupervisedLoop("outbox_gauges", metrics, time)
{
    /// <summary>How often the counts are read. The count is linear in the outbox table (docs/webhooks.md); every few seconds keeps that cost negligible.</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(5);

    private Storage.Outbox.OutboxCounts? _counts;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        Metrics.ObserveOutbox(Gauges);
        return base.StartAsync(cancellationToken);
    }

    /// <summary>Reads the counts now (also used by tests that cannot wait for the next refresh).</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        Volatile.Write(ref _counts, await store.Outbox.CountsAsync(cancellationToken).ConfigureAwait(false));
    }

    private OutboxGauges? Gauges()
    {
        if (Volatile.Read(ref _counts) is not { } counts)
        {
            return null;
        }
        double age = counts.OldestPendingEnqueuedAt is { } oldest ? Math.Max(0, (Time.GetUtcNow() - oldest).TotalSeconds) : 0;
        return new OutboxGauges(counts.Pending, counts.DeadLettered, age);
    }

    protected override TimeSpan Interval => RefreshInterval;

    protected override bool ShouldTick => true;

    protected override Task TickAsync(CancellationToken stoppingToken) => RefreshAsync(stoppingToken);

    // The gauges keep their last reading; a store failure is logged where it matters too.
    protected override void LogTickFailed(Exception exception) => LogRefreshFailed(logger, exception);

    [LoggerMessage(EventId = 7000, Level = LogLevel.Warning, Message = "The outbox gauges could not be refreshed; they show the last reading")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception);
}
