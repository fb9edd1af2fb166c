using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.Releases;
using Showrunner.Storage;

namespace Showrunner.Server.Hosting;

/// <summary>
/// Puts the active release in force (loading the example release on an empty register when so
/// configured), starts the pipeline in the background — so <c>/healthz</c> answers while state is
/// rebuilt — and drains it on shutdown before the store is closed.
/// </summary>
internal sealed partial class IngestHostedService(IngestPipeline pipeline, ReleaseRegister releases, Showrunner.Runtime.Rollouts.RolloutController rollouts, ServerOptions options, IActionStore store,
    Showrunner.Runtime.Ledger.LedgerIntegrity integrity, Showrunner.Runtime.Ledger.LedgerKeyHolder ledgerKey, IHostApplicationLifetime lifetime, ILogger<IngestHostedService> logger) : IHostedService
{
    private Task? _start;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _start = Task.Run(async () =>
        {
            try
            {
                await releases.InitializeAsync(options.LoadExample ? ExampleRelease.Build : null).ConfigureAwait(false);
                await rollouts.InitializeAsync().ConfigureAwait(false);
                // Before anything appends or signs: a damaged partition is known before its first read (docs/ledger.md).
                integrity.VerifyTails(ledgerKey.Key);
                await pipeline.StartAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception exception)
            {
                LogStartFailed(logger, exception);
                lifetime.StopApplication();
            }
        }, CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_start is not null)
        {
            try
            {
                // Bounded like the rest of the stop: a start still rebuilding state only reads.
                await _start.WaitAsync(options.Ingest.StopTimeout, CancellationToken.None).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                LogStartStillRunning(logger, (long)options.Ingest.StopTimeout.TotalSeconds);
            }
        }
        await pipeline.DisposeAsync().ConfigureAwait(false);
        if (pipeline.CommitterStuck)
        {
            // A durable write that never returns (a disk that stopped answering) holds the store's
            // connection: closing it would wait as long. Ending the process now is as safe as a
            // crash, which the store is built to survive (nothing acknowledged is lost; the next
            // start replays the log tail). Documented in docs/operations.md "Stopping".
            Environment.FailFast("Showrunner: a durable write did not return within the stop timeout; ending the process without closing the store.");
        }
        store.Dispose();
    }

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "The start was still rebuilding state after {StopTimeoutSeconds} s; stopping without waiting for it")]
    private static partial void LogStartStillRunning(ILogger logger, long stopTimeoutSeconds);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Critical, Message = "Rebuilding state failed; stopping")]
    private static partial void LogStartFailed(ILogger logger, Exception exception);
}
