using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Showrunner.Runtime.Approvals;
using Showrunner.Runtime.Audit;
using Showrunner.Runtime.Flags;
using Showrunner.Runtime.Grants;
using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.Ledger;
using Showrunner.Runtime.LiveEvents;
using Showrunner.Runtime.Observability;
using Showrunner.Runtime.Releases;
using Showrunner.Runtime.Rollouts;
using Showrunner.Storage;

namespace Showrunner.Runtime;

/// <summary>What the runtime's composition root needs: the store and the runtime's own options.</summary>
public sealed record RuntimeSettings
{
    /// <summary>The kind of store: the one place a host names an implementation (docs/internals/storage.md, "Adding a store").</summary>
    public required IStoreProvider StoreProvider { get; init; }

    /// <summary>The data directory (the in-memory store ignores it).</summary>
    public required string DataDirectory { get; init; }

    /// <summary>Read connections the store keeps (<see cref="StoreSettings.ReadConnections"/>).</summary>
    public int ReadConnections { get; init; } = 4;

    public IngestOptions Ingest { get; init; } = new();

    public ApprovalOptions Approvals { get; init; } = new();

    /// <summary>Where a rollout's automatic rollback is announced (the server's alert webhook), or null for nowhere.</summary>
    public Func<RolloutAlert, Task>? RolloutAlert { get; init; }
}

/// <summary>
/// The runtime's composition root (docs/internals/runtime.md, "Composition root"): every runtime
/// singleton the server, the tests and the bench use, wired once. No ASP.NET: a host adds its own
/// parts (endpoints, hosted services) on top, and opens the store, loads the ledger key and starts
/// the pipeline in the order it needs.
/// </summary>
public static class ShowrunnerRuntime
{
    /// <summary>
    /// Registers the store (through <see cref="RuntimeSettings.StoreProvider"/>), the pipeline, the
    /// release register, the lifecycle coordinator, the ledger (integrity, signer, reader), rollouts,
    /// flags, audit, approvals and the application services. A <see cref="TimeProvider"/>, logging
    /// and <see cref="ShowrunnerMetrics"/> registered before are kept; otherwise the system clock,
    /// no logging and a fresh metrics instance are used.
    /// </summary>
    public static IServiceCollection AddShowrunnerRuntime(this IServiceCollection services, RuntimeSettings settings)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(settings);
        services.TryAddSingleton(TimeProvider.System);
        // What AddLogging would register, without the package: a host that logs has registered its own already.
        services.TryAddSingleton<ILoggerFactory, NullLoggerFactory>();
        services.TryAdd(ServiceDescriptor.Singleton(typeof(ILogger<>), typeof(Logger<>)));
        services.TryAddSingleton(provider => new ShowrunnerMetrics(provider.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.AddSingleton(settings);

        services.AddSingleton(settings.StoreProvider);
        services.AddSingleton(provider => provider.GetRequiredService<IStoreProvider>().CreateStore(
            new StoreSettings { DataDirectory = settings.DataDirectory, ReadConnections = settings.ReadConnections }, provider.GetRequiredService<TimeProvider>()));
        services.AddSingleton(provider => new IngestPipeline(settings.Ingest, provider.GetRequiredService<IActionStore>(),
            provider.GetRequiredService<TimeProvider>(), provider.GetRequiredService<ILogger<IngestPipeline>>(), provider.GetRequiredService<ShowrunnerMetrics>()));
        services.AddSingleton(provider => new ReleaseRegister(provider.GetRequiredService<IActionStore>(), provider.GetRequiredService<IngestPipeline>(),
            provider.GetRequiredService<TimeProvider>(), provider.GetRequiredService<ILogger<ReleaseRegister>>()));
        services.AddSingleton(provider => new LifecycleCoordinator(provider.GetRequiredService<IActionStore>(), provider.GetRequiredService<IngestPipeline>(),
            provider.GetRequiredService<ReleaseRegister>(), provider.GetRequiredService<TimeProvider>(), provider.GetRequiredService<ILogger<LifecycleCoordinator>>()));
        // Which partitions' ledgers are trusted: checked at start and on every read (docs/ledger.md, "Start-up tail check").
        services.AddSingleton(provider => new LedgerIntegrity(provider.GetRequiredService<IActionStore>(), settings.Ingest.PartitionCount,
            provider.GetRequiredService<TimeProvider>(), provider.GetRequiredService<ILogger<LedgerIntegrity>>(), provider.GetRequiredService<ShowrunnerMetrics>()));
        // The signing key is read from the data directory after the store opens: the host fills the holder before anything signs.
        services.AddSingleton<LedgerKeyHolder>();
        services.AddSingleton(provider => new CheckpointSigner(provider.GetRequiredService<IActionStore>(), provider.GetRequiredService<IngestPipeline>(),
            provider.GetRequiredService<LedgerKeyHolder>().Key, provider.GetRequiredService<TimeProvider>(), provider.GetRequiredService<ILogger<CheckpointSigner>>(),
            provider.GetRequiredService<LedgerIntegrity>()));
        services.AddSingleton(provider => new LedgerReader(provider.GetRequiredService<IActionStore>(), provider.GetRequiredService<CheckpointSigner>(),
            provider.GetRequiredService<LedgerIntegrity>()));
        services.AddSingleton(provider => new RolloutController(provider.GetRequiredService<IActionStore>(), provider.GetRequiredService<IngestPipeline>(),
            provider.GetRequiredService<ReleaseRegister>(), provider.GetRequiredService<TimeProvider>(), provider.GetRequiredService<ILogger<RolloutController>>(),
            provider.GetService<IAuditTrail>(), settings.RolloutAlert));
        services.AddSingleton<RolloutService>();
        services.AddSingleton(provider => new FlagBoard(provider.GetRequiredService<IActionStore>(), provider.GetRequiredService<IngestPipeline>(),
            provider.GetRequiredService<LifecycleCoordinator>(), provider.GetRequiredService<TimeProvider>(), provider.GetService<IAuditTrail>()));
        services.AddSingleton<FlagService>();
        services.AddSingleton(provider => new AuditTrail(provider.GetRequiredService<IActionStore>().Audit,
            provider.GetRequiredService<TimeProvider>(), provider.GetRequiredService<ILogger<AuditTrail>>()));
        services.AddSingleton<IAuditTrail>(provider => provider.GetRequiredService<AuditTrail>());
        services.AddSingleton(provider => new ApprovalService(provider.GetRequiredService<IActionStore>().Approvals,
            provider.GetRequiredService<IAuditTrail>(), settings.Approvals, provider.GetRequiredService<TimeProvider>(),
            provider.GetRequiredService<ILogger<ApprovalService>>()));
        services.AddSingleton<GrantService>();
        services.AddSingleton<ReleaseService>();
        return services;
    }
}
