using System.Globalization;
using Showrunner.Runtime.Observability;
using Showrunner.Server.Observability;

namespace Showrunner.Server.Tests.Observability;

/// <summary>The Prometheus text exposition (format 0.0.4) of a snapshot, and the collector's aggregation beneath it.</summary>
[Trait("Category", "Unit")]
public sealed class PrometheusTextTests
{
    /// <summary>Samples of an exposition: "name{labels}" exactly as written → value. Fails on a line that is not a comment or a sample.</summary>
    internal static Dictionary<string, double> Parse(string text)
    {
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith('#'))
            {
                Assert.Matches(@"^# (HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*|TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram))$", line);
                continue;
            }
            int space = line.LastIndexOf(' ');
            Assert.True(space > 0, "not a sample: " + line);
            string value = line[(space + 1)..];
            samples[line[..space]] = value switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                _ => double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture),
            };
        }
        return samples;
    }

    private static (ShowrunnerMetrics Metrics, MetricsCollector Collector) NewCollector()
    {
        var metrics = new ShowrunnerMetrics();
        return (metrics, new MetricsCollector(metrics, TimeProvider.System));
    }

    [Fact]
    public void A_histogram_has_cumulative_buckets_ending_in_inf_then_sum_and_count()
    {
        var (metrics, collector) = NewCollector();
        using var _ = metrics;
        using var __ = collector;
        foreach (double seconds in new[] { 0.0001, 0.0005, 0.0007, 0.004, 0.004, 99 })
        {
            metrics.AckLatency.Record(seconds);
        }
        string text = PrometheusText.Render(collector.Snapshot());
        var samples = Parse(text);
        Assert.Equal(1, samples["showrunner_ack_latency_seconds_bucket{le=\"0.00025\"}"]);
        Assert.Equal(2, samples["showrunner_ack_latency_seconds_bucket{le=\"0.0005\"}"]);
        Assert.Equal(3, samples["showrunner_ack_latency_seconds_bucket{le=\"0.001\"}"]);
        Assert.Equal(5, samples["showrunner_ack_latency_seconds_bucket{le=\"0.005\"}"]);
        Assert.Equal(5, samples["showrunner_ack_latency_seconds_bucket{le=\"10\"}"]);
        Assert.Equal(6, samples["showrunner_ack_latency_seconds_bucket{le=\"+Inf\"}"]);
        Assert.Equal(6, samples["showrunner_ack_latency_seconds_count"]);
        Assert.Equal(99.0093, samples["showrunner_ack_latency_seconds_sum"], 9);

        // The buckets come in bound order, +Inf last, then _sum and _count.
        var lines = text.Split('\n').Where(l => l.StartsWith("showrunner_ack_latency_seconds", StringComparison.Ordinal)).ToList();
        Assert.Equal(ShowrunnerMetrics.LatencyBucketsSeconds.Count + 3, lines.Count);
        Assert.StartsWith("showrunner_ack_latency_seconds_bucket{le=\"+Inf\"}", lines[^3], StringComparison.Ordinal);
        Assert.StartsWith("showrunner_ack_latency_seconds_sum", lines[^2], StringComparison.Ordinal);
        Assert.StartsWith("showrunner_ack_latency_seconds_count", lines[^1], StringComparison.Ordinal);
        int type = text.IndexOf("# TYPE showrunner_ack_latency_seconds histogram\n", StringComparison.Ordinal);
        Assert.True(type >= 0 && type < text.IndexOf(lines[0], StringComparison.Ordinal));
    }

    [Fact]
    public void Label_values_escape_backslash_quote_and_newline_and_names_are_sanitized()
    {
        var (metrics, collector) = NewCollector();
        using var _ = metrics;
        using var __ = collector;
        metrics.Grants.Add(2, new KeyValuePair<string, object?>("event", "a\\b\"c\nd"), new KeyValuePair<string, object?>("kind", "action"));
        string text = PrometheusText.Render(collector.Snapshot());
        Assert.Contains("showrunner_grants_total{event=\"a\\\\b\\\"c\\nd\",kind=\"action\"} 2\n", text, StringComparison.Ordinal);
        Assert.Equal("showrunner_ack_latency_seconds", PrometheusText.MetricName("showrunner.ack.latency", "s"));
        Assert.Equal("showrunner_commit_batch_size", PrometheusText.MetricName("showrunner.commit.batch_size", "{action}"));
        Assert.Equal("a_b_c:d", PrometheusText.Sanitize("a.b-c:d", allowColon: true));
        Assert.Equal("_9lives", PrometheusText.Sanitize("9lives", allowColon: false));
        Assert.Equal("a\\\\b\\nc", PrometheusText.EscapeHelp("a\\b\nc"));
    }

    [Fact]
    public void Counters_end_in_total_and_unlabelled_ones_show_zero_before_their_first_measurement()
    {
        var (metrics, collector) = NewCollector();
        using var _ = metrics;
        using var __ = collector;
        var samples = Parse(PrometheusText.Render(collector.Snapshot()));
        Assert.Equal(0, samples["showrunner_actions_accepted_total"]);
        Assert.Equal(0, samples["showrunner_ack_latency_seconds_count"]);
        // A labelled counter has no series until it is first counted, and no sample without labels.
        Assert.DoesNotContain(samples.Keys, k => k.StartsWith("showrunner_actions_rejected_total", StringComparison.Ordinal));
        metrics.ActionsAccepted.Add(5);
        metrics.ActionsAccepted.Add(2);
        Assert.Equal(7, Parse(PrometheusText.Render(collector.Snapshot()))["showrunner_actions_accepted_total"]);
    }

    [Fact]
    public void Gauges_are_read_at_each_snapshot_and_a_gauge_without_a_source_shows_no_sample()
    {
        var (metrics, collector) = NewCollector();
        using var _ = metrics;
        using var __ = collector;
        Assert.DoesNotContain(Parse(PrometheusText.Render(collector.Snapshot())).Keys, k => k.StartsWith("showrunner_partition_queue_depth", StringComparison.Ordinal));
        int depth = 3;
        metrics.ObserveQueue(() => (depth, 2));
        Assert.Equal(3, collector.Snapshot().Sum(ShowrunnerMetrics.Names.PartitionQueueDepth));
        depth = 0;
        var snapshot = collector.Snapshot();
        Assert.Equal(0, snapshot.Sum(ShowrunnerMetrics.Names.PartitionQueueDepth));
        Assert.Equal(2, snapshot.Sum(ShowrunnerMetrics.Names.PartitionQueueDepthMax));
    }

    [Fact]
    public void Labels_sum_over_subsets_in_any_tag_order()
    {
        var (metrics, collector) = NewCollector();
        using var _ = metrics;
        using var __ = collector;
        KeyValuePair<string, object?> T(string k, string v) => new(k, v);
        metrics.CurrencyGranted.Add(10, T("event", "e1"), T("currency", "gems"));
        metrics.CurrencyGranted.Add(5, T("currency", "gems"), T("event", "e1"));
        metrics.CurrencyGranted.Add(7, T("event", "e2"), T("currency", "gems"));
        metrics.CurrencyGranted.Add(1, T("event", "e2"), T("currency", "blade"));
        var snapshot = collector.Snapshot();
        var family = snapshot.Find(ShowrunnerMetrics.Names.CurrencyGranted)!;
        Assert.Equal(3, family.Series.Count);
        Assert.All(family.Series, s => Assert.Equal(["currency", "event"], s.Labels.Select(l => l.Key)));
        Assert.Equal(15, snapshot.Counter(ShowrunnerMetrics.Names.CurrencyGranted, ("event", "e1")));
        Assert.Equal(22, snapshot.Counter(ShowrunnerMetrics.Names.CurrencyGranted, ("currency", "gems")));
        Assert.Equal(23, snapshot.Counter(ShowrunnerMetrics.Names.CurrencyGranted));
        Assert.Equal(0, snapshot.Counter(ShowrunnerMetrics.Names.CurrencyGranted, ("event", "nope")));
        Assert.Equal(0, snapshot.Counter("showrunner.no.such.metric"));
    }

    [Fact]
    public void Concurrent_measurements_are_all_counted()
    {
        var (metrics, collector) = NewCollector();
        using var _ = metrics;
        using var __ = collector;
        Parallel.For(0, 8, worker =>
        {
            for (int i = 0; i < 10_000; i++)
            {
                metrics.ActionsRejected.Add(1, new KeyValuePair<string, object?>("code", i % 2 == 0 ? "a" : "b"));
                metrics.AckLatency.Record(0.001);
            }
        });
        var snapshot = collector.Snapshot();
        Assert.Equal(40_000, snapshot.Counter(ShowrunnerMetrics.Names.ActionsRejected, ("code", "a")));
        Assert.Equal(80_000, snapshot.Counter(ShowrunnerMetrics.Names.ActionsRejected));
        var histogram = snapshot.Histogram(ShowrunnerMetrics.Names.AckLatency)!;
        Assert.Equal(80_000, histogram.Count);
        Assert.Equal(80.0, histogram.Sum, 6);
    }

    [Fact]
    public void Quantiles_interpolate_within_the_bucket_like_histogram_quantile()
    {
        // Bounds 1, 2, 4: 10 in (0,1], 30 in (1,2], 60 in (2,4], none above.
        var histogram = new HistogramValue([1, 2, 4], [10, 30, 60, 0], 100, 250);
        Assert.Equal(0.5, histogram.Quantile(0.05)!.Value, 9);
        Assert.Equal(1.5, histogram.Quantile(0.25)!.Value, 9);
        Assert.Equal(2 + (2 * (50 - 40) / 60.0), histogram.Quantile(0.5)!.Value, 9);
        Assert.Equal(4, histogram.Quantile(1)!.Value, 9);
        // A rank in the +Inf bucket answers the largest finite bound.
        Assert.Equal(4, new HistogramValue([1, 2, 4], [0, 0, 1, 3], 4, 40).Quantile(0.99)!.Value, 9);
        Assert.Null(new HistogramValue([1], [0, 0], 0, 0).Quantile(0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => histogram.Quantile(1.5));
    }

    [Fact]
    public void A_collector_ignores_other_meters_even_with_the_same_name()
    {
        var (metrics, collector) = NewCollector();
        using var _ = metrics;
        using var __ = collector;
        using var stranger = new ShowrunnerMetrics();
        stranger.ActionsAccepted.Add(100);
        metrics.ActionsAccepted.Add(1);
        Assert.Equal(1, collector.Counter(ShowrunnerMetrics.Names.ActionsAccepted));
        metrics.AckLatency.Record(0.001);
        // One measurement in the bucket (0.0005, 0.001]: its median is the bucket's middle.
        Assert.Equal(0.00075, collector.Quantile(ShowrunnerMetrics.Names.AckLatency, 0.5)!.Value, 9);
    }
}
