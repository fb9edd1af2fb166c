using Showrunner.Runtime.Outbox;
using Showrunner.Server.Api;
using Showrunner.Storage;

namespace Showrunner.Server.Hosting;

/// <summary>
/// Runs the outbox worker over the store's outbox with a real <see cref="WebhookDeliverer"/>, when
/// a webhook URL is configured (<c>Showrunner:Outbox:WebhookUrl</c> or <c>SHOWRUNNER_WEBHOOK_URL</c>).
/// Without one nothing is delivered: grants stay pending in the outbox, and are delivered once the
/// server is restarted with a URL (docs/webhooks.md, "Running the outbox").
/// </summary>
/// <remarks>
/// Registered after the ingest service, so the host stops it first: the worker's last outcomes
/// are recorded before the ingest service closes the store. On stop, attempts in flight may finish
/// for <see cref="DrainTimeout"/> (or until the host's own shutdown deadline, if sooner); then they
/// are cancelled and recorded as failed and retryable, due at once after the restart.
/// </remarks>
internal sealed partial class OutboxHostedService(IActionStore store, ServerOptions options, TimeProvider time, ILoggerFactory loggers,
    Runtime.Observability.ShowrunnerMetrics metrics)
    : IHostedService, IDisposable
{
    public static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(5);

    private readonly ILogger _logger = loggers.CreateLogger<OutboxHostedService>();
    private HttpClient? _http;
    private OutboxWorker? _worker;

    /// <summary>Registers the service (also for the endpoints, which show its worker's circuit) and the outbox endpoints.</summary>
    public static void AddServices(IServiceCollection services)
    {
        services.AddSingleton<OutboxHostedService>();
        services.AddHostedService(provider => provider.GetRequiredService<OutboxHostedService>());
        services.AddSingleton<OutboxEndpoints>();
    }

    public bool WebhookConfigured => options.Outbox.WebhookUrl is not null;

    /// <summary>The webhook as logs may show it (no query, no credentials), or null when delivery is off.</summary>
    public string? Target => WebhookConfigured ? OutboxOptions.Redact(options.Outbox.WebhookUrl) : null;

    /// <summary>The running worker, or null when delivery is off (or the server is not started yet).</summary>
    public OutboxWorker? Worker => Volatile.Read(ref _worker);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!WebhookConfigured)
        {
            LogDeliveryOff(_logger);
            return Task.CompletedTask;
        }
        _http = WebhookDeliverer.CreateHttpClient(options.Outbox);
        var deliverer = new WebhookDeliverer(options.Outbox, _http, time);
        var worker = new OutboxWorker(options.Outbox, store.Outbox, deliverer, time, loggers.CreateLogger<OutboxWorker>(), metrics);
        // The worker logs its effective options once (the secret only as its length).
        worker.Start();
        Volatile.Write(ref _worker, worker);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var worker = Interlocked.Exchange(ref _worker, null);
        if (worker is null)
        {
            return;
        }
        using var drain = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        drain.CancelAfter(DrainTimeout);
        await worker.StopAsync(drain.Token).ConfigureAwait(false);
        await worker.DisposeAsync().ConfigureAwait(false);
    }

    public void Dispose() => _http?.Dispose();

    [LoggerMessage(EventId = 5100, Level = LogLevel.Warning,
        Message = "Outbox delivery is off: no webhook URL is configured (Showrunner:Outbox:WebhookUrl or SHOWRUNNER_WEBHOOK_URL); grants stay pending in the outbox")]
    private static partial void LogDeliveryOff(ILogger logger);
}
