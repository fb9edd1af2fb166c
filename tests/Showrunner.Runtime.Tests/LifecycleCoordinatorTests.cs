using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Showrunner.Core.LiveEvents;
using Showrunner.Core.Rules.Bundle;
using Showrunner.Core.Rules.Syntax;
using Showrunner.Runtime;
using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.LiveEvents;
using Showrunner.Runtime.Releases;
using Showrunner.Storage.Sqlite;
using Showrunner.Testing;

namespace Showrunner.Runtime.Tests;

[Trait("Category", "Component")]
public sealed class LifecycleCoordinatorTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _directory = new();
    private readonly ManualClock _clock = new(Start);
    private SqliteActionStore _store = null!;
    private IngestPipeline _pipeline = null!;
    private ReleaseRegister _register = null!;
    private LifecycleCoordinator _coordinator = null!;
    private RuntimeHarness _runtime = null!;

    private static readonly string Source = ReleaseFixtures.Source("flash-sale-and-weekly-arena");

    public async Task InitializeAsync()
    {
        await OpenAsync();
        var (bundle, diagnostics) = ReleaseBundle.Build([new SourceText("r.hcl", Source)]);
        Assert.True(bundle is not null, string.Join("\n", diagnostics.Select(d => d.Format())));
        await _register.PublishAsync(bundle.CanonicalBytes, bundle.Id);
        Assert.Equal(ChangeStatus.Changed, (await _register.ActivateAsync(bundle.Id, 0, null)).Status);
    }

    private async Task OpenAsync()
    {
        _runtime = RuntimeHarness.Create(new RuntimeSettings
        {
            StoreProvider = new SqliteStoreProvider(),
            DataDirectory = _directory.Path,
            ReadConnections = 2,
            Ingest = new IngestOptions { PartitionCount = 4, ExecutorCount = 2 },
        }, _clock);
        _runtime.Open();
        _store = (SqliteActionStore)_runtime.Store;
        _pipeline = _runtime.Pipeline;
        _register = _runtime.Register;
        await _register.InitializeAsync(null);
        await _pipeline.StartAsync();
        _coordinator = _runtime.Coordinator;
    }

    private async Task CloseAsync()
    {
        // The coordinator stops before the pipeline drains (its timers must not fire into a stopping pipeline).
        _coordinator.Dispose();
        await _runtime.DisposeAsync();
    }

    public async Task DisposeAsync()
    {
        await CloseAsync();
        _directory.Dispose();
    }

    private List<(long Run, RunPhase To, DateTimeOffset At)> Steps(string eventId) =>
        _coordinator.RecordedFor(eventId).Select(t => (t.Run, t.To, t.At)).ToList();

    [Fact]
    public async Task Phases_are_recorded_when_due_exactly_once_and_survive_a_restart()
    {
        Assert.Equal(0, await _coordinator.TickAsync() - Steps("arena").Count);
        Assert.Empty(Steps("flash_sale"));

        _clock.Advance(TimeSpan.FromHours(1));
        await _coordinator.TickAsync();
        Assert.Equal([(0L, RunPhase.Active, Start.AddHours(1))], Steps("flash_sale"));

        // A long pause of the coordinator: the missed phases are recorded in order, with the times
        // they were due; an event that owes nothing at its end is finalized at once.
        _clock.Advance(TimeSpan.FromHours(5));
        await _coordinator.TickAsync();
        Assert.Equal([(0L, RunPhase.Active, Start.AddHours(1)), (0L, RunPhase.Grace, Start.AddHours(3)),
            (0L, RunPhase.Finalizing, Start.AddHours(4)), (0L, RunPhase.Finalized, Start.AddHours(6))], Steps("flash_sale"));
        Assert.Equal(0, await _coordinator.TickAsync());

        var before = _coordinator.RecordedFor("flash_sale").Concat(_coordinator.RecordedFor("arena")).ToList();
        await CloseAsync();
        await OpenAsync();
        Assert.Equal(0, await _coordinator.TickAsync());
        Assert.Equal(before, _coordinator.RecordedFor("flash_sale").Concat(_coordinator.RecordedFor("arena")).ToList());
    }

    [Fact]
    public async Task Recurring_runs_advance_and_runs_with_prizes_are_finalized_once_their_leaderboard_is_final()
    {
        await _coordinator.TickAsync();
        // Run 0 of the arena started 2026-11-20 18:00 and is active on the 22nd at 12:00.
        Assert.Equal([(0L, RunPhase.Active, new DateTimeOffset(2026, 11, 20, 18, 0, 0, TimeSpan.Zero))], Steps("arena"));
        _clock.Advance(TimeSpan.FromDays(14));
        await _coordinator.TickAsync();
        var arena = Steps("arena");
        Assert.Equal([RunPhase.Active, RunPhase.Grace, RunPhase.Finalizing, RunPhase.Finalized], arena.Where(s => s.Run == 0).Select(s => s.To));
        Assert.Equal([RunPhase.Active, RunPhase.Grace, RunPhase.Finalizing, RunPhase.Finalized], arena.Where(s => s.Run == 1).Select(s => s.To));
        Assert.Equal([RunPhase.Active], arena.Where(s => s.Run == 2).Select(s => s.To));
        Assert.Equal(0, await _coordinator.TickAsync());
    }

    [Fact]
    public async Task Operators_pause_resume_and_cancel_runs_with_checks()
    {
        await _coordinator.TickAsync();
        var paused = await _coordinator.OperateAsync("arena", 0, RunOperation.Pause);
        Assert.Equal((true, null), (paused.EventFound, paused.Error));
        Assert.Equal(("active", "paused", "operator"), (paused.Recorded[0].From, paused.Recorded[0].To, paused.Recorded[0].Cause));
        Assert.Equal(LifecycleErrors.NotPausable, (await _coordinator.OperateAsync("arena", 0, RunOperation.Pause)).Error);

        // While paused, the clock does not move the run (its active period ends at 18:00 while it is paused).
        _clock.Advance(TimeSpan.FromHours(7));
        await _coordinator.TickAsync();
        Assert.Equal(RunPhase.Paused, Steps("arena").Where(s => s.Run == 0).Last().To);

        // Resuming goes to the phase the clock dictates now: grace, not active.
        Assert.Null((await _coordinator.OperateAsync("arena", 0, RunOperation.Resume)).Error);
        Assert.Equal(RunPhase.Grace, Steps("arena").Where(s => s.Run == 0).Last().To);
        Assert.Equal(LifecycleErrors.NotPaused, (await _coordinator.OperateAsync("arena", 0, RunOperation.Resume)).Error);
        Assert.Null((await _coordinator.OperateAsync("arena", 0, RunOperation.Cancel)).Error);
        Assert.Equal(LifecycleErrors.NotCancellable, (await _coordinator.OperateAsync("arena", 0, RunOperation.Cancel)).Error);
        _clock.Advance(TimeSpan.FromDays(3));
        await _coordinator.TickAsync();
        Assert.Equal(RunPhase.Cancelled, Steps("arena").Where(s => s.Run == 0).Last().To);

        Assert.Equal(LifecycleErrors.UnknownRun, (await _coordinator.OperateAsync("arena", 99, RunOperation.Pause)).Error);
        Assert.False((await _coordinator.OperateAsync("no_such_event", 0, RunOperation.Pause)).EventFound);
    }

    [Fact]
    public async Task The_store_refuses_a_second_writer_of_a_step_and_any_edit()
    {
        await _coordinator.TickAsync();
        var rows = _store.Runs.Load();
        Assert.NotEmpty(rows);
        Assert.False(_store.Runs.Append([rows[0]]));
        Assert.Equal(rows.Count, _store.Runs.Load().Count);
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_directory.Path, SqliteActionStore.DatabaseFileName)}");
        connection.Open();
        foreach (string sql in new[] { "UPDATE run_transitions SET to_phase = 'finalized'", "DELETE FROM run_transitions" })
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            Assert.Contains("append-only", Assert.Throws<SqliteException>(() => command.ExecuteNonQuery()).Message, StringComparison.Ordinal);
        }
    }
}
