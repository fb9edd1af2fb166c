using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Showrunner.Core.Actions;
using Showrunner.Core.Ledger;
using Showrunner.Core.Rules.Bundle;
using Showrunner.Core.Rules.Syntax;
using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.LiveEvents;
using Showrunner.Runtime.Releases;
using Showrunner.Storage.Sqlite;
using Showrunner.Testing;

namespace Showrunner.Cli.Tests.Simulate;

/// <summary>
/// A data directory whose action log the real pipeline wrote (store, ingest pipeline, release
/// register, lifecycle coordinator, manual clock), around the window [13:00, 14:00) of 2026-11-22:
/// <list type="bullet">
/// <item>12:00, before the window: a crosses hunt's bronze (10 points), b gets 5 points.</item>
/// <item>13:10: a reaches silver (not bronze again), b bronze, c bronze and silver; d kills a slime (no hunt points).</item>
/// <item>13:15 to 13:17 hunt is paused: e's two dragons count for the other events only.</item>
/// <item>13:20: the coordinator sees together's community goal (target 10) reached and pays a to e in bulk; f joins late at 13:25.</item>
/// <item>sprint runs 12:00 to 13:30 (grace 10 minutes): its three prizes are paid at the 13:45 tick.</item>
/// <item>14:30, after the window: g crosses bronze.</item>
/// </list>
/// Built once per test class; simulation only reads it, so tests share it (a test that opens a
/// store on it works on its own <see cref="Copy"/>).
/// </summary>
public sealed class SimulationDirectory : IAsyncLifetime
{
    public const int Partitions = 4;
    public static readonly DateTimeOffset Start = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset WindowFrom = new(2026, 11, 22, 13, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset WindowTo = new(2026, 11, 22, 14, 0, 0, TimeSpan.Zero);
    public const string From = "2026-11-22T13:00:00Z";
    public const string To = "2026-11-22T14:00:00Z";

    /// <summary>The release every action was evaluated by; <paramref name="rewardFactor"/> multiplies every reward amount.</summary>
    /// <paramref name="sprintExtra"/> is added to the sprint event's body; <paramref name="extra"/> after the events.
    public static string Source(int rewardFactor = 1, string extra = "", bool withTogether = true, string sprintExtra = "") =>
        ReleaseFixtures.Source("simulation-hunt-goal-sprint", ("reward_factor", rewardFactor), ("together", withTogether), ("sprint_extra", sprintExtra), ("extra", extra));

    private readonly TempDirectory _golden = new("showrunner-simulate-golden");
    private readonly TempDirectory _scratch = new("showrunner-simulate");

    public string Path => _golden.Path;
    public string ReleaseId { get; private set; } = "";

    /// <summary>A stored release that pays 10× (<see cref="Source"/> with factor 10), never active.</summary>
    public string RicherReleaseId { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var clock = new ManualClock(Start);
        var runtime = RuntimeHarness.Create(new global::Showrunner.Runtime.RuntimeSettings
        {
            StoreProvider = new SqliteStoreProvider(),
            DataDirectory = _golden.Path,
            ReadConnections = 2,
            Ingest = new IngestOptions { PartitionCount = Partitions, ExecutorCount = 2, SnapshotEveryActions = 5 },
        }, clock);
        runtime.Open();
        var store = runtime.Store;
        var pipeline = runtime.Pipeline;
        var register = runtime.Register;
        await register.InitializeAsync(null);
        await pipeline.StartAsync();
        var coordinator = runtime.Coordinator;
        try
        {
            var (bundle, diagnostics) = ReleaseBundle.Build([new SourceText("r.hcl", Source())]);
            Assert.True(bundle is not null, string.Join("\n", diagnostics.Select(d => d.Format())));
            Assert.Equal(PublishStatus.Created, (await register.PublishAsync(bundle.CanonicalBytes, bundle.Id)).Status);
            Assert.Equal(ChangeStatus.Changed, (await register.ActivateAsync(bundle.Id, 0, null)).Status);
            ReleaseId = bundle.Id;
            // Published, never activated: a baseline for --baseline.
            var (richer, _) = ReleaseBundle.Build([new SourceText("r.hcl", Source(rewardFactor: 10))]);
            Assert.Equal(PublishStatus.Created, (await register.PublishAsync(richer!.CanonicalBytes, richer.Id)).Status);
            RicherReleaseId = richer.Id;
            async Task Submit(params BatchItem[] items) => Assert.Equal(SubmitStatus.Completed, (await pipeline.SubmitAsync(items)).Status);
            void At(int hour, int minute) => clock.Set(new DateTimeOffset(2026, 11, 22, hour, minute, 0, TimeSpan.Zero));

            await Submit(Kill("k-1", "a"), Kill("k-2", "a"), Kill("k-3", "b"));
            At(12, 30);
            await coordinator.TickAsync();

            At(13, 10);
            await Submit(Kill("k-10", "a"), Kill("k-11", "a"), Kill("k-12", "b"), Kill("k-13", "c"), Kill("k-14", "c"), Kill("k-15", "c"), Kill("k-16", "c"),
                Kill("k-17", "d", "slime"));
            At(13, 15);
            Assert.Null((await coordinator.OperateAsync("hunt", 0, RunOperation.Pause)).Error);
            At(13, 16);
            await Submit(Kill("k-20", "e"), Kill("k-21", "e"));
            At(13, 17);
            Assert.Null((await coordinator.OperateAsync("hunt", 0, RunOperation.Resume)).Error);
            At(13, 20);
            await coordinator.TickAsync();
            At(13, 25);
            await Submit(Kill("k-30", "f", "slime"));
            At(13, 45);
            await coordinator.TickAsync();

            At(14, 30);
            await Submit(Kill("k-40", "g"), Kill("k-41", "g"));
            await coordinator.TickAsync();
        }
        finally
        {
            await runtime.DisposeAsync();
        }
    }

    private static BatchItem Kill(string id, string player, string target = "dragon") =>
        BatchItem.Valid(new ValidAction(id, player, "combat.kill", Start.UtcTicks, Encoding.UTF8.GetBytes($$"""{"target":"{{target}}"}""")));

    /// <summary>A directory holding one source file, for a candidate; deleted with the fixture.</summary>
    public string Sources(string source)
    {
        string directory = System.IO.Path.Combine(_scratch.Path, "src-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        File.WriteAllText(System.IO.Path.Combine(directory, "release.hcl"), source);
        return directory;
    }

    /// <summary>A fresh copy of the data directory (without its lock file); deleted with the fixture.</summary>
    public string Copy()
    {
        string directory = System.IO.Path.Combine(_scratch.Path, "data-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        foreach (string file in Directory.GetFiles(_golden.Path))
        {
            string name = System.IO.Path.GetFileName(file);
            if (name != SqliteActionStore.LockFileName)
            {
                File.Copy(file, System.IO.Path.Combine(directory, name));
            }
        }
        return directory;
    }

    /// <summary>Every ledger entry of the directory, decoded.</summary>
    internal List<GrantEntry> Entries()
    {
        using var reader = SqliteDataDirectoryReader.Open(_golden.Path);
        var entries = new List<GrantEntry>();
        for (int p = 0; p < reader.PartitionCount; p++)
        {
            foreach (var row in reader.Entries(p))
            {
                var (entry, error) = GrantEntry.Decode(row.Entry, row.PrevHash);
                Assert.True(entry is not null, error);
                entries.Add(entry);
            }
        }
        return entries;
    }

    public Task DisposeAsync()
    {
        _scratch.Dispose();
        _golden.Dispose();
        return Task.CompletedTask;
    }
}
