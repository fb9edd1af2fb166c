using Showrunner.Storage.Outbox;
namespace Showrunner.Storage.Memory;

/// <summary>
/// <see cref="IOutboxStore"/> in memory, with the semantics the durable store must have (see the
/// interface). For tests and for a server run without a data directory; state is lost with the
/// process.
/// </summary>
public sealed class InMemoryOutboxStore : IOutboxStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Row> _rows = new(StringComparer.Ordinal);
    // Pending rows by (next attempt, enqueue sequence): the take order. The sequence is unique.
    private readonly SortedSet<(long DueTicks, long Sequence)> _due = [];
    private readonly Dictionary<long, Row> _bySequence = [];
    private long _sequence;

    public Task<EnqueueResult> EnqueueAsync(string grantId, ReadOnlyMemory<byte> payload, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(grantId);
        lock (_lock)
        {
            if (_rows.TryGetValue(grantId, out var existing))
            {
                return Task.FromResult(existing.Payload.AsSpan().SequenceEqual(payload.Span) ? EnqueueResult.AlreadyPresent : EnqueueResult.Conflict);
            }
            var row = new Row(grantId, payload.ToArray(), ++_sequence, now) { NextAttemptAt = now };
            _rows.Add(grantId, row);
            _bySequence.Add(row.Sequence, row);
            _due.Add((now.UtcTicks, row.Sequence));
            return Task.FromResult(EnqueueResult.Added);
        }
    }

    public Task<IReadOnlyList<DueDelivery>> TakeDueAsync(DateTimeOffset now, int max, DateTimeOffset claimUntil, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        if (claimUntil <= now)
        {
            throw new ArgumentOutOfRangeException(nameof(claimUntil), "A claim must end after now.");
        }
        lock (_lock)
        {
            var taken = new List<Row>();
            foreach (var key in _due)
            {
                if (key.DueTicks > now.UtcTicks || taken.Count == max)
                {
                    break;
                }
                taken.Add(_bySequence[key.Sequence]);
            }
            var result = new List<DueDelivery>(taken.Count);
            foreach (var row in taken)
            {
                Reschedule(row, claimUntil);
                result.Add(new DueDelivery(row.GrantId, row.Payload, row.Attempts, row.EnqueuedAt));
            }
            return Task.FromResult<IReadOnlyList<DueDelivery>>(result);
        }
    }

    public Task RecordAttemptAsync(string grantId, AttemptRecord attempt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(attempt);
        // Checked before anything changes: a malformed record must not half-apply.
        if (attempt.Outcome == AttemptOutcome.Failed && attempt.NextAttemptAt is null)
        {
            throw new ArgumentException("A failed attempt needs its next attempt time.", nameof(attempt));
        }
        if (!Enum.IsDefined(attempt.Outcome))
        {
            throw new ArgumentOutOfRangeException(nameof(attempt), attempt.Outcome, "Unknown outcome.");
        }
        lock (_lock)
        {
            var row = Find(grantId);
            if (row.Status == DeliveryStatus.Delivered)
            {
                // The first success wins; a late outcome of an overlapping attempt changes nothing.
                return Task.CompletedTask;
            }
            row.Attempts++;
            row.TotalAttempts++;
            row.LastAttemptAt = attempt.At;
            row.LastStatusCode = attempt.StatusCode;
            switch (attempt.Outcome)
            {
                case AttemptOutcome.Delivered:
                    Unschedule(row);
                    row.Status = DeliveryStatus.Delivered;
                    row.DeliveredAt = attempt.At;
                    row.LastError = null;
                    break;
                case AttemptOutcome.Failed:
                    row.LastError = attempt.Error;
                    if (row.Status == DeliveryStatus.Pending)
                    {
                        Reschedule(row, attempt.NextAttemptAt!.Value);
                    }
                    break;
                case AttemptOutcome.DeadLettered:
                    Unschedule(row);
                    row.Status = DeliveryStatus.DeadLettered;
                    row.DeadLetteredAt = attempt.At;
                    row.LastError = attempt.Error;
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(attempt), attempt.Outcome, "Unknown outcome.");
            }
            return Task.CompletedTask;
        }
    }

    public Task ReleaseAsync(string grantId, DateTimeOffset nextAttemptAt, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            var row = Find(grantId);
            if (row.Status == DeliveryStatus.Pending)
            {
                Reschedule(row, nextAttemptAt);
            }
            return Task.CompletedTask;
        }
    }

    public Task<DeliveryState?> GetAsync(string grantId, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return Task.FromResult(_rows.TryGetValue(grantId, out var row) ? row.ToState() : null);
        }
    }

    public Task<IReadOnlyList<DeliveryState>> ListDeadLettersAsync(int max, string? afterGrantId = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        lock (_lock)
        {
            IReadOnlyList<DeliveryState> list = _rows.Values
                .Where(row => row.Status == DeliveryStatus.DeadLettered && (afterGrantId is null || string.CompareOrdinal(row.GrantId, afterGrantId) > 0))
                .OrderBy(row => row.GrantId, StringComparer.Ordinal)
                .Take(max)
                .Select(row => row.ToState())
                .ToList();
            return Task.FromResult(list);
        }
    }

    public Task<DateTimeOffset?> NextDueAtAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return Task.FromResult<DateTimeOffset?>(_due.Count == 0 ? null : new DateTimeOffset(_due.Min.DueTicks, TimeSpan.Zero));
        }
    }

    public Task<int> RedeliverAsync(RedeliverScope scope, DateTimeOffset now, IReadOnlyCollection<string>? grantIds = null, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            IEnumerable<Row> candidates = grantIds is null
                ? _rows.Values
                : grantIds.Distinct(StringComparer.Ordinal).Select(id => _rows.GetValueOrDefault(id)).OfType<Row>();
            int moved = 0;
            foreach (var row in candidates.ToList())
            {
                bool eligible = row.Status == DeliveryStatus.DeadLettered
                    || (scope == RedeliverScope.AllFailed && row.Status == DeliveryStatus.Pending && row.Attempts > 0);
                if (!eligible)
                {
                    continue;
                }
                row.Status = DeliveryStatus.Pending;
                row.Attempts = 0;
                row.DeadLetteredAt = null;
                Reschedule(row, now);
                moved++;
            }
            return Task.FromResult(moved);
        }
    }

    public Task<OutboxCounts> CountsAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            long pending = 0, delivered = 0, deadLettered = 0;
            DateTimeOffset? oldest = null;
            foreach (var row in _rows.Values)
            {
                switch (row.Status)
                {
                    case DeliveryStatus.Pending:
                        pending++;
                        if (oldest is null || row.EnqueuedAt < oldest)
                        {
                            oldest = row.EnqueuedAt;
                        }
                        break;
                    case DeliveryStatus.Delivered:
                        delivered++;
                        break;
                    default:
                        deadLettered++;
                        break;
                }
            }
            return Task.FromResult(new OutboxCounts(pending, delivered, deadLettered, oldest));
        }
    }

    private Row Find(string grantId) =>
        _rows.TryGetValue(grantId, out var row) ? row : throw new InvalidOperationException($"Grant '{grantId}' is not in the outbox.");

    private void Reschedule(Row row, DateTimeOffset at)
    {
        if (row.NextAttemptAt is { } current)
        {
            _due.Remove((current.UtcTicks, row.Sequence));
        }
        row.NextAttemptAt = at;
        _due.Add((at.UtcTicks, row.Sequence));
    }

    private void Unschedule(Row row)
    {
        if (row.NextAttemptAt is { } current)
        {
            _due.Remove((current.UtcTicks, row.Sequence));
        }
        row.NextAttemptAt = null;
    }

    private sealed class Row(string grantId, byte[] payload, long sequence, DateTimeOffset enqueuedAt)
    {
        public string GrantId { get; } = grantId;
        public byte[] Payload { get; } = payload;
        public long Sequence { get; } = sequence;
        public DateTimeOffset EnqueuedAt { get; } = enqueuedAt;
        public DeliveryStatus Status { get; set; }
        public int Attempts { get; set; }
        public int TotalAttempts { get; set; }
        public DateTimeOffset? NextAttemptAt { get; set; }
        public DateTimeOffset? LastAttemptAt { get; set; }
        public int? LastStatusCode { get; set; }
        public string? LastError { get; set; }
        public DateTimeOffset? DeliveredAt { get; set; }
        public DateTimeOffset? DeadLetteredAt { get; set; }

        public DeliveryState ToState() => new(GrantId, Status, Attempts, TotalAttempts, EnqueuedAt, NextAttemptAt, LastAttemptAt,
            LastStatusCode, LastError, DeliveredAt, DeadLetteredAt);
    }
}
