using System.Text;
using Showrunner.Storage.Outbox;

namespace Showrunner.Testing;

/// <summary>
/// The outbox store contract (IOutboxStore's remarks), run against every implementation: one
/// subclass per store (the in-memory reference in Runtime.Tests, SQLite in Storage.Tests). Shared
/// as a linked source file, so both test projects compile the same tests.
/// </summary>
public abstract class OutboxStoreContract : IDisposable
{
    protected static readonly DateTimeOffset T0 = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    protected static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);
    private IOutboxStore? _store;

    /// <summary>A new, empty store; called once per test.</summary>
    protected abstract IOutboxStore CreateStore();

    /// <summary>Releases what <see cref="CreateStore"/> made (files, connections).</summary>
    protected virtual void DisposeStore()
    {
    }

    protected IOutboxStore Store => _store ??= CreateStore();

    protected static byte[] Body(string text) => Encoding.UTF8.GetBytes(text);

    public void Dispose()
    {
        DisposeStore();
        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task Enqueue_is_idempotent_by_grant_id_and_refuses_a_different_payload()
    {
        Assert.Equal(EnqueueResult.Added, await Store.EnqueueAsync("g-1", Body("{\"a\":1}"), T0));
        Assert.Equal(EnqueueResult.AlreadyPresent, await Store.EnqueueAsync("g-1", Body("{\"a\":1}"), T0 + Minute));
        Assert.Equal(EnqueueResult.Conflict, await Store.EnqueueAsync("g-1", Body("{\"a\":2}"), T0 + Minute));
        var taken = Assert.Single(await Store.TakeDueAsync(T0 + Minute, 10, T0 + 2 * Minute));
        Assert.Equal(Body("{\"a\":1}"), taken.Payload.ToArray());
        Assert.Equal(T0, taken.EnqueuedAt);
        Assert.Equal(new OutboxCounts(1, 0, 0, T0), await Store.CountsAsync());
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.EnqueueAsync("", Body("{}"), T0));
    }

    [Fact]
    public async Task The_caller_cannot_change_a_stored_payload()
    {
        var body = Body("{\"a\":1}");
        await Store.EnqueueAsync("g-1", body, T0);
        body[0] = (byte)'X';
        var taken = Assert.Single(await Store.TakeDueAsync(T0, 1, T0 + Minute));
        Assert.Equal(Body("{\"a\":1}"), taken.Payload.ToArray());
    }

    [Fact]
    public async Task Take_returns_due_deliveries_oldest_first_bounded_and_claims_them()
    {
        await Store.EnqueueAsync("b", Body("{}"), T0);
        await Store.EnqueueAsync("a", Body("{}"), T0);
        await Store.EnqueueAsync("c", Body("{}"), T0 + Minute);
        await Store.EnqueueAsync("d", Body("{}"), T0 - Minute);
        Assert.Equal(["d", "b"], (await Store.TakeDueAsync(T0, 2, T0 + 5 * Minute)).Select(d => d.GrantId));
        // Claimed ones are not returned again while the claim lasts; c is not due yet.
        Assert.Equal(["a"], (await Store.TakeDueAsync(T0, 10, T0 + 5 * Minute)).Select(d => d.GrantId));
        Assert.Empty(await Store.TakeDueAsync(T0, 10, T0 + 5 * Minute));
        Assert.Equal(T0 + Minute, await Store.NextDueAtAsync());
        // A worker that died: its claims end and the deliveries are due again. c came due first; the
        // three claims ended together, so they go in enqueue order.
        Assert.Equal(["c", "b", "a", "d"], (await Store.TakeDueAsync(T0 + 5 * Minute, 10, T0 + 6 * Minute)).Select(d => d.GrantId));
        Assert.Equal(0, (await Store.GetAsync("d"))!.Attempts); // a claim is not an attempt
    }

    [Fact]
    public async Task Take_refuses_a_bound_below_one_and_a_claim_that_ends_before_it_starts()
    {
        await Store.EnqueueAsync("g", Body("{}"), T0);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.TakeDueAsync(T0, 0, T0 + Minute));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.TakeDueAsync(T0, 1, T0));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.ListDeadLettersAsync(0));
        // Nothing was claimed by the refused calls.
        Assert.Equal(T0, (await Store.GetAsync("g"))!.NextAttemptAt);
    }

    [Fact]
    public async Task Outcomes_move_the_state_and_delivered_is_final()
    {
        await Store.EnqueueAsync("g", Body("{}"), T0);
        await Store.TakeDueAsync(T0, 1, T0 + Minute);
        await Store.RecordAttemptAsync("g", AttemptRecord.Failed(T0, 500, "HTTP 500", T0 + 3 * Minute));
        var state = await Store.GetAsync("g");
        Assert.Equal(new DeliveryState("g", DeliveryStatus.Pending, 1, 1, T0, T0 + 3 * Minute, T0, 500, "HTTP 500", null, null), state);
        Assert.Empty(await Store.TakeDueAsync(T0 + 2 * Minute, 1, T0 + 10 * Minute));

        await Store.TakeDueAsync(T0 + 3 * Minute, 1, T0 + 10 * Minute);
        await Store.RecordAttemptAsync("g", AttemptRecord.Delivered(T0 + 4 * Minute, 204));
        state = await Store.GetAsync("g");
        Assert.Equal(new DeliveryState("g", DeliveryStatus.Delivered, 2, 2, T0, null, T0 + 4 * Minute, 204, null, T0 + 4 * Minute, null), state);
        Assert.Null(await Store.NextDueAtAsync());

        // A late outcome of an overlapping attempt changes nothing, and redeliver leaves delivered alone.
        await Store.RecordAttemptAsync("g", AttemptRecord.DeadLettered(T0 + 5 * Minute, 400, "HTTP 400"));
        Assert.Equal(state, await Store.GetAsync("g"));
        Assert.Equal(0, await Store.RedeliverAsync(RedeliverScope.AllFailed, T0 + 6 * Minute));
        Assert.Null(await Store.GetAsync("missing"));
        await Assert.ThrowsAsync<InvalidOperationException>(() => Store.RecordAttemptAsync("missing", AttemptRecord.Delivered(T0, 200)));
        await Assert.ThrowsAsync<InvalidOperationException>(() => Store.ReleaseAsync("missing", T0));
    }

    [Fact]
    public async Task A_failure_without_its_next_attempt_time_is_refused_and_changes_nothing()
    {
        await Store.EnqueueAsync("g", Body("{}"), T0);
        var before = await Store.GetAsync("g");
        await Assert.ThrowsAnyAsync<ArgumentException>(() =>
            Store.RecordAttemptAsync("g", new AttemptRecord(AttemptOutcome.Failed, T0, 500, "HTTP 500", null)));
        Assert.Equal(before, await Store.GetAsync("g"));
    }

    [Fact]
    public async Task A_dead_letter_is_final_for_failures_but_a_late_success_still_wins()
    {
        await Store.EnqueueAsync("g", Body("{}"), T0);
        await Store.RecordAttemptAsync("g", AttemptRecord.DeadLettered(T0, 410, "HTTP 410"));
        // A failure of an overlapping attempt counts, but does not bring it back.
        await Store.RecordAttemptAsync("g", AttemptRecord.Failed(T0 + Minute, 503, "HTTP 503", T0 + 2 * Minute));
        Assert.Equal(new DeliveryState("g", DeliveryStatus.DeadLettered, 2, 2, T0, null, T0 + Minute, 503, "HTTP 503", null, T0), await Store.GetAsync("g"));
        Assert.Empty(await Store.TakeDueAsync(T0 + 3 * Minute, 10, T0 + 4 * Minute));
        await Store.ReleaseAsync("g", T0); // only pending ones are given back
        Assert.Null(await Store.NextDueAtAsync());
        // The receiver did accept it after all: the first success wins.
        await Store.RecordAttemptAsync("g", AttemptRecord.Delivered(T0 + 5 * Minute, 200));
        Assert.Equal(new DeliveryState("g", DeliveryStatus.Delivered, 3, 3, T0, null, T0 + 5 * Minute, 200, null, T0 + 5 * Minute, T0), await Store.GetAsync("g"));
    }

    [Fact]
    public async Task Release_gives_a_claim_back_without_an_attempt()
    {
        await Store.EnqueueAsync("g", Body("{}"), T0);
        await Store.TakeDueAsync(T0, 1, T0 + 10 * Minute);
        await Store.ReleaseAsync("g", T0 + Minute);
        var state = await Store.GetAsync("g");
        Assert.Equal(0, state!.Attempts);
        Assert.Equal(T0 + Minute, state.NextAttemptAt);
        Assert.Single(await Store.TakeDueAsync(T0 + Minute, 1, T0 + 2 * Minute));
    }

    [Fact]
    public async Task Dead_letters_are_listed_in_pages_and_redeliver_resets_attempts_by_scope_and_id()
    {
        foreach (var id in new[] { "d-3", "d-1", "d-2", "f-1", "p-1" })
        {
            await Store.EnqueueAsync(id, Body("{}"), T0);
        }
        await Store.TakeDueAsync(T0, 10, T0 + Minute);
        foreach (var id in new[] { "d-3", "d-1", "d-2" })
        {
            await Store.RecordAttemptAsync(id, AttemptRecord.DeadLettered(T0, 410, "HTTP 410"));
        }
        await Store.RecordAttemptAsync("f-1", AttemptRecord.Failed(T0, 503, "HTTP 503", T0 + 30 * Minute));
        await Store.ReleaseAsync("p-1", T0);

        Assert.Equal(["d-1", "d-2"], (await Store.ListDeadLettersAsync(2)).Select(s => s.GrantId));
        Assert.Equal(["d-3"], (await Store.ListDeadLettersAsync(2, "d-2")).Select(s => s.GrantId));
        Assert.Equal(new DeliveryState("d-1", DeliveryStatus.DeadLettered, 1, 1, T0, null, T0, 410, "HTTP 410", null, T0),
            (await Store.ListDeadLettersAsync(1))[0]);

        Assert.Equal(1, await Store.RedeliverAsync(RedeliverScope.DeadLettered, T0 + Minute, ["d-2", "f-1", "nope", "d-2"]));
        Assert.Equal(2, await Store.RedeliverAsync(RedeliverScope.DeadLettered, T0 + Minute));
        var redelivered = await Store.GetAsync("d-1");
        Assert.Equal(DeliveryStatus.Pending, redelivered!.Status);
        Assert.Equal(0, redelivered.Attempts);
        Assert.Equal(1, redelivered.TotalAttempts);
        Assert.Null(redelivered.DeadLetteredAt);
        Assert.Equal("HTTP 410", redelivered.LastError); // kept for the operator
        Assert.Equal(T0 + Minute, redelivered.NextAttemptAt);

        // AllFailed also brings failed pending ones forward; a never-attempted one is untouched.
        Assert.Equal(1, await Store.RedeliverAsync(RedeliverScope.AllFailed, T0 + 2 * Minute));
        Assert.Equal(T0 + 2 * Minute, (await Store.GetAsync("f-1"))!.NextAttemptAt);
        Assert.Equal(0, (await Store.GetAsync("f-1"))!.Attempts);
        Assert.Equal(T0, (await Store.GetAsync("p-1"))!.NextAttemptAt);
        Assert.Empty(await Store.ListDeadLettersAsync(10));
    }

    [Fact]
    public async Task Redeliver_moves_more_rows_and_ids_than_one_statement_binds()
    {
        // More than a SQLite statement's chunk of ids or rows, in each of the three ways to redeliver.
        const int Dead = 600, Failed = 300;
        static string Id(int i) => "g-" + i.ToString("D5", System.Globalization.CultureInfo.InvariantCulture);
        for (int i = 0; i < Dead + Failed; i++)
        {
            await Store.EnqueueAsync(Id(i), Body("{}"), T0);
            await Store.RecordAttemptAsync(Id(i), i < Dead
                ? AttemptRecord.DeadLettered(T0, 400, "HTTP 400")
                : AttemptRecord.Failed(T0, 503, "HTTP 503", T0 + 30 * Minute));
        }
        // By id: the first half of the dead letters but one, ids that are not there, and failed ones (not in this scope).
        var ids = Enumerable.Range(0, Dead / 2).Where(i => i != 7).Select(Id)
            .Concat(Enumerable.Range(Dead + Failed, 100).Select(Id)).Concat(Enumerable.Range(Dead, 10).Select(Id)).ToList();
        Assert.Equal(Dead / 2 - 1, await Store.RedeliverAsync(RedeliverScope.DeadLettered, T0 + Minute, ids));
        Assert.Equal([Id(7), Id(Dead / 2)], (await Store.ListDeadLettersAsync(2)).Select(s => s.GrantId));
        Assert.Equal(new OutboxCounts(Dead / 2 - 1 + Failed, 0, Dead / 2 + 1, T0), await Store.CountsAsync());
        // Without ids, every dead letter moves; then with the wider scope every failed pending one, and nothing else.
        Assert.Equal(Dead / 2 + 1, await Store.RedeliverAsync(RedeliverScope.DeadLettered, T0 + Minute));
        Assert.Equal(Failed, await Store.RedeliverAsync(RedeliverScope.AllFailed, T0 + 2 * Minute));
        Assert.Equal(0, await Store.RedeliverAsync(RedeliverScope.AllFailed, T0 + 3 * Minute));
        Assert.Equal(new OutboxCounts(Dead + Failed, 0, 0, T0), await Store.CountsAsync());
        Assert.Equal(T0 + Minute, await Store.NextDueAtAsync());
        Assert.Equal(T0 + 2 * Minute, (await Store.GetAsync(Id(Dead + Failed - 1)))!.NextAttemptAt);
        Assert.Equal(0, (await Store.GetAsync(Id(Dead + Failed - 1)))!.Attempts);
    }

    [Fact]
    public async Task Counts_follow_the_states_and_the_oldest_pending_enqueue()
    {
        Assert.Equal(new OutboxCounts(0, 0, 0, null), await Store.CountsAsync());
        await Store.EnqueueAsync("old", Body("{}"), T0);
        await Store.EnqueueAsync("new", Body("{}"), T0 + Minute);
        await Store.EnqueueAsync("dead", Body("{}"), T0 + 2 * Minute);
        await Store.TakeDueAsync(T0 + 3 * Minute, 10, T0 + 4 * Minute);
        Assert.Equal(new OutboxCounts(3, 0, 0, T0), await Store.CountsAsync()); // claimed ones are still pending
        await Store.RecordAttemptAsync("old", AttemptRecord.Delivered(T0 + 3 * Minute, 200));
        await Store.RecordAttemptAsync("dead", AttemptRecord.DeadLettered(T0 + 3 * Minute, 404, "HTTP 404"));
        Assert.Equal(new OutboxCounts(1, 1, 1, T0 + Minute), await Store.CountsAsync());
        await Store.RecordAttemptAsync("new", AttemptRecord.Delivered(T0 + 3 * Minute, 200));
        Assert.Equal(new OutboxCounts(0, 2, 1, null), await Store.CountsAsync());
    }
}
