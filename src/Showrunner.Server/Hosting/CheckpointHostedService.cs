using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.Ledger;

namespace Showrunner.Server.Hosting;

/// <summary>Signs a checkpoint every <see cref="ServerOptions.CheckpointInterval"/> (by the injected clock) when the committed ledger grew.</summary>
internal sealed partial class CheckpointHostedService(CheckpointSigner signer, IngestPipeline pipeline, ServerOptions options, TimeProvider time,
    ILogger<CheckpointHostedService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            if (pipeline.State == RuntimeState.Ready)
            {
                try
                {
                    await signer.SignIfChangedAsync().ConfigureAwait(false);
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    // Nothing was stored: the next interval signs the heads again.
                    LogSigningFailed(logger, exception);
                }
            }
            try
            {
                await Task.Delay(options.CheckpointInterval, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(EventId = 2003, Level = LogLevel.Error, Message = "Signing a ledger checkpoint failed; retrying at the next interval")]
    private static partial void LogSigningFailed(ILogger logger, Exception exception);
}
