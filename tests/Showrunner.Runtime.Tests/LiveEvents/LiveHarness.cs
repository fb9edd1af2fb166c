using System.Text;
using Showrunner.Core.Actions;
using Showrunner.Core.Ledger;
using Showrunner.Core.Rules.Bundle;
using Showrunner.Core.Rules.Syntax;
using Showrunner.Runtime;
using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.LiveEvents;
using Showrunner.Runtime.Releases;
using Showrunner.Storage;
using Showrunner.Storage.Sqlite;
using Showrunner.Testing;

namespace Showrunner.Runtime.Tests.LiveEvents;

/// <summary>
/// The real runtime on a real SQLite data directory with a manual clock, composed by
/// <see cref="RuntimeHarness"/>: store, pipeline, release register, rollouts and lifecycle
/// coordinator, with one release active. Restart disposes everything and
/// opens the same directory again.
/// </summary>
internal sealed class LiveHarness : IAsyncDisposable
{
    public static readonly DateTimeOffset Start = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _directory = new();
    private readonly int _partitions;
    private readonly IngestOptions _options;
    private RuntimeHarness _runtime = null!;

    private LiveHarness(int partitions, IngestOptions? options)
    {
        _partitions = partitions;
        _options = options ?? new IngestOptions { PartitionCount = partitions, ExecutorCount = 2 };
    }

    public ManualClock Clock { get; } = new(Start);
    public string DataDirectory => _directory.Path;
    public SqliteActionStore Store { get; private set; } = null!;
    public IActionStore StoreUsed { get; private set; } = null!;
    public IngestPipeline Pipeline { get; private set; } = null!;
    public ReleaseRegister Register { get; private set; } = null!;
    public LifecycleCoordinator Coordinator { get; private set; } = null!;
    public Showrunner.Runtime.Rollouts.RolloutController Rollouts { get; private set; } = null!;
    public string ReleaseId { get; private set; } = "";

    /// <summary>The runtime's one audit trail (the rollout controller writes to it, as in the server).</summary>
    public Showrunner.Runtime.Audit.AuditTrail Audit => _runtime.Get<Showrunner.Runtime.Audit.AuditTrail>();

    /// <summary>The composed runtime, for services the properties above do not name.</summary>
    public RuntimeHarness Runtime => _runtime;

    /// <summary>Opens a new data directory with <paramref name="source"/> as the active release.</summary>
    public static async Task<LiveHarness> StartAsync(string source, int partitions = 4, IngestOptions? options = null, Func<IActionStore, IActionStore>? wrap = null)
    {
        var harness = new LiveHarness(partitions, options);
        await harness.OpenAsync(wrap);
        var bundle = Build(source);
        var published = await harness.Register.PublishAsync(bundle.CanonicalBytes, bundle.Id);
        Assert.Equal(PublishStatus.Created, published.Status);
        Assert.Equal(ChangeStatus.Changed, (await harness.Register.ActivateAsync(bundle.Id, 0, null)).Status);
        harness.ReleaseId = bundle.Id;
        return harness;
    }

    public static ReleaseBundle Build(string source)
    {
        var (bundle, diagnostics) = ReleaseBundle.Build([new SourceText("r.hcl", source)]);
        Assert.True(bundle is not null, string.Join("\n", diagnostics.Select(d => d.Format())));
        return bundle;
    }

    private async Task OpenAsync(Func<IActionStore, IActionStore>? wrap)
    {
        _runtime = RuntimeHarness.Create(new RuntimeSettings
        {
            StoreProvider = new SqliteStoreProvider(),
            DataDirectory = _directory.Path,
            ReadConnections = 2,
            Ingest = _options,
        }, Clock, wrap);
        await _runtime.StartAsync(_partitions);
        Store = (SqliteActionStore)_runtime.InnerStore;
        StoreUsed = _runtime.Store;
        Pipeline = _runtime.Pipeline;
        Register = _runtime.Register;
        Rollouts = _runtime.Rollouts;
        Coordinator = _runtime.Coordinator;
    }

    /// <summary>Stops cleanly (the final snapshot is written) and opens the directory again.</summary>
    public async Task RestartAsync(Func<IActionStore, IActionStore>? wrap = null)
    {
        await CloseAsync();
        await OpenAsync(wrap);
    }

    /// <summary>Simulates a crash for the live state: opens the directory again without the final snapshot.</summary>
    public async Task CrashRestartAsync()
    {
        Pipeline.SkipFinalSnapshotForTests = true;
        await RestartAsync();
    }

    private async Task CloseAsync() => await _runtime.DisposeAsync();

    public static BatchItem Action(string id, string player, string type, string data, DateTimeOffset? at = null) =>
        BatchItem.Valid(new ValidAction(id, player, type, (at ?? Start).UtcTicks, Encoding.UTF8.GetBytes(data)));

    /// <summary>Submits a batch and asserts it completed; returns the per-action results.</summary>
    public async Task<ActionResult[]> SubmitAsync(params BatchItem[] items)
    {
        var outcome = await Pipeline.SubmitAsync(items);
        Assert.Equal(SubmitStatus.Completed, outcome.Status);
        return outcome.Results!;
    }

    /// <summary>Every ledger entry, decoded and checked, by (partition, index).</summary>
    public List<GrantEntry> Entries()
    {
        var entries = new List<GrantEntry>();
        for (int p = 0; p < _partitions; p++)
        {
            foreach (var row in Store.Ledger.ReadEntries(p, 0, int.MaxValue))
            {
                var (entry, error) = GrantEntry.Decode(row.Entry, row.PrevHash);
                Assert.True(entry is not null, error);
                Assert.Equal(row.Hash, entry.Hash);
                entries.Add(entry);
            }
        }
        return entries;
    }

    public async ValueTask DisposeAsync()
    {
        await CloseAsync();
        _directory.Dispose();
    }
}
