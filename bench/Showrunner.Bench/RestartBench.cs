using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Showrunner.Core.Actions;
using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.Releases;
using Showrunner.Storage.Sqlite;
using Showrunner.Testing;

namespace Showrunner.Bench;

/// <summary>
/// <c>restart</c>: how long the server takes to be ready again on a data directory holding
/// --actions logged actions (default 10,000,000) under the live release.
/// </summary>
/// <remarks>
/// <list type="number">
/// <item>Fill, in-process and as fast as the pipeline commits: the store, the ingest pipeline and
/// the release register of the server, without HTTP (like the inprocess mode), --fill-clients
/// submitters (default 16) of --fill-batch actions each (default 500). Progress every 5 s. Then a clean stop: the pipeline writes
/// its final snapshots, as the server does on SIGTERM.</item>
/// <item>Start the real server on the directory and time process start → /readyz 200.</item>
/// <item>Load it over HTTP (closed loop, --clients) for --kill-after seconds (default 10), then
/// SIGKILL it mid-load: the log tail since each partition's last snapshot must be replayed.</item>
/// <item>Start it again and time it; check that the log holds every acknowledged action.</item>
/// </list>
/// Each start reports the time to listening (/healthz) and to ready, the server's RSS when ready
/// and its "Live state loaded: …" line (players from snapshots, actions replayed, ledger entries).
/// --data DIR keeps the filled directory; given a directory that already holds a store, the fill
/// is skipped and only the restarts are measured (each run then adds the actions of its load).
/// Memory stays bounded: submitters wait for each answer, and the pipeline's inboxes are bounded.
/// </remarks>
internal static class RestartBench
{
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(5);

    /// <returns>The exit code: 1 when an action of the fill or of the load was answered anything but accepted, or acknowledged actions are missing after the kill.</returns>
    public static async Task<int> RunAsync(BenchOptions options)
    {
        int failed = 0;
        long actions = options.Long("actions", 10_000_000);
        int killAfterSeconds = options.Int("kill-after", 10);
        string data;
        bool delete;
        if (options.Data is { } given && File.Exists(Path.Combine(given, SqliteActionStore.DatabaseFileName)))
        {
            (data, delete) = (given, false);
            Console.WriteLine($"# {given} already holds a store: no fill, restarts only");
        }
        else
        {
            (data, delete) = BenchServer.FreshDataDirectory(options, "restart");
            WarnIfDiskIsShort(data, actions);
            long notAccepted = await FillAsync(options, data, actions);
            if (notAccepted > 0)
            {
                Console.Error.WriteLine($"FAILED: {notAccepted} actions of the fill were not accepted (the fill's ids are unique to the run: a schema refusal?)");
                failed = 1;
            }
        }
        try
        {
            Console.WriteLine("## restart after a clean stop");
            long logged;
            using (var server = await StartAndReportAsync(options, data))
            {
                logged = (long)(await server.GetJsonAsync("/v1/stats"))["accepted"]!;
                Console.WriteLine($"## load for {killAfterSeconds} s over HTTP (closed loop, {options.Clients} clients), then SIGKILL mid-load");
                var load = options with { Seconds = killAfterSeconds + 60, Warmup = 0, Rate = 0 };
                using var stop = new CancellationTokenSource();
                var killer = Task.Run(async () =>
                {
                    await Task.Delay(TimeSpan.FromSeconds(killAfterSeconds));
                    // No new request after this; the ones in flight fail with the kill (the load counts them as errors).
                    await stop.CancelAsync();
                    server.Kill();
                });
                var result = await LiveLoad.RunAsync(server, load, LiveBench.RunTag("k"), stop.Token);
                await killer;
                long acknowledged = result.Ingest.Tally.Accepted;
                failed |= result.Ingest.Check();
                Console.WriteLine($"killed with SIGKILL after {killAfterSeconds} s: {acknowledged} actions acknowledged before the kill (errors above: the requests in flight)");
                Console.WriteLine("## restart after SIGKILL (the log tail since the last snapshots is replayed)");
                using var restarted = await StartAndReportAsync(options, data);
                long after = (long)(await restarted.GetJsonAsync("/v1/stats"))["accepted"]!;
                string verdict = after >= logged + acknowledged ? "every acknowledged action is there" : "ACKNOWLEDGED ACTIONS MISSING";
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"log after the restart: {after} actions; before the load {logged} + acknowledged {acknowledged} = {logged + acknowledged}: {verdict}"));
                if (after < logged + acknowledged)
                {
                    failed = 1;
                }
            }
        }
        finally
        {
            if (delete && Directory.Exists(data))
            {
                Directory.Delete(data, recursive: true);
            }
        }
        return failed;
    }

    /// <summary>
    /// About 2.5 KB per action at the default workload: the action row and its id index, and about
    /// one grant per action once players have warmed up (entry, Merkle node, outbox payload and their
    /// indexes). A fill that runs out of disk fails its commit and stops; this says so beforehand.
    /// </summary>
    private static void WarnIfDiskIsShort(string data, long actions)
    {
        const long BytesPerActionEstimate = 2_500;
        string root = Path.GetFullPath(Directory.Exists(data) ? data : Path.GetDirectoryName(Path.GetFullPath(data))!);
        long available = new DriveInfo(root).AvailableFreeSpace;
        if (available < actions * BytesPerActionEstimate)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"WARNING: {available / 1073741824.0:F0} GiB free at {root}; the fill may need about {actions * BytesPerActionEstimate / 1073741824.0:F0} GiB"));
        }
    }

    /// <summary>Starts the server on <paramref name="data"/>, prints its start-up timings, and returns it running.</summary>
    private static async Task<BenchServer> StartAndReportAsync(BenchOptions options, string data)
    {
        var server = BenchServer.Create(options, data, deleteData: false);
        try
        {
            var (listening, ready) = await server.StartAsync();
            long rss = server.ResidentBytes();
            string line = await server.LiveStateLineAsync();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"restart-to-ready: {ready.TotalSeconds:F2} s from process start (listening after {listening.TotalSeconds:F2} s); server rss when ready {Percentiles.MiB(rss)} MiB"));
            Console.WriteLine("server: " + line);
            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    /// <summary>Fills the directory in-process, with the server's own store, pipeline and register, then stops them cleanly.</summary>
    /// <returns>How many actions were answered anything but accepted: none in a correct fill.</returns>
    private static async Task<long> FillAsync(BenchOptions options, string data, long actions)
    {
        var time = TimeProvider.System;
        var bundle = LiveRelease.Build(time.GetUtcNow(), options);
        LiveRelease.Describe(bundle, options);
        int submitterCount = options.Int("fill-clients", 16);
        int batch = options.Int("fill-batch", 500);
        Console.WriteLine($"## fill {data} with {actions} actions in-process ({submitterCount} submitters × {batch} actions, seed {options.Seed})");
        var ingest = new IngestOptions();
        // The runtime as the server composes it (docs/internals/runtime.md, "Composition root").
        var runtime = RuntimeHarness.Create(new Showrunner.Runtime.RuntimeSettings { StoreProvider = new SqliteStoreProvider(), DataDirectory = data, Ingest = ingest }, time);
        runtime.Open();
        var pipeline = runtime.Pipeline;
        var register = runtime.Register;
        await pipeline.StartAsync();
        var published = await register.PublishAsync(bundle.CanonicalBytes, bundle.Id);
        var activated = await register.ActivateAsync(bundle.Id, null, "restart benchmark");
        if (published.Status != PublishStatus.Created || activated.Status != ChangeStatus.Changed)
        {
            throw new InvalidOperationException($"Publishing the release: {published.Status}; activating it: {activated.Status}.");
        }

        string[] players = [.. Enumerable.Range(0, options.Players).Select(p => "player-" + p.ToString(CultureInfo.InvariantCulture))];
        byte[][] zoneData = [.. Enumerable.Range(0, LiveRelease.ZoneCount).Select(z => Encoding.UTF8.GetBytes($"{{\"zone\":{z}}}"))];
        string tag = LiveBench.RunTag("f");
        long claimed = 0, accepted = 0, rejected = 0, overloaded = 0;
        long started = Stopwatch.GetTimestamp();
        using var progressStop = new CancellationTokenSource();
        var progress = Task.Run(async () =>
        {
            long lastActions = 0;
            long lastAt = started;
            while (!progressStop.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(ProgressInterval, progressStop.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                long now = Stopwatch.GetTimestamp();
                long committed = pipeline.GetStats().Accepted;
                double rate = (committed - lastActions) / Stopwatch.GetElapsedTime(lastAt, now).TotalSeconds;
                double elapsed = Stopwatch.GetElapsedTime(started, now).TotalSeconds;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"fill: {committed:N0} / {actions:N0} actions ({100.0 * committed / actions:F0}%), {rate:F0}/s now, {committed / elapsed:F0}/s overall, " +
                    $"{pipeline.CommittedGrants:N0} grants, bench rss {Percentiles.MiB(Environment.WorkingSet)} MiB, about {(rate > 0 ? (actions - committed) / rate : 0):F0} s to go"));
                (lastActions, lastAt) = (committed, now);
            }
        });
        var submitters = Enumerable.Range(0, submitterCount).Select(client => Task.Run(async () =>
        {
            var random = BenchRandom.ForClient(options.Seed, client);
            long counter = 0;
            while (true)
            {
                long end = Interlocked.Add(ref claimed, batch);
                int count = (int)Math.Min(batch, actions - (end - batch));
                if (count <= 0)
                {
                    break;
                }
                long at = time.GetUtcNow().UtcTicks;
                var items = new BatchItem[count];
                for (int i = 0; i < count; i++)
                {
                    string id = string.Create(CultureInfo.InvariantCulture, $"{tag}-{client}-{counter++}");
                    items[i] = BatchItem.Valid(new ValidAction(id, players[random.Next(players.Length)], LiveRelease.ActionType, at, zoneData[random.Next(zoneData.Length)]));
                }
                while (true)
                {
                    var outcome = await pipeline.SubmitAsync(items);
                    if (outcome.Status == SubmitStatus.Completed)
                    {
                        int ok = outcome.Results!.Count(r => r.Status == ActionStatus.Accepted);
                        Interlocked.Add(ref accepted, ok);
                        Interlocked.Add(ref rejected, count - ok);
                        break;
                    }
                    if (outcome.Status != SubmitStatus.Overloaded)
                    {
                        throw new InvalidOperationException($"The pipeline answered {outcome.Status}: {outcome.Message}");
                    }
                    // Refused whole (an inbox was full): nothing was applied, so the same batch is sent again.
                    Interlocked.Increment(ref overloaded);
                    await Task.Delay(1);
                }
            }
        })).ToArray();
        await Task.WhenAll(submitters);
        var fillTime = Stopwatch.GetElapsedTime(started);
        await progressStop.CancelAsync();
        await progress;
        long grants = pipeline.CommittedGrants;
        var (_, _, commits, _) = pipeline.GetPipelineGauges();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"filled: {accepted:N0} actions accepted ({rejected} not accepted, {overloaded} batches refused and resent) in {fillTime.TotalSeconds:F0} s = {accepted / fillTime.TotalSeconds:F0} actions/s; " +
            $"{grants:N0} grants ({grants / (double)Math.Max(1, accepted):F2} per action); {commits:N0} group commits"));
        long stopping = Stopwatch.GetTimestamp();
        await pipeline.DisposeAsync();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"clean stop (final snapshots of every partition) in {Stopwatch.GetElapsedTime(stopping).TotalSeconds:F1} s; bench rss {Percentiles.MiB(Environment.WorkingSet)} MiB"));
        await runtime.DisposeAsync();
        long bytes = Directory.EnumerateFiles(data).Sum(f => new FileInfo(f).Length);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"data directory: {bytes / 1073741824.0:F1} GiB"));
        return rejected;
    }
}
