using Showrunner.Core.Ledger;
using Showrunner.Runtime.Ingest;
using Showrunner.Storage;

namespace Showrunner.Server.Dashboard;

/// <summary>Grants and reward amounts one event received (cumulative since the tail started).</summary>
internal sealed class EventRewards
{
    public long Grants { get; set; }

    /// <summary>Net amount per currency or item (corrections count negative), by name.</summary>
    public SortedDictionary<string, long> Amounts { get; } = new(StringComparer.Ordinal);

    public EventRewards Copy()
    {
        var copy = new EventRewards { Grants = Grants };
        foreach (var (name, amount) in Amounts)
        {
            copy.Amounts[name] = amount;
        }
        return copy;
    }
}

/// <summary>
/// Follows the committed ledger to split grants and amounts by event: each call reads the entries
/// committed since the previous one (only those: it starts at the heads it first sees) and adds
/// them to cumulative totals. The ledger is the durable truth of what was granted, so the
/// dashboard's grants per event are exactly what the ledger holds, across restarts of the page.
/// </summary>
/// <remarks>
/// Cost is proportional to the grants committed between two calls, bounded by
/// <c>maxEntries</c> per call; entries beyond the bound are counted in <see cref="Unsplit"/>
/// (so totals stay exact) and skipped, never queued, so the tail cannot fall behind without end.
/// Single caller (the sampler); not thread-safe.
/// </remarks>
internal sealed class LedgerTail(IngestPipeline pipeline, ILedgerStore ledger)
{
    private const int PageSize = 1_000;
    private long[]? _next;
    private readonly SortedDictionary<string, EventRewards> _events = new(StringComparer.Ordinal);

    /// <summary>Entries committed since the tail started that were counted but not read (over the per-call bound).</summary>
    public long Unsplit { get; private set; }

    /// <summary>Entries that could not be decoded (a damaged ledger: <c>showrunner ledger verify</c> names them).</summary>
    public long Undecodable { get; private set; }

    /// <summary>Cumulative grants per event since the tail started.</summary>
    public IReadOnlyDictionary<string, EventRewards> Events => _events;

    /// <summary>Reads what was committed since the last call, at most <paramref name="maxEntries"/> entries.</summary>
    public void Advance(int maxEntries)
    {
        var heads = pipeline.CommittedLedgerHeads();
        if (_next is null || _next.Length != heads.Length)
        {
            _next = [.. heads.Select(h => h.Size)];
            return;
        }
        int budget = maxEntries;
        for (int p = 0; p < heads.Length; p++)
        {
            long head = heads[p].Size;
            while (_next[p] < head && budget > 0)
            {
                var rows = ledger.ReadEntries(p, _next[p], (int)Math.Min(Math.Min(PageSize, budget), head - _next[p]));
                if (rows.Count == 0)
                {
                    break;
                }
                foreach (var row in rows)
                {
                    Add(row);
                    _next[p] = row.Index + 1;
                }
                budget -= rows.Count;
            }
            if (_next[p] < head)
            {
                Unsplit += head - _next[p];
                _next[p] = head;
            }
        }
    }

    private void Add(LedgerRow row)
    {
        var (entry, _) = GrantEntry.Decode(row.Entry, row.PrevHash);
        if (entry is null)
        {
            Undecodable++;
            return;
        }
        if (!_events.TryGetValue(entry.EventId, out var rewards))
        {
            rewards = new EventRewards();
            _events.Add(entry.EventId, rewards);
        }
        rewards.Grants++;
        foreach (var line in entry.Rewards)
        {
            rewards.Amounts[line.Name] = rewards.Amounts.GetValueOrDefault(line.Name) + line.Amount;
        }
    }
}
