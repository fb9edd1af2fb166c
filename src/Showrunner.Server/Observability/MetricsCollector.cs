using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using Showrunner.Runtime.Observability;

namespace Showrunner.Server.Observability;

/// <summary>What kind of series a metric has (Prometheus' <c># TYPE</c>).</summary>
public enum MetricKind
{
    Counter,
    Gauge,
    Histogram,
}

/// <summary>
/// A histogram's state: <see cref="Bounds"/> are the bucket upper bounds (ascending),
/// <see cref="Counts"/> the measurements per bucket (not cumulative; one more than the bounds,
/// the last being the +Inf bucket), <see cref="Count"/> their total and <see cref="Sum"/> the sum
/// of the measured values.
/// </summary>
public sealed record HistogramValue(IReadOnlyList<double> Bounds, IReadOnlyList<long> Counts, long Count, double Sum)
{
    /// <summary>
    /// The <paramref name="q"/>-quantile (0..1) estimated from the buckets as Prometheus'
    /// <c>histogram_quantile</c> does: linear within the bucket that holds the rank (the first
    /// bucket starts at 0); a rank in the +Inf bucket answers the largest finite bound. Null when
    /// the histogram is empty.
    /// </summary>
    public double? Quantile(double q)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(q, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(q, 1);
        if (Count == 0)
        {
            return null;
        }
        double rank = q * Count;
        long below = 0;
        for (int i = 0; i < Counts.Count; i++)
        {
            long inBucket = Counts[i];
            if (below + inBucket >= rank && inBucket > 0)
            {
                if (i == Bounds.Count)
                {
                    return Bounds.Count == 0 ? double.NaN : Bounds[^1];
                }
                double lower = i == 0 ? 0 : Bounds[i - 1];
                double upper = Bounds[i];
                return lower + ((upper - lower) * ((rank - below) / inBucket));
            }
            below += inBucket;
        }
        return Bounds.Count == 0 ? double.NaN : Bounds[^1];
    }

    /// <summary>Adds two histograms with the same bounds.</summary>
    public HistogramValue Plus(HistogramValue other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (!Bounds.SequenceEqual(other.Bounds))
        {
            throw new ArgumentException("The histograms have different bucket bounds.", nameof(other));
        }
        return new HistogramValue(Bounds, [.. Counts.Zip(other.Counts, (a, b) => a + b)], Count + other.Count, Sum + other.Sum);
    }
}

/// <summary>One series: its labels (sorted by name) and its value — the number for a counter or gauge, <see cref="Histogram"/> for a histogram (then <see cref="Value"/> is its count).</summary>
public sealed record MetricSeries(IReadOnlyList<KeyValuePair<string, string>> Labels, double Value, HistogramValue? Histogram)
{
    /// <summary>The label's value, or null when the series does not have it.</summary>
    public string? Label(string name)
    {
        foreach (var label in Labels)
        {
            if (label.Key == name)
            {
                return label.Value;
            }
        }
        return null;
    }

    /// <summary>True when the series has every given label with the given value.</summary>
    public bool Matches(ReadOnlySpan<(string Key, string Value)> labels)
    {
        foreach (var (key, value) in labels)
        {
            if (Label(key) != value)
            {
                return false;
            }
        }
        return true;
    }
}

/// <summary>A metric (an instrument) with every series it has so far, sorted by labels.</summary>
public sealed record MetricFamily(string Name, string Unit, string Description, MetricKind Kind, IReadOnlyList<MetricSeries> Series);

/// <summary>
/// Every Showrunner metric at one moment (<see cref="MetricsCollector.Snapshot"/>), sorted by
/// name, with helpers that sum over label subsets. Immutable: take two snapshots and subtract to
/// get rates.
/// </summary>
public sealed class MetricsSnapshot(DateTimeOffset at, IReadOnlyList<MetricFamily> metrics)
{
    public DateTimeOffset At { get; } = at;
    public IReadOnlyList<MetricFamily> Metrics { get; } = metrics;

    /// <summary>The metric with this instrument name (e.g. <see cref="ShowrunnerMetrics.Names.ActionsAccepted"/>), or null.</summary>
    public MetricFamily? Find(string name)
    {
        foreach (var family in Metrics)
        {
            if (family.Name == name)
            {
                return family;
            }
        }
        return null;
    }

    /// <summary>
    /// The sum of a counter's (or gauge's) series that have all the given labels: no labels sums
    /// every series. 0 when the metric has no such series yet.
    /// </summary>
    public long Counter(string name, params (string Key, string Value)[] labels) => (long)Math.Round(Sum(name, labels));

    /// <summary>Like <see cref="Counter"/> without rounding: for gauges and fractional values.</summary>
    public double Sum(string name, params (string Key, string Value)[] labels)
    {
        double sum = 0;
        if (Find(name) is { } family)
        {
            foreach (var series in family.Series)
            {
                if (series.Matches(labels))
                {
                    sum += series.Value;
                }
            }
        }
        return sum;
    }

    /// <summary>The histogram's series that have all the given labels, added up; null when there is none.</summary>
    public HistogramValue? Histogram(string name, params (string Key, string Value)[] labels)
    {
        HistogramValue? merged = null;
        if (Find(name) is { Kind: MetricKind.Histogram } family)
        {
            foreach (var series in family.Series)
            {
                if (series.Histogram is { } histogram && series.Matches(labels))
                {
                    merged = merged is null ? histogram : merged.Plus(histogram);
                }
            }
        }
        return merged;
    }

    /// <summary>The <paramref name="q"/>-quantile of a histogram (<see cref="HistogramValue.Quantile"/>), or null when it has no measurement.</summary>
    public double? Quantile(string histogram, double q, params (string Key, string Value)[] labels) => Histogram(histogram, labels)?.Quantile(q);
}

/// <summary>
/// The server's in-process view of its metrics: a <see cref="MeterListener"/> on the host's
/// <see cref="ShowrunnerMetrics"/> meter (and no other) that aggregates every measurement
/// lock-free — counters as sums, histograms as bucket counts with sum and count — and reads the
/// gauges when a snapshot is taken. <c>GET /metrics</c> renders <see cref="Snapshot"/>; the
/// dashboard reads the same snapshots (docs/observability.md, "Reading metrics in process").
/// </summary>
/// <remarks>
/// Cost per measurement: one dictionary lookup by a stack-built label key (none for a metric
/// without labels) and one or three interlocked updates; no allocation once a series exists, no
/// lock. Series are never removed (the label values — rejection codes, event ids, currencies —
/// come from a bounded set: the protocol's codes and the releases' declarations), except gauge
/// series, which are read afresh at every snapshot.
/// </remarks>
public sealed class MetricsCollector : IDisposable
{
    /// <summary>Counters and histograms without labels: shown as 0 before their first measurement, so a rate is defined from the start.</summary>
    private static readonly HashSet<string> Unlabelled = new(StringComparer.Ordinal)
    {
        ShowrunnerMetrics.Names.ActionsReceived, ShowrunnerMetrics.Names.ActionsAccepted, ShowrunnerMetrics.Names.ActionsDuplicates,
        ShowrunnerMetrics.Names.AckLatency, ShowrunnerMetrics.Names.QueueWait, ShowrunnerMetrics.Names.CommitBatchSize,
        ShowrunnerMetrics.Names.CommitLatency, ShowrunnerMetrics.Names.CommitFailures, ShowrunnerMetrics.Names.LedgerCheckpoints,
        ShowrunnerMetrics.Names.LedgerCheckpointDuration,
    };

    private static readonly double[] DefaultBounds = [.. ShowrunnerMetrics.LatencyBucketsSeconds];

    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<Instrument, InstrumentState> _instruments = new();
    private readonly TimeProvider _time;
    private readonly Lock _snapshotLock = new();

    public MetricsCollector(ShowrunnerMetrics metrics, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        _time = time;
        var meter = metrics.Meter;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (!ReferenceEquals(instrument.Meter, meter))
            {
                return;
            }
            var state = new InstrumentState(instrument);
            _instruments[instrument] = state;
            listener.EnableMeasurementEvents(instrument, state);
        };
        _listener.SetMeasurementEventCallback<long>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>(static (_, value, tags, state) => ((InstrumentState)state!).Record((long)value, tags));
        _listener.SetMeasurementEventCallback<double>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.Start();
    }

    /// <summary>Reads the gauges and returns every metric with all its series.</summary>
    public MetricsSnapshot Snapshot()
    {
        lock (_snapshotLock)
        {
            foreach (var state in _instruments.Values)
            {
                if (state.Kind == MetricKind.Gauge)
                {
                    state.Series.Clear();
                }
            }
            _listener.RecordObservableInstruments();
            var families = _instruments.Values
                .Select(state => state.ToFamily())
                .OrderBy(family => family.Name, StringComparer.Ordinal)
                .ToList();
            return new MetricsSnapshot(_time.GetUtcNow(), families);
        }
    }

    /// <summary>A counter summed over the series with the given labels (<see cref="MetricsSnapshot.Counter"/> of a fresh snapshot).</summary>
    public long Counter(string name, params (string Key, string Value)[] labels) => Snapshot().Counter(name, labels);

    /// <summary>A histogram's quantile over the series with the given labels (<see cref="MetricsSnapshot.Quantile"/> of a fresh snapshot).</summary>
    public double? Quantile(string histogram, double q, params (string Key, string Value)[] labels) => Snapshot().Quantile(histogram, q, labels);

    public void Dispose() => _listener.Dispose();

    private sealed class InstrumentState
    {
        private readonly Instrument _instrument;
        private readonly double[] _bounds;
        private Series? _unlabelled;

        public InstrumentState(Instrument instrument)
        {
            _instrument = instrument;
            Kind = instrument switch
            {
                Histogram<double> or Histogram<long> or Histogram<int> => MetricKind.Histogram,
                Counter<long> or Counter<int> or Counter<double> or ObservableCounter<long> or ObservableCounter<double> => MetricKind.Counter,
                _ => MetricKind.Gauge,
            };
            _bounds = Kind != MetricKind.Histogram ? [] : instrument switch
            {
                Histogram<double> h when h.Advice?.HistogramBucketBoundaries is { } b => [.. b],
                Histogram<long> h when h.Advice?.HistogramBucketBoundaries is { } b => [.. b.Select(x => (double)x)],
                Histogram<int> h when h.Advice?.HistogramBucketBoundaries is { } b => [.. b.Select(x => (double)x)],
                _ => DefaultBounds,
            };
            if (Kind != MetricKind.Gauge && Unlabelled.Contains(instrument.Name))
            {
                _unlabelled = new Series([], _bounds.Length);
            }
        }

        public MetricKind Kind { get; }

        public ConcurrentDictionary<LabelKey, Series> Series { get; } = new();

        /// <summary>A whole-number measurement: a counter adds it exactly (one interlocked add), anything else records it as a double.</summary>
        public void Record(long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (Kind == MetricKind.Counter)
            {
                Find(tags).Add(value);
                return;
            }
            Record((double)value, tags);
        }

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var series = Find(tags);
            switch (Kind)
            {
                case MetricKind.Histogram:
                    series.Observe(value, BucketOf(value));
                    break;
                case MetricKind.Counter:
                    series.Add(value);
                    break;
                default:
                    series.Set(value);
                    break;
            }
        }

        private int BucketOf(double value)
        {
            // Prometheus buckets are "less than or equal": the first bound not below the value.
            int index = Array.BinarySearch(_bounds, value);
            return index >= 0 ? index : ~index;
        }

        private Series Find(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (tags.Length == 0 && Kind != MetricKind.Gauge)
            {
                return Volatile.Read(ref _unlabelled) ?? Interlocked.CompareExchange(ref _unlabelled, new Series([], _bounds.Length), null) ?? _unlabelled;
            }
            var key = LabelKey.Of(tags);
            if (Series.TryGetValue(key, out var series))
            {
                return series;
            }
            return Series.GetOrAdd(key, static (k, buckets) => new Series(k.ToLabels(), buckets), _bounds.Length);
        }

        public MetricFamily ToFamily()
        {
            var all = new List<MetricSeries>();
            if (Kind != MetricKind.Gauge && Volatile.Read(ref _unlabelled) is { } unlabelled)
            {
                all.Add(unlabelled.ToSeries(Kind, _bounds));
            }
            foreach (var series in Series.Values)
            {
                all.Add(series.ToSeries(Kind, _bounds));
            }
            all.Sort(static (a, b) => CompareLabels(a.Labels, b.Labels));
            return new MetricFamily(_instrument.Name, _instrument.Unit ?? "", _instrument.Description ?? "", Kind, all);
        }

        private static int CompareLabels(IReadOnlyList<KeyValuePair<string, string>> a, IReadOnlyList<KeyValuePair<string, string>> b)
        {
            for (int i = 0; i < Math.Min(a.Count, b.Count); i++)
            {
                int c = string.CompareOrdinal(a[i].Key, b[i].Key);
                if (c == 0)
                {
                    c = string.CompareOrdinal(a[i].Value, b[i].Value);
                }
                if (c != 0)
                {
                    return c;
                }
            }
            return a.Count.CompareTo(b.Count);
        }
    }

    /// <summary>
    /// One series' running state: a whole-number sum (counters of longs: one interlocked add), a
    /// double (as bits, for interlocked updates: gauges, fractional counters, a histogram's sum) and
    /// a histogram's buckets, whose total is its count.
    /// </summary>
    private sealed class Series(KeyValuePair<string, string>[] labels, int bounds)
    {
        private readonly long[] _buckets = new long[bounds + 1];
        private long _valueBits;
        private long _whole;

        public KeyValuePair<string, string>[] Labels { get; } = labels;

        public void Add(long value) => Interlocked.Add(ref _whole, value);

        public void Add(double value)
        {
            long seen = Volatile.Read(ref _valueBits);
            while (true)
            {
                long next = BitConverter.DoubleToInt64Bits(BitConverter.Int64BitsToDouble(seen) + value);
                long found = Interlocked.CompareExchange(ref _valueBits, next, seen);
                if (found == seen)
                {
                    return;
                }
                seen = found;
            }
        }

        public void Set(double value) => Volatile.Write(ref _valueBits, BitConverter.DoubleToInt64Bits(value));

        public void Observe(double value, int bucket)
        {
            Interlocked.Increment(ref _buckets[bucket]);
            Add(value);
        }

        public MetricSeries ToSeries(MetricKind kind, double[] bounds)
        {
            double value = BitConverter.Int64BitsToDouble(Volatile.Read(ref _valueBits)) + Volatile.Read(ref _whole);
            if (kind != MetricKind.Histogram)
            {
                return new MetricSeries(Labels, value, null);
            }
            long[] counts = new long[_buckets.Length];
            for (int i = 0; i < counts.Length; i++)
            {
                counts[i] = Volatile.Read(ref _buckets[i]);
            }
            // The count is the sum of the buckets read, so count and buckets never disagree in a snapshot.
            long count = counts.Sum();
            return new MetricSeries(Labels, count, new HistogramValue(bounds, counts, count, value));
        }
    }

    /// <summary>
    /// Labels as a dictionary key, built on the stack from a measurement's tags: up to four
    /// (name, value) pairs sorted by name; more are joined into one string (allocates; no
    /// Showrunner instrument has more than four labels).
    /// </summary>
    private readonly record struct LabelKey(string? K0, string? V0, string? K1, string? V1, string? K2, string? V2, string? K3, string? V3, string? Overflow)
    {
        public static LabelKey Of(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (tags.Length > 4)
            {
                var sorted = tags.ToArray().Select(t => (t.Key, Text(t.Value))).OrderBy(t => t.Key, StringComparer.Ordinal);
                return new LabelKey(null, null, null, null, null, null, null, null, string.Join("\u0001", sorted.Select(t => t.Key + "\u0002" + t.Item2)));
            }
            Span<int> order = [0, 1, 2, 3];
            int n = tags.Length;
            for (int i = 1; i < n; i++)
            {
                for (int j = i; j > 0 && string.CompareOrdinal(tags[order[j - 1]].Key, tags[order[j]].Key) > 0; j--)
                {
                    (order[j - 1], order[j]) = (order[j], order[j - 1]);
                }
            }
            Span<string?> keys = [null, null, null, null];
            Span<string?> values = [null, null, null, null];
            for (int i = 0; i < n; i++)
            {
                keys[i] = tags[order[i]].Key;
                values[i] = Text(tags[order[i]].Value);
            }
            return new LabelKey(keys[0], values[0], keys[1], values[1], keys[2], values[2], keys[3], values[3], null);
        }

        private static string Text(object? value) => value switch
        {
            null => "",
            string s => s,
            bool b => b ? "true" : "false",
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? "",
        };

        public KeyValuePair<string, string>[] ToLabels()
        {
            if (Overflow is not null)
            {
                return [.. Overflow.Split('\u0001').Select(p => p.Split('\u0002')).Select(p => KeyValuePair.Create(p[0], p[1]))];
            }
            var labels = new List<KeyValuePair<string, string>>(4);
            if (K0 is not null) { labels.Add(KeyValuePair.Create(K0, V0!)); }
            if (K1 is not null) { labels.Add(KeyValuePair.Create(K1, V1!)); }
            if (K2 is not null) { labels.Add(KeyValuePair.Create(K2, V2!)); }
            if (K3 is not null) { labels.Add(KeyValuePair.Create(K3, V3!)); }
            return [.. labels];
        }
    }
}
