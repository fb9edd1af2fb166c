namespace Showrunner.Storage.Outbox;

/// <summary>
/// The durable state of grant deliveries: one row per grant id, written by the ingest side
/// (enqueue, in the same transaction as the grant) and by the outbox worker (claims and
/// outcomes). Nothing else touches it, so a slow or dead webhook never reaches ingest.
/// </summary>
/// <remarks>
/// Contract every implementation keeps (the in-memory one is the reference, pinned by
/// InMemoryOutboxStoreTests):
/// <list type="bullet">
/// <item>Enqueue is idempotent by grant id: the same id with the same payload is
/// <see cref="EnqueueResult.AlreadyPresent"/>, with a different payload
/// <see cref="EnqueueResult.Conflict"/> and nothing changes. A grant's payload never changes, so a
/// receiver never sees two different payloads for one id.</item>
/// <item><see cref="TakeDueAsync"/> returns pending deliveries whose next attempt is at or before
/// now, ordered by (next attempt, enqueue sequence), and claims them: their next attempt moves to
/// the claim's end, so a second take does not return them while they are in flight, and a worker
/// that dies mid-attempt leaves them due again once the claim ends.</item>
/// <item>Delivered and dead-lettered are final until <see cref="RedeliverAsync"/> moves
/// dead-lettered ones back; an outcome recorded for a delivered grant is ignored (the first
/// success wins).</item>
/// <item>Recording an attempt for, or releasing, a grant that was never enqueued throws
/// <see cref="InvalidOperationException"/>; a malformed attempt (a failure without its next
/// attempt time) throws <see cref="ArgumentException"/>. Neither changes anything.</item>
/// <item>Grant ids are compared and ordered ordinally (as UTF-8 bytes, which is the UTF-16
/// ordinal order for every id without characters beyond U+FFFF; grant ids are hex).</item>
/// </list>
/// </remarks>
public interface IOutboxStore
{
    /// <summary>Adds a delivery due at <paramref name="now"/>, unless the grant id is already there.</summary>
    Task<EnqueueResult> EnqueueAsync(string grantId, ReadOnlyMemory<byte> payload, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Claims up to <paramref name="max"/> due deliveries until <paramref name="claimUntil"/>; oldest due first.</summary>
    Task<IReadOnlyList<DueDelivery>> TakeDueAsync(DateTimeOffset now, int max, DateTimeOffset claimUntil, CancellationToken cancellationToken = default);

    /// <summary>Records the outcome of one attempt (counted in <see cref="DeliveryState.Attempts"/>).</summary>
    Task RecordAttemptAsync(string grantId, AttemptRecord attempt, CancellationToken cancellationToken = default);

    /// <summary>Gives a claimed delivery back without an attempt (the circuit was open): due again at <paramref name="nextAttemptAt"/>.</summary>
    Task ReleaseAsync(string grantId, DateTimeOffset nextAttemptAt, CancellationToken cancellationToken = default);

    /// <summary>The state of one grant's delivery, or null if it was never enqueued.</summary>
    Task<DeliveryState?> GetAsync(string grantId, CancellationToken cancellationToken = default);

    /// <summary>Dead-lettered deliveries in grant id order, after <paramref name="afterGrantId"/> (for paging), at most <paramref name="max"/>.</summary>
    Task<IReadOnlyList<DeliveryState>> ListDeadLettersAsync(int max, string? afterGrantId = null, CancellationToken cancellationToken = default);

    /// <summary>The earliest next attempt among pending deliveries (claimed ones included), or null if none is pending.</summary>
    Task<DateTimeOffset?> NextDueAtAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Moves deliveries back to pending, due at <paramref name="now"/>, with attempts reset to 0
    /// (<see cref="DeliveryState.TotalAttempts"/> keeps counting): the dead-lettered ones, or with
    /// <see cref="RedeliverScope.AllFailed"/> also pending ones that have failed at least once.
    /// When <paramref name="grantIds"/> is given, only those. Returns how many moved.
    /// Backs <c>showrunner outbox redeliver</c>.
    /// </summary>
    Task<int> RedeliverAsync(RedeliverScope scope, DateTimeOffset now, IReadOnlyCollection<string>? grantIds = null, CancellationToken cancellationToken = default);

    /// <summary>How many deliveries are in each state, and the oldest pending one's enqueue time: for dashboards, metrics and <c>GET /v1/outbox</c>.</summary>
    Task<OutboxCounts> CountsAsync(CancellationToken cancellationToken = default);
}

public enum EnqueueResult
{
    Added,
    AlreadyPresent,
    /// <summary>The grant id is there with a different payload; nothing changed.</summary>
    Conflict,
}

public enum DeliveryStatus
{
    Pending,
    Delivered,
    DeadLettered,
}

public enum RedeliverScope
{
    DeadLettered,
    AllFailed,
}

public enum AttemptOutcome
{
    Delivered,
    /// <summary>Failed and will be retried at <see cref="AttemptRecord.NextAttemptAt"/>.</summary>
    Failed,
    DeadLettered,
}

/// <summary>A claimed delivery: what the worker sends.</summary>
/// <param name="Attempts">Attempts made so far (since the last redeliver).</param>
public sealed record DueDelivery(string GrantId, ReadOnlyMemory<byte> Payload, int Attempts, DateTimeOffset EnqueuedAt);

/// <summary>The outcome of one attempt, as stored.</summary>
public sealed record AttemptRecord(AttemptOutcome Outcome, DateTimeOffset At, int? StatusCode, string? Error, DateTimeOffset? NextAttemptAt)
{
    public static AttemptRecord Delivered(DateTimeOffset at, int statusCode) => new(AttemptOutcome.Delivered, at, statusCode, null, null);

    public static AttemptRecord Failed(DateTimeOffset at, int? statusCode, string error, DateTimeOffset nextAttemptAt) =>
        new(AttemptOutcome.Failed, at, statusCode, error, nextAttemptAt);

    public static AttemptRecord DeadLettered(DateTimeOffset at, int? statusCode, string error) => new(AttemptOutcome.DeadLettered, at, statusCode, error, null);
}

/// <summary>The outbox at a glance.</summary>
/// <param name="Pending">Waiting for an attempt or in flight (claimed ones included).</param>
/// <param name="OldestPendingEnqueuedAt">The enqueue time of the oldest pending delivery, or null if none is pending: how far behind delivery is.</param>
public sealed record OutboxCounts(long Pending, long Delivered, long DeadLettered, DateTimeOffset? OldestPendingEnqueuedAt);

/// <summary>What the rewards API and the CLI show about one grant's delivery.</summary>
/// <param name="Attempts">Attempts since enqueue or the last redeliver; dead-lettering counts against this.</param>
/// <param name="TotalAttempts">Attempts ever made.</param>
/// <param name="NextAttemptAt">When pending: the earliest time of the next attempt (the end of a claim while one is in flight).</param>
public sealed record DeliveryState(
    string GrantId,
    DeliveryStatus Status,
    int Attempts,
    int TotalAttempts,
    DateTimeOffset EnqueuedAt,
    DateTimeOffset? NextAttemptAt,
    DateTimeOffset? LastAttemptAt,
    int? LastStatusCode,
    string? LastError,
    DateTimeOffset? DeliveredAt,
    DateTimeOffset? DeadLetteredAt);
