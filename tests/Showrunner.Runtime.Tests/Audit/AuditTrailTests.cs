using Microsoft.Extensions.Logging.Abstractions;
using Showrunner.Core.Audit;
using Showrunner.Runtime.Audit;
using Showrunner.Storage.Audit;
using Showrunner.Storage.Sqlite;
using Showrunner.Testing;

namespace Showrunner.Runtime.Tests.Audit;

/// <summary>
/// The audit trail over the real SQLite store: concurrent callers get distinct, consecutive seqs
/// and one valid chain; times never go back; a refused or failed append never leaves the trail
/// continuing from a head the store does not hold.
/// </summary>
[Trait("Category", "Component")]
public sealed class AuditTrailTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _directory = new();
    private readonly ManualClock _clock = new(Start);
    private readonly SqliteActionStore _store;

    public AuditTrailTests()
    {
        _store = new SqliteActionStore(new SqliteStoreOptions { DataDirectory = _directory.Path, ReadConnections = 1 }, _clock);
        _store.Open(4);
    }

    private AuditTrail Trail() => new(_store.Audit, _clock, NullLogger<AuditTrail>.Instance);

    private static AuditRecord Record(int i) => new("key:k" + (i % 5), "grant.create", "g-" + i, null, "g-" + i, "reason " + i, "{\"i\":" + i + "}");

    internal static AuditVerification VerifyStored(IAuditStore store) => AuditChain.Verify(store.Query(new AuditQuery(100_000, AfterSeq: 0))
        .Select(e => new AuditEntry(e.Seq, e.AtTicks, e.Actor, e.Action, e.Target, e.Before, e.After, e.Reason, e.Details, e.PrevHash, e.Hash)));

    [Fact]
    public async Task Concurrent_appends_get_distinct_consecutive_seqs_and_one_valid_chain()
    {
        using var trail = Trail();
        const int Callers = 8, Each = 25;
        // Every caller waits at one gate, so they all start appending at once.
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var callers = Enumerable.Range(0, Callers).Select(c => Task.Run(async () =>
        {
            await gate.Task;
            var mine = new List<(long Seq, int Record)>();
            for (int i = 0; i < Each; i++)
            {
                int record = c * Each + i;
                mine.Add((await trail.RecordAsync(Record(record)), record));
            }
            return mine;
        })).ToList();
        gate.SetResult();
        var seqs = await Task.WhenAll(callers);
        var all = seqs.SelectMany(s => s).ToList();
        Assert.Equal(Enumerable.Range(1, Callers * Each).Select(i => (long)i), all.Select(s => s.Seq).Order());
        // Each seq holds the record its caller was told it got.
        var stored = _store.Audit.Query(new AuditQuery(1000, AfterSeq: 0)).ToDictionary(e => e.Seq);
        Assert.All(all, s => Assert.Equal("g-" + s.Record, stored[s.Seq].Target));
        var verification = VerifyStored(_store.Audit);
        Assert.Equal((AuditVerification.Ok, (long)Callers * Each), (verification.Code, verification.Entries));
        Assert.Equal(trail.Head().Hash, verification.HeadHash);
        Assert.Equal(Callers * Each, trail.Head().Seq);
    }

    [Fact]
    public async Task Record_once_writes_an_act_a_single_time_even_when_callers_race()
    {
        using var trail = Trail();
        await trail.RecordAsync(new AuditRecord("key:a", "grant.create", "g-1", null, "g-1", null));
        var act = new AuditRecord("key:a", "grant.create", "g-2", null, "g-2", null, "{\"recovered\":true}");
        var seqs = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => trail.RecordOnceAsync(act, e => e.After == "g-2"))));
        Assert.Equal([2L, 2, 2, 2, 2, 2], seqs);
        // Another act on the same target is not the same act.
        Assert.Equal(3, await trail.RecordOnceAsync(new AuditRecord("key:a", "grant.correct", "g-1", "g-1", "g-3", null), e => e.After == "g-3"));
        Assert.Equal(4, await trail.RecordOnceAsync(new AuditRecord("key:a", "grant.correct", "g-1", "g-1", "g-4", null), e => e.After == "g-4"));
        Assert.Equal(3, await trail.RecordOnceAsync(new AuditRecord("key:a", "grant.correct", "g-1", "g-1", "g-3", null), e => e.After == "g-3"));
        Assert.Equal(4, _store.Audit.Head()!.Seq);
        Assert.Equal(AuditVerification.Ok, VerifyStored(_store.Audit).Code);
    }

    [Fact]
    public async Task Entry_times_come_from_the_clock_and_never_go_back()
    {
        using var trail = Trail();
        await trail.RecordAsync(Record(1));
        _clock.Advance(TimeSpan.FromSeconds(5));
        await trail.RecordAsync(Record(2));
        _clock.Advance(TimeSpan.FromSeconds(-60));
        await trail.RecordAsync(Record(3));
        var entries = _store.Audit.Query(new AuditQuery(10, AfterSeq: 0));
        Assert.Equal([Start.UtcTicks, Start.AddSeconds(5).UtcTicks, Start.AddSeconds(5).UtcTicks], entries.Select(e => e.AtTicks));
        Assert.Equal(AuditVerification.Ok, VerifyStored(_store.Audit).Code);
    }

    [Fact]
    public async Task An_invalid_record_is_refused_and_changes_nothing()
    {
        using var trail = Trail();
        await trail.RecordAsync(Record(1));
        await Assert.ThrowsAsync<ArgumentException>(() => trail.RecordAsync(new AuditRecord("", "grant.create", "t", null, null, null)));
        await Assert.ThrowsAsync<ArgumentException>(() => trail.RecordAsync(new AuditRecord("key:a", "grant.create", "t", null, null, null, "[]")));
        Assert.Equal(2, await trail.RecordAsync(Record(2)));
        // An empty reason is recorded as none.
        Assert.Equal(3, await trail.RecordAsync(new AuditRecord("key:a", "run.pause", "e", "active", "paused", "")));
        Assert.Null(_store.Audit.Head()!.Reason);
        Assert.Equal(AuditVerification.Ok, VerifyStored(_store.Audit).Code);
    }

    [Fact]
    public async Task When_the_store_head_moved_behind_the_trail_the_append_is_refused_and_the_next_one_continues_from_the_store()
    {
        using var trail = Trail();
        await trail.RecordAsync(Record(1));
        // Another writer (a second trail on the same store) appends behind this one's back.
        using (var other = Trail())
        {
            Assert.Equal(2, await other.RecordAsync(Record(2)));
        }
        await Assert.ThrowsAsync<InvalidOperationException>(() => trail.RecordAsync(Record(3)));
        Assert.Equal(2, _store.Audit.Head()!.Seq);
        Assert.Equal(3, await trail.RecordAsync(Record(3)));
        Assert.Equal((AuditVerification.Ok, 3L), (VerifyStored(_store.Audit).Code, VerifyStored(_store.Audit).Entries));
    }

    [Fact]
    public async Task A_new_trail_on_a_reopened_store_continues_the_chain()
    {
        using (var trail = Trail())
        {
            await trail.RecordAsync(Record(1));
            await trail.RecordAsync(Record(2));
        }
        _store.Dispose();
        using var reopened = new SqliteActionStore(new SqliteStoreOptions { DataDirectory = _directory.Path, ReadConnections = 1 }, _clock);
        reopened.Open(4);
        using var again = new AuditTrail(reopened.Audit, _clock, NullLogger<AuditTrail>.Instance);
        Assert.Equal(3, await again.RecordAsync(Record(3)));
        Assert.Equal((AuditVerification.Ok, 3L), (VerifyStored(reopened.Audit).Code, VerifyStored(reopened.Audit).Entries));
    }

    public void Dispose()
    {
        _store.Dispose();
        _directory.Dispose();
    }
}
