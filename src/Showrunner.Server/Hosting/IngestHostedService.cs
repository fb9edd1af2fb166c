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
    Showrunner.Runtime.Ledger.LedgerIntegrity integrity, LedgerKeyHolder ledgerKey, IHostApplicationLifetime lifetime, ILogger<IngestHostedService> logger) : IHostedService
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
            await _start.ConfigureAwait(false);
        }
        await pipeline.DisposeAsync().ConfigureAwait(false);
        store.Dispose();
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Critical, Message = "Rebuilding state failed; stopping")]
    private static partial void LogStartFailed(ILogger logger, Exception exception);
}
