using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Showrunner.Runtime;
using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.LiveEvents;
using Showrunner.Runtime.Releases;
using Showrunner.Runtime.Rollouts;
using Showrunner.Storage;

namespace Showrunner.Testing;

/// <summary>
/// The runtime as the server composes it (<see cref="ShowrunnerRuntime.AddShowrunnerRuntime"/>),
/// for tests and the bench: one service provider over a store from any <see cref="IStoreProvider"/>
/// (SQLite in a temp directory, or the in-memory store), with the test's clock. It opens and
/// starts what <c>IngestHostedService</c> starts (store, register, rollouts, pipeline) and, on
/// dispose, drains the pipeline before the container disposes the rest and closes the store.
/// docs/testing.md, "The runtime harness".
/// </summary>
internal sealed class RuntimeHarness : IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private IActionStore? _inner;
    private bool _pipelineResolved;

    private RuntimeHarness(ServiceProvider services, RuntimeSettings settings)
    {
        _services = services;
        Settings = settings;
    }

    public RuntimeSettings Settings { get; }

    /// <summary>The container, for anything the properties below do not name.</summary>
    public IServiceProvider Services => _services;

    /// <summary>The store the runtime uses (the wrapped one when a wrapper was given).</summary>
    public IActionStore Store => _services.GetRequiredService<IActionStore>();

    /// <summary>The store the provider created, before any wrapper.</summary>
    public IActionStore InnerStore
    {
        get
        {
            var store = Store;
            return _inner ?? store;
        }
    }

    /// <summary>The pipeline; once asked for, it is drained first on dispose.</summary>
    public IngestPipeline Pipeline
    {
        get
        {
            _pipelineResolved = true;
            return _services.GetRequiredService<IngestPipeline>();
        }
    }

    public ReleaseRegister Register => _services.GetRequiredService<ReleaseRegister>();
    public RolloutController Rollouts => _services.GetRequiredService<RolloutController>();
    public LifecycleCoordinator Coordinator => _services.GetRequiredService<LifecycleCoordinator>();

    public T Get<T>() where T : notnull => _services.GetRequiredService<T>();

    /// <summary>
    /// Composes the runtime over <paramref name="settings"/> with <paramref name="time"/> as its
    /// clock; <paramref name="wrap"/>, when given, wraps the store the provider creates (e.g. a
    /// <c>ControllableStore</c> that fails on demand); <paramref name="configure"/> registers
    /// before the root (e.g. a caller's own <c>ShowrunnerMetrics</c>, which the root then keeps).
    /// Nothing is opened yet.
    /// </summary>
    public static RuntimeHarness Create(RuntimeSettings settings, TimeProvider time, Func<IActionStore, IActionStore>? wrap = null,
        Action<IServiceCollection>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton(time);
        configure?.Invoke(services);
        services.AddShowrunnerRuntime(settings);
        RuntimeHarness? harness = null;
        if (wrap is not null)
        {
            services.Replace(ServiceDescriptor.Singleton(provider =>
            {
                var inner = provider.GetRequiredService<IStoreProvider>().CreateStore(
                    new StoreSettings { DataDirectory = settings.DataDirectory, ReadConnections = settings.ReadConnections }, time);
                harness!._inner = inner;
                return wrap(inner);
            }));
        }
        harness = new RuntimeHarness(services.BuildServiceProvider(), settings);
        return harness;
    }

    /// <summary>Opens the store with <paramref name="partitions"/> partitions (the settings' count when null).</summary>
    public StoreInfo Open(int? partitions = null) => Store.Open(partitions ?? Settings.Ingest.PartitionCount);

    /// <summary>Opens the store, puts the active release in force, restores rollouts and starts the pipeline.</summary>
    public async Task StartAsync(int? partitions = null)
    {
        Open(partitions);
        await Register.InitializeAsync(null);
        await Rollouts.InitializeAsync();
        await Pipeline.StartAsync();
    }

    /// <summary>Drains the pipeline (its final snapshot is written) before the container disposes the rest and closes the store.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_pipelineResolved)
        {
            await Pipeline.DisposeAsync();
        }
        await _services.DisposeAsync();
    }
}
