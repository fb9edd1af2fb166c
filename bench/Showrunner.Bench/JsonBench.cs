using System.Diagnostics;
using Showrunner.Core.Actions;
using Showrunner.Core.Json;

namespace Showrunner.Bench;

/// <summary>
/// The cost of the strict JSON policy on the ingest hot path, measured directly (one thread, no
/// I/O): per action batch of --batch actions (default 100, the http workload's bodies), the
/// policy's check as POST /v1/actions runs it (no duplicate-member sets: the batch parser judges
/// those), the check with duplicate members (as every other endpoint runs it), the body copy the
/// policy's reader keeps, and the batch parser itself for scale. Options: --batches N (default 200,000).
/// </summary>
internal static class JsonBench
{
    public static void Run(BenchOptions options)
    {
        int batches = options.Int("batches", 200_000);
        var workload = new Workload(0, options, LiveBench.RunTag("j"));
        var bodies = Enumerable.Range(0, 64).Select(_ => workload.NextBody(out _)).ToArray();
        var limits = new ActionLimits();
        long now = DateTime.UtcNow.Ticks;
        Console.WriteLine($"json: {batches} batches of {options.Batch} actions, {bodies.Average(b => b.Length):F0} bytes on average; one thread");
        byte[] copy = new byte[bodies.Max(b => b.Length)];
        var measurements = new (string Name, Action<byte[]> Work)[]
        {
            ("policy check, actions endpoint (no duplicate sets)", body => Check(StrictJson.Validate(body, StrictJson.DefaultMaxDepth, refuseDuplicateMembers: false))),
            ("policy check, other endpoints (duplicate sets)    ", body => Check(StrictJson.Validate(body))),
            ("copy kept by the policy's body reader             ", body => body.CopyTo(copy, 0)),
            ("batch parser (for scale)                          ", body => ActionBatchParser.Parse(body, limits, now)),
        };
        foreach (var (name, work) in measurements.Concat(measurements))
        {
            for (int i = 0; i < batches / 10; i++)
            {
                work(bodies[i % bodies.Length]); // warm-up
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread();
            long started = Stopwatch.GetTimestamp();
            for (int i = 0; i < batches; i++)
            {
                work(bodies[i % bodies.Length]);
            }
            double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
            Console.WriteLine($"  {name}: {seconds * 1e6 / batches:F2} µs per batch ({seconds * 1e9 / batches / options.Batch:F0} ns per action), " +
                $"{(double)allocated / batches:F0} bytes allocated per batch");
        }
    }

    private static void Check(JsonViolation? violation)
    {
        if (violation is { } found)
        {
            throw new InvalidOperationException("The workload's body broke the policy: " + found.Detail);
        }
    }
}
