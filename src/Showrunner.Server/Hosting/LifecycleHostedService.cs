using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.LiveEvents;

namespace Showrunner.Server.Hosting;

/// <summary>Ticks the lifecycle coordinator once a second (by the injected clock) while the pipeline is ready.</summary>
internal sealed partial class LifecycleHostedService(LifecycleCoordinator coordinator, IngestPipeline pipeline, TimeProvider time,
    Showrunner.Runtime.Observability.ShowrunnerMetrics metrics, ILogger<LifecycleHostedService> logger) : SupervisedLoop("lifecycle", metrics, time)
{
    protected override TimeSpan Interval { get; } = TimeSpan.FromSeconds(1);

    protected override bool ShouldTick => pipeline.State == RuntimeState.Ready;

    // A failed write (disk full, I/O error) is retried on the next tick: nothing was recorded, and
    // the coordinator's view is the store's.
    protected override Task TickAsync(CancellationToken stoppingToken) => coordinator.TickAsync();

    protected override void LogTickFailed(Exception exception) => LogTickFailed(logger, exception);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Error, Message = "Recording event run transitions failed; retrying on the next tick")]
    private static partial void LogTickFailed(ILogger logger, Exception exception);
}
