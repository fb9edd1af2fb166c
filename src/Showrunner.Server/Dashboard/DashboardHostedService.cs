using Showrunner.Runtime.Ingest;
using Showrunner.Server.Hosting;

namespace Showrunner.Server.Dashboard;

/// <summary>
/// Takes the dashboard's samples every <see cref="DashboardOptions.SampleInterval"/> (none when it
/// is 0: then requests sample) and runs the ledger self-check every
/// <see cref="DashboardOptions.LedgerCheckInterval"/> once the pipeline is ready. A failed sample
/// is logged and the next one is taken on time; it never stops the server.
/// </summary>
internal sealed partial class DashboardHostedService(DashboardSampler sampler, LedgerSelfCheck ledgerCheck, IngestPipeline pipeline, ServerOptions options,
    TimeProvider time, Showrunner.Runtime.Observability.ShowrunnerMetrics metrics, ILogger<DashboardHostedService> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(SampleLoopAsync(stoppingToken), LedgerCheckLoopAsync(stoppingToken));

    private async Task SampleLoopAsync(CancellationToken stoppingToken)
    {
        var interval = options.Dashboard.SampleInterval;
        if (interval == TimeSpan.Zero)
        {
            return;
        }
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await sampler.SampleAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                metrics.WorkerFaults.Add(1, new KeyValuePair<string, object?>("worker", "dashboard"));
                LogSampleFailed(logger, exception);
            }
            if (!await DelayAsync(interval, stoppingToken).ConfigureAwait(false))
            {
                return;
            }
        }
    }

    private async Task LedgerCheckLoopAsync(CancellationToken stoppingToken)
    {
        // The first check soon after start, then at the interval.
        var wait = TimeSpan.FromSeconds(2);
        while (await DelayAsync(wait, stoppingToken).ConfigureAwait(false))
        {
            wait = options.Dashboard.LedgerCheckInterval;
            if (pipeline.State != RuntimeState.Ready)
            {
                wait = TimeSpan.FromSeconds(2);
                continue;
            }
            // The check reads the store (synchronous SQLite calls): off the host's threads. It catches its own read failures.
            try
            {
                await Task.Run(ledgerCheck.Run, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                // Supervised: anything the check did not catch itself is counted and logged, and the next check runs on time.
                metrics.WorkerFaults.Add(1, new KeyValuePair<string, object?>("worker", "ledger_check"));
                LogLedgerCheckFailed(logger, exception);
            }
        }
    }

    private async Task<bool> DelayAsync(TimeSpan delay, CancellationToken stoppingToken)
    {
        try
        {
            await Task.Delay(delay, time, stoppingToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    [LoggerMessage(EventId = 8100, Level = LogLevel.Error, Message = "Dashboard: taking a sample failed; the next one is taken at the interval")]
    private static partial void LogSampleFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 8103, Level = LogLevel.Error, Message = "Dashboard: the ledger self-check failed unexpectedly; the next one runs at the interval")]
    private static partial void LogLedgerCheckFailed(ILogger logger, Exception exception);
}
