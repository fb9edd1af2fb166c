using Showrunner.Storage.Audit;

namespace Showrunner.Storage.Memory;

/// <summary>The append-only audit log in memory (see <see cref="IAuditStore"/>).</summary>
internal sealed class InMemoryAuditStore : IAuditStore
{
    private readonly Lock _lock = new();
    private readonly List<StoredAuditEntry> _entries = [];

    public StoredAuditEntry? Head()
    {
        lock (_lock)
        {
            return _entries.Count == 0 ? null : _entries[^1];
        }
    }

    public void Append(StoredAuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        lock (_lock)
        {
            long headSeq = _entries.Count == 0 ? 0 : _entries[^1].Seq;
            byte[] headHash = _entries.Count == 0 ? new byte[32] : _entries[^1].Hash;
            if (entry.Seq != headSeq + 1 || !entry.PrevHash.AsSpan().SequenceEqual(headHash))
            {
                throw new InvalidOperationException($"Audit entry {entry.Seq} does not extend the stored audit log (its head moved or differs): nothing was written.");
            }
            _entries.Add(entry);
        }
    }

    public IReadOnlyList<StoredAuditEntry> Query(AuditQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        lock (_lock)
        {
            var matching = _entries.Where(e =>
                (query.AfterSeq is not { } after || e.Seq > after) &&
                (query.BeforeSeq is not { } before || e.Seq < before) &&
                (query.Action is null || e.Action == query.Action) &&
                (query.Actor is null || e.Actor == query.Actor) &&
                (query.Target is null || e.Target == query.Target));
            return [.. (query.AfterSeq is null ? matching.Reverse() : matching).Take(query.Limit)];
        }
    }
}

/// <summary>Approval requests in memory (see <see cref="IApprovalStore"/>): each move is a compare-and-set on the status.</summary>
internal sealed class InMemoryApprovalStore : IApprovalStore
{
    private readonly Lock _lock = new();
    private readonly List<StoredApproval> _approvals = [];

    public StoredApproval Insert(StoredApproval request)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_lock)
        {
            var stored = request with
            {
                Id = _approvals.Count + 1,
                Status = ApprovalStatuses.Pending,
                DecidedBy = null,
                DecidedAtTicks = null,
                DecisionReason = null,
                ResultStatus = null,
                Result = null,
            };
            _approvals.Add(stored);
            return stored;
        }
    }

    public StoredApproval? Find(long id)
    {
        lock (_lock)
        {
            return id >= 1 && id <= _approvals.Count ? _approvals[(int)id - 1] : null;
        }
    }

    public IReadOnlyList<StoredApproval> List(int limit, long? beforeId, string? status)
    {
        lock (_lock)
        {
            long before = beforeId ?? long.MaxValue;
            return [.. Enumerable.Reverse(_approvals).Where(a => a.Id < before && (status is null || a.Status == status)).Take(limit)];
        }
    }

    public IReadOnlyList<StoredApproval> FindPending(string kind, string subject)
    {
        lock (_lock)
        {
            return [.. _approvals.Where(a => a.Status == ApprovalStatuses.Pending && a.Kind == kind && a.Subject == subject)];
        }
    }

    public int CountPending()
    {
        lock (_lock)
        {
            return _approvals.Count(a => a.Status == ApprovalStatuses.Pending);
        }
    }

    public bool TryDecide(long id, string from, string to, string? decidedBy, long decidedAtTicks, string? reason)
    {
        lock (_lock)
        {
            if (Find(id) is not { } approval || approval.Status != from)
            {
                return false;
            }
            CheckMove(from, to);
            _approvals[(int)id - 1] = approval with { Status = to, DecidedBy = decidedBy, DecidedAtTicks = decidedAtTicks, DecisionReason = reason };
            return true;
        }
    }

    public bool TryComplete(long id, string to, int resultStatus, string result)
    {
        if (to is not (ApprovalStatuses.Executed or ApprovalStatuses.Failed))
        {
            throw new ArgumentException($"An approved request completes as executed or failed, not {to}.", nameof(to));
        }
        lock (_lock)
        {
            if (Find(id) is not { Status: ApprovalStatuses.Approved } approval)
            {
                return false;
            }
            _approvals[(int)id - 1] = approval with { Status = to, ResultStatus = resultStatus, Result = result };
            return true;
        }
    }

    public int ExpireDue(long nowTicks)
    {
        lock (_lock)
        {
            int expired = 0;
            for (int i = 0; i < _approvals.Count; i++)
            {
                if (_approvals[i] is { Status: ApprovalStatuses.Pending } approval && approval.ExpiresAtTicks <= nowTicks)
                {
                    _approvals[i] = approval with { Status = ApprovalStatuses.Expired, DecidedAtTicks = approval.ExpiresAtTicks };
                    expired++;
                }
            }
            return expired;
        }
    }

    /// <summary>The only moves (the SQLite store's trigger refuses the others the same way: an exception, nothing changed).</summary>
    private static void CheckMove(string from, string to)
    {
        bool allowed = from switch
        {
            ApprovalStatuses.Pending => to is ApprovalStatuses.Approved or ApprovalStatuses.Rejected or ApprovalStatuses.Expired,
            ApprovalStatuses.Approved => to is ApprovalStatuses.Executed or ApprovalStatuses.Failed,
            _ => false,
        };
        if (!allowed)
        {
            throw new InvalidOperationException($"An approval request only moves forward: {from} -> {to} is not a move.");
        }
    }
}
