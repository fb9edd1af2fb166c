using System.Numerics;

namespace Showrunner.Core.Rollouts;

/// <summary>
/// What one cohort (baseline or candidate) did during a rollout step on one partition: actions
/// evaluated, actions rejected by schema, processing latency (log-scale histogram in microseconds),
/// and grants and amounts per event and per currency or item. Written by the partition's single
/// executor; read (approximately, without locks) by the gate evaluator — every field is a 64-bit
/// counter that only grows, so a reader sees a slightly stale but never torn value.
/// </summary>
public sealed class CohortMeter
{
    /// <summary>Histogram buckets: bucket b holds latencies in [2^(b-1), 2^b) microseconds (bucket 0: under 1 µs); the last is open-ended.</summary>
    public const int LatencyBuckets = 32;

    private readonly long[] _latency = new long[LatencyBuckets];
    private readonly Dictionary<string, EventCounters> _events = new(StringComparer.Ordinal);
    private readonly Lock _eventsLock = new();
    private long _actions;
    private long _rejected;

    public long Actions => Volatile.Read(ref _actions);
    public long Rejected => Volatile.Read(ref _rejected);

    public void CountAction(long latencyMicroseconds)
    {
        Volatile.Write(ref _actions, _actions + 1);
        int bucket = latencyMicroseconds <= 0 ? 0 : Math.Min(LatencyBuckets - 1, 64 - BitOperations.LeadingZeroCount((ulong)latencyMicroseconds));
        Volatile.Write(ref _latency[bucket], _latency[bucket] + 1);
    }

    public void CountRejected(long latencyMicroseconds)
    {
        Volatile.Write(ref _rejected, _rejected + 1);
        CountAction(latencyMicroseconds);
    }

    public void CountGrant(string eventId, IReadOnlyList<Ledger.RewardLine> rewards)
    {
        ArgumentNullException.ThrowIfNull(rewards);
        EventCounters counters;
        lock (_eventsLock)
        {
            if (!_events.TryGetValue(eventId, out counters!))
            {
                counters = new EventCounters();
                _events.Add(eventId, counters);
            }
            counters.Grants++;
            foreach (var line in rewards)
            {
                counters.Amounts[line.Name] = counters.Amounts.GetValueOrDefault(line.Name) + line.Amount;
            }
            // The largest amount of each reward one grant carried (a grant may list a reward twice):
            // the gates scale amounts by it to count reward "units" (Gates, reward_rate).
            foreach (var line in rewards)
            {
                long inGrant = 0;
                foreach (var other in rewards)
                {
                    inGrant += other.Name == line.Name ? other.Amount : 0;
                }
                counters.MaxAmounts[line.Name] = Math.Max(counters.MaxAmounts.GetValueOrDefault(line.Name), Math.Abs(inGrant));
            }
        }
    }

    /// <summary>Adds this meter's counts to <paramref name="total"/>.</summary>
    public void AddTo(CohortTotals total)
    {
        ArgumentNullException.ThrowIfNull(total);
        total.Actions += Actions;
        total.Rejected += Rejected;
        for (int b = 0; b < LatencyBuckets; b++)
        {
            total.Latency[b] += Volatile.Read(ref _latency[b]);
        }
        lock (_eventsLock)
        {
            foreach (var (eventId, counters) in _events)
            {
                var into = total.Event(eventId);
                into.Grants += counters.Grants;
                foreach (var (name, amount) in counters.Amounts)
                {
                    into.Amounts[name] = into.Amounts.GetValueOrDefault(name) + amount;
                }
                foreach (var (name, largest) in counters.MaxAmounts)
                {
                    into.MaxAmounts[name] = Math.Max(into.MaxAmounts.GetValueOrDefault(name), largest);
                }
            }
        }
    }

    public sealed class EventCounters
    {
        public long Grants { get; set; }
        public SortedDictionary<string, long> Amounts { get; } = new(StringComparer.Ordinal);

        /// <summary>Per currency or item: the largest amount a single grant carried (absolute value).</summary>
        public SortedDictionary<string, long> MaxAmounts { get; } = new(StringComparer.Ordinal);
    }
}

/// <summary>A cohort's counts over every partition.</summary>
public sealed class CohortTotals
{
    public long Actions { get; set; }
    public long Rejected { get; set; }
    public long[] Latency { get; } = new long[CohortMeter.LatencyBuckets];
    public SortedDictionary<string, CohortMeter.EventCounters> Events { get; } = new(StringComparer.Ordinal);

    public CohortMeter.EventCounters Event(string eventId)
    {
        if (!Events.TryGetValue(eventId, out var counters))
        {
            counters = new CohortMeter.EventCounters();
            Events.Add(eventId, counters);
        }
        return counters;
    }

    /// <summary>The upper bound (µs) of the histogram bucket holding the 95th percentile; 0 without actions.</summary>
    public long P95Microseconds
    {
        get
        {
            long total = Latency.Sum();
            if (total == 0)
            {
                return 0;
            }
            long rank = (total * 95 + 99) / 100;
            long seen = 0;
            for (int b = 0; b < Latency.Length; b++)
            {
                seen += Latency[b];
                if (seen >= rank)
                {
                    return b == 0 ? 1 : 1L << b;
                }
            }
            return 1L << (Latency.Length - 1);
        }
    }
}
