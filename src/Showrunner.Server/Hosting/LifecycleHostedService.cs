using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.LiveEvents;

namespace Showrunner.Server.Hosting;

/// <summary>Ticks the lifecycle coordinator once a second (by the injected clock) while the pipeline is ready.</summary>
internal sealed partial class LifecycleHostedService(LifecycleCoordinator coordinator, IngestPipeline pipeline, TimeProvider time,
    ILogger<LifecycleHostedService> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            if (pipeline.State == RuntimeState.Ready)
            {
                try
                {
                    await coordinator.TickAsync().ConfigureAwait(false);
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    // A failed write (disk full, I/O error) is retried on the next tick: nothing was
                    // recorded, and the coordinator's view is the store's.
                    LogTickFailed(logger, exception);
                }
            }
            try
            {
                await Task.Delay(Interval, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(EventId = 2002, Level = LogLevel.Error, Message = "Recording event run transitions failed; retrying on the next tick")]
    private static partial void LogTickFailed(ILogger logger, Exception exception);
}
