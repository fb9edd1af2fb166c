using System.Diagnostics;
using Showrunner.Runtime.Observability;
using Showrunner.Server.Observability;

namespace Showrunner.Bench;

/// <summary>
/// The cost of the metrics on the hot path, measured directly (one thread, no I/O): the
/// measurements the server records for one ingest batch, with the server's MetricsCollector
/// listening and with nobody listening. Options: --batches N (default 2,000,000), --units U
/// (work units per batch: distinct partitions, default 82 — 100 actions over 256 partitions),
/// --grants G per batch (default 30, each with 2 reward lines), --rejected R per batch (default 1).
/// </summary>
/// <remarks>
/// Per batch the server records: actions received, ack latency (POST /v1/actions), accepted and
/// rejected-by-code (IngestPipeline), queue wait per unit (PartitionExecutor), and per group commit
/// (taken as one per 7 batches, the 700-action commits of docs/benchmarks.md) its size, latency and
/// the grants and currency it made durable (GroupCommitter). Prints ns and bytes allocated per batch.
/// </remarks>
internal static class MetricsBench
{
    public static void Run(BenchOptions options)
    {
        long batches = options.Int("batches", 2_000_000);
        int units = options.Int("units", 82);
        int grants = options.Int("grants", 30);
        int rejected = options.Int("rejected", 1);
        Console.WriteLine($"metrics: {batches} batches of {units} units, {grants} grants, {rejected} rejected each; one thread");
        foreach (bool listening in new[] { false, true, false, true })
        {
            using var metrics = new ShowrunnerMetrics();
            using var collector = listening ? new MetricsCollector(metrics, TimeProvider.System) : null;
            Measure(metrics, batches / 10, units, grants, rejected); // warm-up
            long allocated = GC.GetAllocatedBytesForCurrentThread();
            long started = Stopwatch.GetTimestamp();
            Measure(metrics, batches, units, grants, rejected);
            double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
            Console.WriteLine($"  {(listening ? "collector listening" : "nobody listening   ")}: {seconds * 1e9 / batches:F0} ns per batch " +
                $"({seconds * 1e9 / batches / 100:F1} ns per action of a 100-action batch), {(double)allocated / batches:F2} bytes allocated per batch");
            if (collector is not null)
            {
                long accepted = collector.Counter(ShowrunnerMetrics.Names.ActionsAccepted);
                if (accepted != (batches + (batches / 10)) * 99)
                {
                    throw new InvalidOperationException($"The collector counted {accepted} accepted actions.");
                }
            }
        }
    }

    private static void Measure(ShowrunnerMetrics metrics, long batches, int units, int grants, int rejected)
    {
        var code = new KeyValuePair<string, object?>("code", "invalid_field_type");
        var eventTag = new KeyValuePair<string, object?>("event", "hunt");
        var kind = new KeyValuePair<string, object?>("kind", "action");
        var gems = new KeyValuePair<string, object?>("currency", "gems");
        var blade = new KeyValuePair<string, object?>("currency", "blade");
        var counts = new Dictionary<(string, string), long>();
        var amounts = new Dictionary<(string, string), long>();
        for (long b = 0; b < batches; b++)
        {
            long started = Stopwatch.GetTimestamp();
            metrics.ActionsReceived.Add(100);
            long enqueued = metrics.QueueWait.Enabled ? Stopwatch.GetTimestamp() : 0;
            for (int u = 0; u < units; u++)
            {
                if (enqueued != 0)
                {
                    metrics.QueueWait.Record(Stopwatch.GetElapsedTime(enqueued).TotalSeconds);
                }
            }
            if (b % 7 == 0)
            {
                metrics.CommitLatency.Record(0.002);
                metrics.CommitBatchSize.Record(700);
                if (metrics.Grants.Enabled && grants > 0)
                {
                    // As the committer does: summed per (event, kind) and (event, currency) first, then measured.
                    counts.Clear();
                    amounts.Clear();
                    for (int g = 0; g < grants * 7; g++)
                    {
                        counts[("hunt", "action")] = counts.GetValueOrDefault(("hunt", "action")) + 1;
                        amounts[("hunt", "gems")] = amounts.GetValueOrDefault(("hunt", "gems")) + 50;
                        amounts[("hunt", "blade")] = amounts.GetValueOrDefault(("hunt", "blade")) + 1;
                    }
                    metrics.Grants.Add(counts[("hunt", "action")], eventTag, kind);
                    metrics.CurrencyGranted.Add(amounts[("hunt", "gems")], eventTag, gems);
                    metrics.CurrencyGranted.Add(amounts[("hunt", "blade")], eventTag, blade);
                }
            }
            for (int r = 0; r < rejected; r++)
            {
                metrics.ActionsRejected.Add(1, code);
            }
            metrics.ActionsAccepted.Add(100 - rejected);
            metrics.AckLatency.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }
}
