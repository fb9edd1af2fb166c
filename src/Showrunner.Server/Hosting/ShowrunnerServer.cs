using Showrunner.Runtime;
using Showrunner.Runtime.Observability;
using Showrunner.Server.Api;
using Showrunner.Server.Observability;
using Showrunner.Server.Security;
using Showrunner.Storage;

namespace Showrunner.Server.Hosting;

/// <summary>
/// The server's composition root (docs/internals/runtime.md, "Composition root"): the runtime
/// through <see cref="ShowrunnerRuntime.AddShowrunnerRuntime"/>, then the server's own parts:
/// metrics collector, endpoints, security, hosted services, dashboard and demo mode.
/// </summary>
internal static class ShowrunnerServer
{
    /// <summary>
    /// Registers every service the server runs. Hosted services are registered in their start
    /// order; the host stops them in reverse, so the order below is the shutdown contract (the
    /// dashboard and demo first, ingest last, before the store closes).
    /// </summary>
    public static WebApplicationBuilder AddShowrunner(this WebApplicationBuilder builder, ServerOptions options)
    {
        var services = builder.Services;
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(options);
        // Metrics (docs/observability.md): the host's instruments and the in-process collector /metrics and the dashboard read.
        services.AddSingleton(provider => new ShowrunnerMetrics(provider.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.AddSingleton<MetricsCollector>();

        Func<Runtime.Rollouts.RolloutAlert, Task>? alert = null;
        if (options.AlertWebhookUrl is { } alertUrl)
        {
            alert = new AlertWebhook(alertUrl, new HttpClient()).SendAsync;
        }
        services.AddShowrunnerRuntime(new RuntimeSettings
        {
            // The store: the one line that names an implementation (docs/internals/storage.md, "Adding a store").
            StoreProvider = new Showrunner.Storage.Sqlite.SqliteStoreProvider(),
            DataDirectory = options.DataDirectory,
            ReadConnections = options.ReadConnections,
            Ingest = options.Ingest,
            Approvals = options.Approvals,
            RolloutAlert = alert,
        });

        services.AddSingleton<RolloutEndpoints>();
        services.AddSingleton<FlagsEndpoints>();
        services.AddSingleton<AuditEndpoints>();
        services.AddSingleton<ApprovalsEndpoints>();
        services.AddSingleton<LedgerEndpoints>();
        services.AddSingleton<PlayersEndpoints>();
        services.AddSingleton<LeaderboardEndpoints>();
        services.AddSingleton<GrantsEndpoints>();
        services.AddSingleton<ActionsEndpoints>();
        services.AddSingleton<EventsEndpoints>();
        services.AddSingleton<ReleasesEndpoints>();
        // Principals: keys (read from the store once it is open), player tokens (key from the data directory), rate limits.
        services.AddSingleton(provider => new KeyRing(provider.GetRequiredService<IActionStore>().Keys, provider.GetRequiredService<TimeProvider>(),
            provider.GetRequiredService<ILogger<KeyRing>>()));
        services.AddSingleton<TokenKeyHolder>();
        services.AddSingleton(provider => new PlayerTokens(provider.GetRequiredService<TokenKeyHolder>().Key, provider.GetRequiredService<TimeProvider>()));
        services.AddSingleton(provider => new RateLimiter(options.Security.RateLimits, provider.GetRequiredService<TimeProvider>()));
        services.AddSingleton<KeyService>();
        services.AddSingleton<KeysEndpoints>();
        services.AddSingleton<TokensEndpoints>();
        services.AddHostedService<IngestHostedService>();
        services.AddHostedService<LifecycleHostedService>();
        services.AddHostedService<CheckpointHostedService>();
        services.AddHostedService<RolloutHostedService>();
        OutboxHostedService.AddServices(services); // after ingest: stopped before the store closes
        services.AddSingleton<OutboxGaugeService>(); // likewise
        services.AddHostedService(provider => provider.GetRequiredService<OutboxGaugeService>());
        // The operator dashboard (sampled once for every viewer) and demo mode; registered last, so stopped first.
        services.AddSingleton<Dashboard.LedgerSelfCheck>();
        services.AddSingleton<Dashboard.DashboardSampler>();
        services.AddSingleton<Dashboard.DashboardEndpoints>();
        services.AddHostedService<Dashboard.DashboardHostedService>();
        Demo.DemoHostedService.AddServices(services, options.Demo);
        return builder;
    }
}

/// <summary>The player-token key, read from the data directory after the store opens (and locks it).</summary>
internal sealed class TokenKeyHolder
{
    private byte[]? _key;

    public byte[] Key
    {
        get => _key ?? throw new InvalidOperationException("The token key is not loaded yet.");
        set => _key = value;
    }
}
