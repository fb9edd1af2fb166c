using System.Text;
using Showrunner.Runtime.Outbox;
using Showrunner.Storage.Outbox;

namespace Showrunner.Runtime.Tests.Outbox;

/// <summary>The store contract (IOutboxStore's remarks), pinned on the in-memory store; the durable store must pass the same.</summary>
public sealed class InMemoryOutboxStoreTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);
    private readonly InMemoryOutboxStore _store = new();

    private static byte[] Body(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public async Task Enqueue_is_idempotent_by_grant_id_and_refuses_a_different_payload()
    {
        Assert.Equal(EnqueueResult.Added, await _store.EnqueueAsync("g-1", Body("{\"a\":1}"), T0));
        Assert.Equal(EnqueueResult.AlreadyPresent, await _store.EnqueueAsync("g-1", Body("{\"a\":1}"), T0 + Minute));
        Assert.Equal(EnqueueResult.Conflict, await _store.EnqueueAsync("g-1", Body("{\"a\":2}"), T0 + Minute));
        var taken = Assert.Single(await _store.TakeDueAsync(T0 + Minute, 10, T0 + 2 * Minute));
        Assert.Equal(Body("{\"a\":1}"), taken.Payload.ToArray());
        Assert.Equal(T0, taken.EnqueuedAt);
        Assert.Equal(1, _store.Count);
    }

    [Fact]
    public async Task The_caller_cannot_change_a_stored_payload()
    {
        var body = Body("{\"a\":1}");
        await _store.EnqueueAsync("g-1", body, T0);
        body[0] = (byte)'X';
        var taken = Assert.Single(await _store.TakeDueAsync(T0, 1, T0 + Minute));
        Assert.Equal(Body("{\"a\":1}"), taken.Payload.ToArray());
    }

    [Fact]
    public async Task Take_returns_due_deliveries_oldest_first_bounded_and_claims_them()
    {
        await _store.EnqueueAsync("b", Body("{}"), T0);
        await _store.EnqueueAsync("a", Body("{}"), T0);
        await _store.EnqueueAsync("c", Body("{}"), T0 + Minute);
        await _store.EnqueueAsync("d", Body("{}"), T0 - Minute);
        Assert.Equal(["d", "b"], (await _store.TakeDueAsync(T0, 2, T0 + 5 * Minute)).Select(d => d.GrantId));
        // Claimed ones are not returned again while the claim lasts; c is not due yet.
        Assert.Equal(["a"], (await _store.TakeDueAsync(T0, 10, T0 + 5 * Minute)).Select(d => d.GrantId));
        Assert.Empty(await _store.TakeDueAsync(T0, 10, T0 + 5 * Minute));
        Assert.Equal(T0 + Minute, await _store.NextDueAtAsync());
        // A worker that died: its claims end and the deliveries are due again. c came due first; the
        // three claims ended together, so they go in enqueue order.
        Assert.Equal(["c", "b", "a", "d"], (await _store.TakeDueAsync(T0 + 5 * Minute, 10, T0 + 6 * Minute)).Select(d => d.GrantId));
        Assert.Equal(0, (await _store.GetAsync("d"))!.Attempts); // a claim is not an attempt
    }

    [Fact]
    public async Task Outcomes_move_the_state_and_delivered_is_final()
    {
        await _store.EnqueueAsync("g", Body("{}"), T0);
        await _store.TakeDueAsync(T0, 1, T0 + Minute);
        await _store.RecordAttemptAsync("g", AttemptRecord.Failed(T0, 500, "HTTP 500", T0 + 3 * Minute));
        var state = await _store.GetAsync("g");
        Assert.Equal(new DeliveryState("g", DeliveryStatus.Pending, 1, 1, T0, T0 + 3 * Minute, T0, 500, "HTTP 500", null, null), state);
        Assert.Empty(await _store.TakeDueAsync(T0 + 2 * Minute, 1, T0 + 10 * Minute));

        await _store.TakeDueAsync(T0 + 3 * Minute, 1, T0 + 10 * Minute);
        await _store.RecordAttemptAsync("g", AttemptRecord.Delivered(T0 + 4 * Minute, 204));
        state = await _store.GetAsync("g");
        Assert.Equal(new DeliveryState("g", DeliveryStatus.Delivered, 2, 2, T0, null, T0 + 4 * Minute, 204, null, T0 + 4 * Minute, null), state);
        Assert.Null(await _store.NextDueAtAsync());

        // A late outcome of an overlapping attempt changes nothing, and redeliver leaves delivered alone.
        await _store.RecordAttemptAsync("g", AttemptRecord.DeadLettered(T0 + 5 * Minute, 400, "HTTP 400"));
        Assert.Equal(state, await _store.GetAsync("g"));
        Assert.Equal(0, await _store.RedeliverAsync(RedeliverScope.AllFailed, T0 + 6 * Minute));
        Assert.Null(await _store.GetAsync("missing"));
        await Assert.ThrowsAsync<InvalidOperationException>(() => _store.RecordAttemptAsync("missing", AttemptRecord.Delivered(T0, 200)));
    }

    [Fact]
    public async Task Release_gives_a_claim_back_without_an_attempt()
    {
        await _store.EnqueueAsync("g", Body("{}"), T0);
        await _store.TakeDueAsync(T0, 1, T0 + 10 * Minute);
        await _store.ReleaseAsync("g", T0 + Minute);
        var state = await _store.GetAsync("g");
        Assert.Equal(0, state!.Attempts);
        Assert.Equal(T0 + Minute, state.NextAttemptAt);
        Assert.Single(await _store.TakeDueAsync(T0 + Minute, 1, T0 + 2 * Minute));
    }

    [Fact]
    public async Task Dead_letters_are_listed_in_pages_and_redeliver_resets_attempts_by_scope_and_id()
    {
        foreach (var id in new[] { "d-3", "d-1", "d-2", "f-1", "p-1" })
        {
            await _store.EnqueueAsync(id, Body("{}"), T0);
        }
        await _store.TakeDueAsync(T0, 10, T0 + Minute);
        foreach (var id in new[] { "d-3", "d-1", "d-2" })
        {
            await _store.RecordAttemptAsync(id, AttemptRecord.DeadLettered(T0, 410, "HTTP 410"));
        }
        await _store.RecordAttemptAsync("f-1", AttemptRecord.Failed(T0, 503, "HTTP 503", T0 + 30 * Minute));
        await _store.ReleaseAsync("p-1", T0);

        Assert.Equal(["d-1", "d-2"], (await _store.ListDeadLettersAsync(2)).Select(s => s.GrantId));
        Assert.Equal(["d-3"], (await _store.ListDeadLettersAsync(2, "d-2")).Select(s => s.GrantId));

        Assert.Equal(1, await _store.RedeliverAsync(RedeliverScope.DeadLettered, T0 + Minute, ["d-2", "f-1", "nope"]));
        Assert.Equal(2, await _store.RedeliverAsync(RedeliverScope.DeadLettered, T0 + Minute));
        var redelivered = await _store.GetAsync("d-1");
        Assert.Equal(DeliveryStatus.Pending, redelivered!.Status);
        Assert.Equal(0, redelivered.Attempts);
        Assert.Equal(1, redelivered.TotalAttempts);
        Assert.Null(redelivered.DeadLetteredAt);
        Assert.Equal("HTTP 410", redelivered.LastError); // kept for the operator
        Assert.Equal(T0 + Minute, redelivered.NextAttemptAt);

        // AllFailed also brings failed pending ones forward; a never-attempted one is untouched.
        Assert.Equal(1, await _store.RedeliverAsync(RedeliverScope.AllFailed, T0 + 2 * Minute));
        Assert.Equal(T0 + 2 * Minute, (await _store.GetAsync("f-1"))!.NextAttemptAt);
        Assert.Equal(0, (await _store.GetAsync("f-1"))!.Attempts);
        Assert.Equal(T0, (await _store.GetAsync("p-1"))!.NextAttemptAt);
        Assert.Empty(await _store.ListDeadLettersAsync(10));
    }
}
