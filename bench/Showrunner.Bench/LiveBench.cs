using System.Diagnostics;
using System.Globalization;

namespace Showrunner.Bench;

/// <summary>
/// <c>live</c>: the ingest workload with live events. Starts the server on a fresh data directory
/// (LoadExample=false), publishes and activates the generated release (<see cref="LiveRelease"/>),
/// and runs the clients of the http mode (--clients, --batch, --seconds, --warmup, --rate,
/// --players) with <see cref="LiveWorkload"/> bodies.
/// </summary>
/// <remarks>
/// Options of its own: --zones-per-event N (default 3), --goal-target N (default 10^12),
/// --checkpoint-ms MS (the server's checkpoint interval; default the server's, 1000).
/// --data DIR keeps the data directory (for <c>receipts --data DIR</c>); it must be new.
/// --url URL runs against a server already started (RSS is then not measured).
/// Reports acknowledged actions/s and ack latency (as the http mode), grants committed (ledger
/// entries before and after) and per second, grants per action (the workload is meant to make at
/// least 1/3), the server's RSS, and the checkpoint age seen while loading. Exits 1 when an action
/// was answered anything but <c>accepted</c> (<see cref="BenchResult.Check"/>).
/// </remarks>
internal static class LiveBench
{
    public static async Task<int> RunAsync(BenchOptions options)
    {
        var bundle = LiveRelease.Build(TimeProvider.System.GetUtcNow(), options);
        LiveRelease.Describe(bundle, options);
        BenchServer server;
        if (options.Url is { } url)
        {
            server = BenchServer.AtUrl(url, options.Key);
        }
        else
        {
            var (data, delete) = BenchServer.FreshDataDirectory(options, "live");
            server = BenchServer.Create(options, data, delete);
            await server.StartAsync();
        }
        using (server)
        {
            await server.ActivateAsync(bundle);
            return (await LiveLoad.RunAsync(server, options, RunTag("l"))).Ingest.Check();
        }
    }

    /// <summary>An id prefix unique to this run (so that runs on one data directory never send the same id twice).</summary>
    public static string RunTag(string kind) =>
        kind + DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString("x", CultureInfo.InvariantCulture);
}

/// <summary>What one live load measured, for the modes that run one before their own measurement.</summary>
internal sealed record LiveLoadResult(BenchResult Ingest, long Grants, long Actions, TimeSpan Wall);

/// <summary>Runs the live workload against a server whose active release is the generated one, and prints what it measured.</summary>
internal static class LiveLoad
{
    /// <summary>How often the ledger summary is read for the checkpoint age.</summary>
    private static readonly TimeSpan LedgerPollInterval = TimeSpan.FromMilliseconds(500);

    public static async Task<LiveLoadResult> RunAsync(BenchServer server, BenchOptions options, string runTag, CancellationToken stop = default)
    {
        // Open-loop clients keep several requests outstanding, so they get more connections.
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = options.Rate > 0 ? options.Clients * 4 : options.Clients,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        };
        using var client = new HttpClient(handler) { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        BenchAuth.Apply(client, server.Key);
        var endpoint = new Uri("/v1/actions", UriKind.Relative);

        var ledgerBefore = await server.GetJsonAsync("/v1/ledger");
        var statsBefore = await server.GetJsonAsync("/v1/stats");
        long started = Stopwatch.GetTimestamp();
        var rss = new RssSampler(server);
        using var polling = new CancellationTokenSource();
        var checkpointAges = new List<double>();
        long uncheckpointedMax = 0;
        var poller = Task.Run(async () =>
        {
            while (!polling.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(LedgerPollInterval, polling.Token);
                    var ledger = await server.GetJsonAsync("/v1/ledger");
                    if (ledger["checkpoint_age_ms"] is { } age)
                    {
                        checkpointAges.Add((long)age);
                    }
                    uncheckpointedMax = Math.Max(uncheckpointedMax, (long)ledger["uncheckpointed_entries"]!);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                catch (Exception exception) when (exception is HttpRequestException or InvalidOperationException)
                {
                    // The server went away (the restart mode kills it): the load reports that.
                    break;
                }
            }
        });
        var result = await Driver.RunAsync(options, (body, tally) => Http.PostBatchAsync(client, endpoint, body, tally),
            c => new LiveWorkload(c, options, runTag), stop);
        await polling.CancelAsync();
        await poller;
        long rssMax = await rss.StopAsync();
        result = result with { RssMaxBytes = rssMax, RssEndBytes = server.ResidentBytes() };
        result.Print(options);
        double acknowledgedPerSecond = (result.Tally.Accepted + result.Tally.Duplicates) / result.Elapsed.TotalSeconds;
        if (options.Rate > 0 && acknowledgedPerSecond < 0.95 * options.Rate && !stop.IsCancellationRequested)
        {
            // The open loop caps what one client keeps outstanding (Driver): past that, requests are sent late or
            // not at all, so the latencies above cover only the requests that were sent.
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"DID NOT KEEP UP: offered {options.Rate} actions/s, acknowledged {acknowledgedPerSecond:F0}/s; the latencies cover only the requests sent"));
        }
        if (stop.IsCancellationRequested)
        {
            return new LiveLoadResult(result, 0, 0, Stopwatch.GetElapsedTime(started));
        }

        var ledgerAfter = await server.GetJsonAsync("/v1/ledger");
        var statsAfter = await server.GetJsonAsync("/v1/stats");
        var wall = Stopwatch.GetElapsedTime(started);
        long grants = (long)ledgerAfter["entries"]! - (long)ledgerBefore["entries"]!;
        long actions = (long)statsAfter["accepted"]! - (long)statsBefore["accepted"]!;
        long commits = (long)statsAfter["commits"]! - (long)statsBefore["commits"]!;
        double grantsPerAction = actions == 0 ? 0 : grants / (double)actions;
        const double GrantsPerActionMin = 1.0 / 3;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"actions committed: {actions} in {wall.TotalSeconds:F1}s (warm-up included), {commits / wall.TotalSeconds:F0} group commits/s × {(commits == 0 ? 0 : actions / (double)commits):F0} actions"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"grants committed: {grants} (ledger entries {(long)ledgerBefore["entries"]!} -> {(long)ledgerAfter["entries"]!}), {grants / wall.TotalSeconds:F0} grants/s"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"grants per action: {grantsPerAction:F3} ({(grantsPerAction >= GrantsPerActionMin ? "at least 1/3, as the workload needs" : "BELOW 1/3: run longer, or raise --zones-per-event")}; {actions / (double)options.Players:F1} actions per player)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"checkpoint age ms (GET /v1/ledger every {LedgerPollInterval.TotalMilliseconds:F0} ms; a checkpoint is signed only when the ledger grew): " +
            $"{Percentiles.Format(checkpointAges)}; uncheckpointed entries max {uncheckpointedMax}; after the load {(long?)ledgerAfter["checkpoint_age_ms"]}"));
        return new LiveLoadResult(result, grants, actions, wall);
    }
}
