using System.Diagnostics;
using Showrunner.Core.LiveEvents;
using Showrunner.Storage;
using Showrunner.Testing;
using Xunit.Abstractions;

namespace Showrunner.Runtime.Tests.LiveEvents;

/// <summary>
/// Issue 12, item 8: on a fresh data directory an always-live daily event has hundreds of past
/// runs to record; the first tick catches all of them up in bulk (runs that never had a
/// participant owe nothing), so the current run's community goal is recorded on that same tick,
/// not minutes later.
/// </summary>
[Trait("Category", "Component")]
public sealed class CatchUpTests(ITestOutputHelper log)
{
    /// <summary>The schedule of examples/daily-quest (from 2026-01-01, 23 h every 24 h, 1 h grace), with a small goal.</summary>
    private static readonly string Source = ReleaseFixtures.Source("daily-dragons-small-goal");

    [Fact]
    public async Task The_first_tick_on_a_fresh_directory_finalizes_339_past_runs_and_records_the_current_runs_goal()
    {
        CountingStore? counted = null;
        await using var live = await LiveHarness.StartAsync(Source, wrap: s => counted = new CountingStore(s));
        // 2026-12-06 12:00: run 339 is active; runs 0 to 338 are past their grace.
        live.Clock.Set(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));
        var at = live.Clock.GetUtcNow();
        await live.SubmitAsync(LiveHarness.Action("k-1", "a", "combat.kill", """{"target":"dragon"}""", at),
            LiveHarness.Action("k-2", "b", "combat.kill", """{"target":"dragon"}""", at),
            LiveHarness.Action("k-3", "c", "combat.kill", """{"target":"dragon"}""", at));

        int writesBefore = counted!.RunWrites;
        var started = Stopwatch.GetTimestamp();
        await live.Coordinator.TickAsync();
        int writes = counted.RunWrites - writesBefore;
        log.WriteLine($"first tick: {Stopwatch.GetElapsedTime(started).TotalMilliseconds:F0} ms, {writes} writes of run transitions");
        // Two writes of due phases (at most 1,000 transitions each), one of the 339 quiet
        // finalizations; not one write (and two reads of every partition) per past run.
        Assert.InRange(writes, 1, 4);

        Assert.NotNull(live.Coordinator.GoalOf("daily_dragons", 339));
        Assert.Equal(["a", "b", "c"], live.Entries().Where(e => e.Rule == "community_goal").Select(e => e.Player).Order());
        var recorded = live.Coordinator.RecordedFor("daily_dragons");
        Assert.All(Enumerable.Range(0, 339), run => Assert.Equal(RunPhase.Finalized, recorded.Last(t => t.Run == run).To));
        Assert.Equal(RunPhase.Active, recorded.Last(t => t.Run == 339).To);
        Assert.Equal(0, await live.Coordinator.TickAsync());
    }
}

/// <summary>The store, counting the writes of run transitions.</summary>
internal sealed class CountingStore(IActionStore inner) : IActionStore
{
    private CountingRunStore? _runs;

    public int RunWrites => _runs?.Writes ?? 0;

    public StoreInfo Open(int partitionCount) => inner.Open(partitionCount);
    public long[] LoadPartitionHeads() => inner.LoadPartitionHeads();
    public void Append(IReadOnlyList<ActionRecord> records) => inner.Append(records);
    public void Commit(CommitBatch batch) => inner.Commit(batch);
    public void FindMany(IReadOnlyList<string> ids, Dictionary<string, ActionRecord> found) => inner.FindMany(ids, found);
    public ActionRecord? Find(string id) => inner.Find(id);
    public byte[]? FindPlayerProfile(string player) => inner.FindPlayerProfile(player);
    public IReleaseStore Releases => inner.Releases;
    public IRunStore Runs => _runs ??= new CountingRunStore(inner.Runs);
    public IRolloutStore Rollouts => inner.Rollouts;
    public ILedgerStore Ledger => inner.Ledger;
    public IModuleLogStore Modules => inner.Modules;
    public Storage.Outbox.IOutboxStore Outbox => inner.Outbox;
    public IKeyStore Keys => inner.Keys;
    public Storage.Audit.IAuditStore Audit => inner.Audit;
    public Storage.Audit.IApprovalStore Approvals => inner.Approvals;
    public IPartitionLog PartitionLog => inner.PartitionLog;
    public void ResetWriter() => inner.ResetWriter();
    public void Dispose() => inner.Dispose();

    private sealed class CountingRunStore(IRunStore runs) : IRunStore
    {
        private int _writes;

        public int Writes => Volatile.Read(ref _writes);
        public IReadOnlyList<StoredTransition> Load() => runs.Load();

        public bool Append(IReadOnlyList<StoredTransition> transitions)
        {
            Interlocked.Increment(ref _writes);
            return runs.Append(transitions);
        }
    }
}
