using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.Ledger;

namespace Showrunner.Server.Hosting;

/// <summary>Signs a checkpoint every <see cref="ServerOptions.CheckpointInterval"/> (by the injected clock) when the committed ledger grew.</summary>
internal sealed partial class CheckpointHostedService(CheckpointSigner signer, IngestPipeline pipeline, ServerOptions options, TimeProvider time,
    Showrunner.Runtime.Observability.ShowrunnerMetrics metrics, ILogger<CheckpointHostedService> logger) : SupervisedLoop("checkpoint", metrics, time)
{
    protected override TimeSpan Interval => options.CheckpointInterval;

    protected override bool ShouldTick => pipeline.State == RuntimeState.Ready;

    // Nothing was stored when signing fails: the next interval signs the heads again.
    protected override Task TickAsync(CancellationToken stoppingToken) => signer.SignIfChangedAsync();

    protected override void LogTickFailed(Exception exception) => LogSigningFailed(logger, exception);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Error, Message = "Signing a ledger checkpoint failed; retrying at the next interval")]
    private static partial void LogSigningFailed(ILogger logger, Exception exception);
}
