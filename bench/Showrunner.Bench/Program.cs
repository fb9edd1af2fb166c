using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Showrunner.Bench;
using Showrunner.Core.Actions;
using Showrunner.Runtime.Ingest;
using Showrunner.Storage.Sqlite;
using Showrunner.Testing;

// Load generator for the ingest pipeline. Not a test: it prints what it measured.
//   http       N concurrent simulated game servers POST batches to a server it starts (or --url)
//   inprocess  the same workload straight into the pipeline (parse + admission + commit), no HTTP;
//              --collector: with the server's MetricsCollector listening to the pipeline's metrics
//   metrics    the cost of one batch's measurements, collector listening or not (MetricsBench.cs)
//   json       the cost of the strict JSON policy's check per action batch (JsonBench.cs)
//   fuzz       the HTTP fuzzer against a real server for --seconds with a random seed, or --seed N (FuzzBench.cs)
// Options: --clients N --batch B --seconds S --rate ACTIONS_PER_S (0 = as fast as acknowledged)
//          --repeat FRACTION (re-sent earlier actions) --players N --url URL --data DIR --warmup S
//          --ids sequential|time|random (id style) --seed N (live modes)
//          --key KEY: the API key for a server at --url (default $SHOWRUNNER_KEY); a server the
//          benchmark starts is called with the admin key it writes to <data>/admin.key
//   releases   the http workload, and meanwhile activate a second release and roll back, over and
//              over (--switch-every MS, default 100), timing each call end to end: POST until the
//              answer, which comes once the change is in force on every partition
// The server the benchmark starts has the example release (summer-week-1) active, so every
// combat.kill action is checked against its schema.
// Live events (bench/run-live.sh runs them all; each mode's options are at the top of its file):
//   live       a generated release of 20 running events, all counting combat.kill, with tiers,
//              leaderboards and a community goal; clients as in http; grants and checkpoints
//   receipts   rewards of sampled players and receipts of random grants, verified offline
//   restart    fill a data directory with --actions (10 M) in-process, then restart-to-ready of
//              the real server after a clean stop and after a SIGKILL under load
//   ledger     in-process micro-measurements of ledger appends, durable commits, checkpoints, proofs
//   gates      rollout gates on seeded simulated traffic: A/A rollbacks and time to roll back 2x-10x
//              candidates (GatesBench.cs; --seeds N, --seed S)
//   chaos      a fault campaign against the real server: kill -9, SIGSTOP, disk full, slow disk,
//              overload, with the senders' history as the oracle (bench/chaos/run-chaos.sh runs it)
// Results and the machine they were measured on: docs/benchmarks.md.
var options = BenchOptions.Parse(args);
Console.WriteLine($"# {options}");
switch (options.Mode)
{
    case "http" or "releases":
        return (await Http.RunAsync(options)).PrintAndCheck(options);
    case "inprocess":
        return (await InProcess.RunAsync(options)).PrintAndCheck(options);
    case "live":
        return await LiveBench.RunAsync(options);
    case "receipts":
        return await ReceiptsBench.RunAsync(options);
    case "restart":
        return await RestartBench.RunAsync(options);
    case "ledger":
        await LedgerBench.RunAsync(options);
        break;
    case "metrics":
        MetricsBench.Run(options);
        break;
    case "gates":
        GatesBench.Run(options);
        break;
    case "json":
        JsonBench.Run(options);
        break;
    case "fuzz":
        return await FuzzBench.RunAsync(options);
    case "chaos":
        return await ChaosCampaign.RunAsync(options);
    default:
        throw new ArgumentException($"Unknown mode '{options.Mode}': use http, inprocess, releases, live, receipts, restart, ledger, metrics, gates, json, fuzz or chaos.");
}
return 0;

internal sealed record BenchOptions(string Mode, int Clients, int Batch, int Seconds, int Rate, double Repeat, int Players,
    string? Url, string? Data, int Warmup, string Configuration, string IdStyle, int SwitchEveryMs = 100, int Seed = 1)
{
    /// <summary>The command line, for the options only one mode reads (<see cref="Int"/>, <see cref="Long"/>, <see cref="Text"/>).</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    public static BenchOptions Parse(string[] args)
    {
        string mode = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "http";
        string? Value(string name)
        {
            int index = Array.IndexOf(args, "--" + name);
            return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
        }
        int Int(string name, int fallback) => Value(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        return new BenchOptions(mode, Int("clients", 16), Int("batch", 100), Int("seconds", 20), Int("rate", 0),
            Value("repeat") is { } r ? double.Parse(r, CultureInfo.InvariantCulture) : 0.0, Int("players", 100_000),
            Value("url"), Value("data"), Int("warmup", 3), Value("configuration") ?? "Release", Value("ids") ?? "sequential",
            Int("switch-every", 100), Int("seed", 1))
        { Arguments = args };
    }

    /// <summary>The value after <c>--name</c>, or null when it is not given.</summary>
    public string? Text(string name)
    {
        for (int i = 0; i + 1 < Arguments.Count; i++)
        {
            if (Arguments[i] == "--" + name)
            {
                return Arguments[i + 1];
            }
        }
        return null;
    }

    public int Int(string name, int fallback) => Text(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    /// <summary>The API key for a server at --url: --key, else $SHOWRUNNER_KEY.</summary>
    public string? Key => Text("key") ?? (Environment.GetEnvironmentVariable("SHOWRUNNER_KEY") is { Length: > 0 } key ? key : null);

    public long Long(string name, long fallback) => Text(name) is { } v ? long.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public override string ToString() =>
        $"mode={Mode} clients={Clients} batch={Batch} seconds={Seconds} warmup={Warmup} rate={(Rate == 0 ? "max" : Rate.ToString(CultureInfo.InvariantCulture))} repeat={Repeat} players={Players} ids={IdStyle} seed={Seed}";
}

/// <summary>Makes the request bodies of one simulated game server.</summary>
internal interface IWorkload
{
    /// <summary>The next request body.</summary>
    /// <param name="resent">How many of its actions re-send an earlier action on purpose (--repeat): the only ones a correct run may see answered <c>duplicate</c>.</param>
    byte[] NextBody(out int resent);
}

/// <summary>
/// Builds request bodies the way a game server would: unique ids, a pool of players, some re-sent
/// actions (--repeat). Ids are unique to the run (<paramref name="runTag"/>), so a second run on the
/// same data directory sends new actions instead of colliding with the first run's ids.
/// </summary>
internal sealed class Workload(int client, BenchOptions options, string runTag) : IWorkload
{
    private static readonly string[] Targets = ["dragon", "goblin", "slime", "troll"];
    private readonly Random _random = new(1000 + client); // seeded: the same players and targets every run
    // Random ids come from their own source, seeded by the run tag: another run draws other ids, while the
    // players and targets above stay the same.
    private readonly Random _idRandom = new(unchecked(StableHash(runTag) * 31 + client));
    private readonly string _idPrefix = string.Create(CultureInfo.InvariantCulture, $"{runTag}-c{client}-");
    private readonly List<string> _recent = [];
    private long _counter;

    /// <summary>A hash of the run tag that is the same in every process (string.GetHashCode is randomised per process).</summary>
    private static int StableHash(string text)
    {
        uint hash = 2166136261;
        foreach (char c in text)
        {
            hash = (hash ^ c) * 16777619;
        }
        return unchecked((int)hash);
    }

    public byte[] NextBody(out int resent)
    {
        resent = 0;
        var builder = new StringBuilder(options.Batch * 170);
        builder.Append("{\"actions\":[");
        string at = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        for (int i = 0; i < options.Batch; i++)
        {
            if (i > 0)
            {
                builder.Append(',');
            }
            if (_recent.Count > 0 && _random.NextDouble() < options.Repeat)
            {
                builder.Append(_recent[_random.Next(_recent.Count)]);
                resent++;
                continue;
            }
            // --ids sequential: run tag + server id + counter; time: time-ordered (UUIDv7/ULID style:
            // milliseconds, then random); random: UUIDv4 style, from a source seeded by the run tag.
            // Sequential and time-ordered ids append near the end of the id index; random ids scatter
            // over all of it (see docs/benchmarks.md).
            string id = options.IdStyle switch
            {
                "random" => $"{_idRandom.NextInt64():x16}{_idRandom.NextInt64():x16}",
                "time" => $"{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds():x12}{_idRandom.NextInt64():x16}",
                _ => string.Create(CultureInfo.InvariantCulture, $"{_idPrefix}{_counter++}"),
            };
            string action = string.Create(CultureInfo.InvariantCulture,
                $"{{\"id\":\"{id}\",\"player\":\"player-{_random.Next(options.Players)}\",\"type\":\"combat.kill\",\"at\":\"{at}\",\"data\":{{\"target\":\"{Targets[_random.Next(Targets.Length)]}\",\"zone\":\"crystal_caves\",\"damage\":{_random.Next(10_000)}}}}}");
            builder.Append(action);
            if (_recent.Count < 2_000)
            {
                _recent.Add(action);
            }
            else
            {
                _recent[_random.Next(_recent.Count)] = action;
            }
        }
        builder.Append("]}");
        return Encoding.UTF8.GetBytes(builder.ToString());
    }
}

internal sealed class Tally
{
    public long Requests;
    public long Ok;
    public long Overloaded;
    public long Errors;
    public long Accepted;
    public long Duplicates;
    /// <summary>Actions answered "rejected" (a schema mismatch, an id conflict): none in a correct workload.</summary>
    public long Rejected;
    /// <summary>Rejected actions by rejection code (<c>id_conflict</c>, <c>invalid_field_type</c>, …).</summary>
    public readonly Dictionary<string, long> RejectedByCode = new(StringComparer.Ordinal);
    /// <summary>Actions the workload re-sent on purpose (--repeat): at most this many may be answered "duplicate".</summary>
    public long Resent;
    /// <summary>Answers with an HTTP status other than 200 and 503 (400, 401, 413, …), by status.</summary>
    public readonly Dictionary<int, long> OtherStatuses = [];
    public readonly List<double> LatenciesMs = [];
    public readonly List<double> ServiceMs = [];

    public void Merge(Tally other)
    {
        Requests += other.Requests;
        Ok += other.Ok;
        Overloaded += other.Overloaded;
        Errors += other.Errors;
        Accepted += other.Accepted;
        Duplicates += other.Duplicates;
        Rejected += other.Rejected;
        Resent += other.Resent;
        foreach (var (code, count) in other.RejectedByCode)
        {
            RejectedByCode[code] = RejectedByCode.GetValueOrDefault(code) + count;
        }
        foreach (var (status, count) in other.OtherStatuses)
        {
            OtherStatuses[status] = OtherStatuses.GetValueOrDefault(status) + count;
        }
        LatenciesMs.AddRange(other.LatenciesMs);
        ServiceMs.AddRange(other.ServiceMs);
    }
}

internal sealed record BenchResult(Tally Tally, TimeSpan Elapsed, long RssMaxBytes, long RssEndBytes)
{
    /// <summary>Prints the result, then checks its answers (<see cref="Check"/>): the process's exit code.</summary>
    public int PrintAndCheck(BenchOptions options)
    {
        Print(options);
        return Check();
    }

    /// <summary>
    /// A throughput figure only means something if the server did the work it was measured for: every
    /// action must be answered <c>accepted</c>, except the ones re-sent on purpose, which may be
    /// <c>duplicate</c>. Anything else — an id conflict with an earlier run on the same data directory,
    /// a schema refusal, a 400 — fails the run loudly: 1, with the counts per status on stderr.
    /// Overload answers (503) and connection errors are outcomes being measured and are reported, not failed.
    /// </summary>
    public int Check()
    {
        long unexpectedDuplicates = Math.Max(0, Tally.Duplicates - Tally.Resent);
        long otherStatuses = Tally.OtherStatuses.Values.Sum();
        if (Tally.Rejected == 0 && unexpectedDuplicates == 0 && otherStatuses == 0)
        {
            return 0;
        }
        string codes = string.Join(", ", Tally.RejectedByCode.OrderByDescending(p => p.Value).Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Key}={p.Value}")));
        string statuses = string.Join(", ", Tally.OtherStatuses.OrderBy(p => p.Key).Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Key}={p.Value}")));
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"FAILED: not every answer was \"accepted\" (measured window): accepted={Tally.Accepted} duplicate={Tally.Duplicates} (re-sent on purpose: {Tally.Resent}) rejected={Tally.Rejected}{(codes.Length > 0 ? $" ({codes})" : "")}; HTTP answers other than 200/503: {(statuses.Length > 0 ? statuses : "none")}."));
        Console.Error.WriteLine("The figures above do not measure the intended workload (ids reused from an earlier run on this data directory? another release active?).");
        return 1;
    }

    public void Print(BenchOptions options)
    {
        var latencies = Tally.LatenciesMs.ToArray();
        Array.Sort(latencies);
        var service = Tally.ServiceMs.ToArray();
        Array.Sort(service);
        static double At(double[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
        double Percentile(double p) => At(latencies, p);
        double seconds = Elapsed.TotalSeconds;
        long acknowledged = Tally.Accepted + Tally.Duplicates;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"requests={Tally.Requests} ok={Tally.Ok} overloaded_503={Tally.Overloaded} errors={Tally.Errors} in {seconds:F1}s"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"acknowledged actions/s={acknowledged / seconds:F0} (accepted/s={Tally.Accepted / seconds:F0}, duplicate/s={Tally.Duplicates / seconds:F0}); 503/s={Tally.Overloaded / seconds:F0}"));
        if (Tally.Rejected > 0)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rejected actions: {Tally.Rejected} (a correct workload has none)"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ack latency ms (ok requests, from scheduled send): p50={Percentile(0.50):F2} p95={Percentile(0.95):F2} p99={Percentile(0.99):F2} max={(latencies.Length > 0 ? latencies[^1] : 0):F2}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"service latency ms (ok requests, from actual send): p50={At(service, 0.50):F2} p95={At(service, 0.95):F2} p99={At(service, 0.99):F2} max={(service.Length > 0 ? service[^1] : 0):F2}"));
        if (RssMaxBytes > 0)
        {
            string end = RssEndBytes > 0 ? (RssEndBytes / 1048576.0).ToString("F0", CultureInfo.InvariantCulture) : "- (not running)";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"server rss MiB: max={RssMaxBytes / 1048576.0:F0} end={end}"));
        }
    }
}

internal static class Http
{
    public static async Task<BenchResult> RunAsync(BenchOptions options)
    {
        ServerProcess? server = null;
        Uri baseAddress;
        if (options.Url is { } url)
        {
            baseAddress = new Uri(url);
        }
        else
        {
            string data = options.Data ?? Path.Combine(Path.GetTempPath(), "showrunner-bench-" + Environment.ProcessId);
            if (options.Data is null && Directory.Exists(data))
            {
                Directory.Delete(data, true);
            }
            // The benchmark is one operator switching releases: no second person, so no two-person rule.
            server = new ServerProcess(ServerProcess.LocateServerDll(options.Configuration), data, ServerProcess.FreePort(), "--Showrunner:Approvals:Enabled=false");
            server.Start();
            await server.WaitReadyAsync(TimeSpan.FromSeconds(60));
            baseAddress = server.BaseAddress;
            Console.WriteLine($"# server pid {server.ProcessId} on {baseAddress} data {data}");
        }
        try
        {
            // Open-loop clients keep several requests outstanding, so they get more connections.
            using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = options.Rate > 0 ? options.Clients * 4 : options.Clients, PooledConnectionLifetime = Timeout.InfiniteTimeSpan };
            using var client = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
            string? key = server?.AdminKey ?? options.Key;
            BenchAuth.Apply(client, key);
            var endpoint = new Uri("/v1/actions", UriKind.Relative);
            long rssMax = 0;
            using var sampling = new CancellationTokenSource();
            var sampler = Task.Run(async () =>
            {
                while (!sampling.IsCancellationRequested && server is not null)
                {
                    rssMax = Math.Max(rssMax, server.ResidentBytes());
                    try
                    {
                        await Task.Delay(100, sampling.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }
            });
            var statsUri = new Uri("/v1/stats", UriKind.Relative);
            var statsBefore = System.Text.Json.Nodes.JsonNode.Parse(await client.GetStringAsync(statsUri))!;
            using var switching = new CancellationTokenSource();
            var switcher = options.Mode == "releases" ? ReleaseSwitcher.RunAsync(baseAddress, key, options, switching.Token) : null;
            string runTag = LiveBench.RunTag("h");
            Console.WriteLine($"# run tag {runTag} (every id of this run starts with it, or is drawn from a source seeded by it)");
            var result = await Driver.RunAsync(options, (body, tally) => PostBatchAsync(client, endpoint, body, tally),
                c => new Workload(c, options, runTag));
            sampling.Cancel();
            await sampler;
            if (switcher is not null)
            {
                await switching.CancelAsync();
                (await switcher).Print();
            }
            var statsAfter = System.Text.Json.Nodes.JsonNode.Parse(await client.GetStringAsync(statsUri))!;
            long commits = (long)statsAfter["commits"]! - (long)statsBefore["commits"]!;
            long committed = (long)statsAfter["committed_since_start"]! - (long)statsBefore["committed_since_start"]!;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"group commits: {commits / (options.Seconds + options.Warmup):F0}/s, {(commits == 0 ? 0 : committed / (double)commits):F0} actions per commit"));
            return result with { RssMaxBytes = rssMax, RssEndBytes = server?.ResidentBytes() ?? 0 };
        }
        finally
        {
            server?.Dispose();
            if (options.Data is null && server is not null && Directory.Exists(server.DataDirectory))
            {
                Directory.Delete(server.DataDirectory, recursive: true);
            }
        }
    }

    /// <summary>Posts one batch and counts its answer: true for 200 (every action answered), false for 503 or another status.</summary>
    public static async Task<bool> PostBatchAsync(HttpClient client, Uri endpoint, byte[] body, Tally tally)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await client.PostAsync(endpoint, content);
        byte[] answer = await response.Content.ReadAsByteArrayAsync();
        if (response.StatusCode == HttpStatusCode.OK)
        {
            tally.Accepted += Count(answer, "\"status\":\"accepted\""u8);
            tally.Duplicates += Count(answer, "\"status\":\"duplicate\""u8);
            long rejected = Count(answer, "\"status\":\"rejected\""u8);
            if (rejected > 0)
            {
                tally.Rejected += rejected;
                CountRejectionCodes(answer, tally);
            }
            return true;
        }
        if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
        {
            tally.Overloaded++;
            return false;
        }
        tally.Errors++;
        tally.OtherStatuses[(int)response.StatusCode] = tally.OtherStatuses.GetValueOrDefault((int)response.StatusCode) + 1;
        return false;
    }

    /// <summary>Counts the codes of the rejected results (the server writes <c>"status":"rejected","code":"…"</c>); only read when a batch had one.</summary>
    private static void CountRejectionCodes(ReadOnlySpan<byte> answer, Tally tally)
    {
        ReadOnlySpan<byte> marker = "\"status\":\"rejected\",\"code\":\""u8;
        int index;
        while ((index = answer.IndexOf(marker)) >= 0)
        {
            answer = answer[(index + marker.Length)..];
            int end = answer.IndexOf((byte)'"');
            string code = end < 0 ? "?" : Encoding.UTF8.GetString(answer[..end]);
            tally.RejectedByCode[code] = tally.RejectedByCode.GetValueOrDefault(code) + 1;
        }
    }

    private static long Count(ReadOnlySpan<byte> haystack, ReadOnlySpan<byte> needle)
    {
        long count = 0;
        int index;
        while ((index = haystack.IndexOf(needle)) >= 0)
        {
            count++;
            haystack = haystack[(index + needle.Length)..];
        }
        return count;
    }
}

internal static class InProcess
{
    public static async Task<BenchResult> RunAsync(BenchOptions options)
    {
        string data = options.Data ?? Path.Combine(Path.GetTempPath(), "showrunner-bench-inproc-" + Environment.ProcessId);
        if (Directory.Exists(data))
        {
            Directory.Delete(data, true);
        }
        var ingest = new IngestOptions();
        // --collector: the server's MetricsCollector listens, so every instrument records (the server's
        // configuration); without it nobody listens and the instruments cost a check each.
        using var metrics = new Showrunner.Runtime.Observability.ShowrunnerMetrics();
        using var collector = options.Arguments.Contains("--collector") ? new Showrunner.Server.Observability.MetricsCollector(metrics, TimeProvider.System) : null;
        Console.WriteLine(collector is null ? "metrics: nobody listens" : "metrics: the server's MetricsCollector listens");
        // The runtime as the server composes it (docs/internals/runtime.md, "Composition root"), with this metrics instance.
        var runtime = RuntimeHarness.Create(new Showrunner.Runtime.RuntimeSettings { StoreProvider = new SqliteStoreProvider(), DataDirectory = data, Ingest = ingest },
            TimeProvider.System, configure: services => services.AddSingleton(metrics));
        runtime.Open();
        var pipeline = runtime.Pipeline;
        await pipeline.StartAsync();
        var limits = new ActionLimits();
        try
        {
            return await Driver.RunAsync(options, async (body, tally) =>
            {
                // What POST /v1/actions records around the pipeline: received and ack latency.
                long started = Stopwatch.GetTimestamp();
                var parsed = ActionBatchParser.Parse(body, limits, DateTime.UtcNow.Ticks);
                metrics.ActionsReceived.Add(parsed.Items.Length);
                var outcome = await pipeline.SubmitAsync(parsed.Items);
                metrics.AckLatency.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
                if (outcome.Status != SubmitStatus.Completed)
                {
                    tally.Overloaded++;
                    return false;
                }
                foreach (var result in outcome.Results!)
                {
                    if (result.Status == ActionStatus.Accepted)
                    {
                        tally.Accepted++;
                    }
                    else if (result.Status == ActionStatus.Duplicate)
                    {
                        tally.Duplicates++;
                    }
                    else
                    {
                        tally.Rejected++;
                        string code = result.Rejection?.Code ?? "?";
                        tally.RejectedByCode[code] = tally.RejectedByCode.GetValueOrDefault(code) + 1;
                    }
                }
                return true;
            }, c => new Workload(c, options, LiveBench.RunTag("i")));
        }
        finally
        {
            await runtime.DisposeAsync();
            if (options.Data is null)
            {
                Directory.Delete(data, recursive: true);
            }
        }
    }
}

/// <summary>
/// Runs the clients. Closed loop (rate 0): each client sends its next batch when the last is
/// answered. Open loop (rate R): each client follows a fixed schedule and latency is measured from
/// the scheduled send time, so a stalled server is not hidden (no coordinated omission).
/// </summary>
internal static class Driver
{
    /// <summary>Most requests one open-loop client keeps outstanding before it waits.</summary>
    private const int MaxOutstandingPerClient = 64;

    /// <param name="workloads">Makes client c's workload.</param>
    /// <param name="stop">Ends the run early (the restart mode kills the server under load): no request is sent after it.</param>
    public static async Task<BenchResult> RunAsync(BenchOptions options, Func<byte[], Tally, Task<bool>> send,
        Func<int, IWorkload> workloads, CancellationToken stop = default)
    {
        var total = new Tally();
        var warmupEnd = Stopwatch.GetTimestamp() + (long)(options.Warmup * (double)Stopwatch.Frequency);
        var end = warmupEnd + (long)(options.Seconds * (double)Stopwatch.Frequency);
        double intervalSeconds = options.Rate > 0 ? (double)options.Clients * options.Batch / options.Rate : 0;
        var tasks = Enumerable.Range(0, options.Clients).Select(c => Task.Run(async () =>
        {
            IWorkload workload = workloads(c);
            var tally = new Tally();
            var outstanding = new List<Task>();
            long start = Stopwatch.GetTimestamp() + (long)(c * intervalSeconds / options.Clients * Stopwatch.Frequency);
            for (long k = 0; ; k++)
            {
                long scheduled = options.Rate > 0 ? start + (long)(k * intervalSeconds * Stopwatch.Frequency) : Stopwatch.GetTimestamp();
                if (scheduled >= end || stop.IsCancellationRequested)
                {
                    break;
                }
                long wait = scheduled - Stopwatch.GetTimestamp();
                if (wait > 0)
                {
                    await Task.Delay(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency));
                }
                if (stop.IsCancellationRequested)
                {
                    break;
                }
                byte[] body = workload.NextBody(out int resent);
                var request = SendOneAsync(send, body, resent, scheduled, scheduled >= warmupEnd, tally);
                if (options.Rate == 0)
                {
                    await request; // closed loop: one request at a time per client
                }
                else
                {
                    // Open loop: the schedule does not wait for answers (no coordinated omission).
                    outstanding.Add(request);
                    if (outstanding.Count >= MaxOutstandingPerClient)
                    {
                        await Task.WhenAny(outstanding);
                        outstanding.RemoveAll(t => t.IsCompleted);
                    }
                }
                if (Stopwatch.GetTimestamp() >= end)
                {
                    break;
                }
            }
            await Task.WhenAll(outstanding);
            return tally;
        })).ToArray();
        foreach (var tally in await Task.WhenAll(tasks))
        {
            total.Merge(tally);
        }
        // A run stopped early measured until it stopped.
        double measuredSeconds = Math.Clamp(Stopwatch.GetElapsedTime(warmupEnd).TotalSeconds, 0.001, options.Seconds);
        return new BenchResult(total, TimeSpan.FromSeconds(stop.IsCancellationRequested ? measuredSeconds : options.Seconds), 0, 0);
    }

    private static async Task SendOneAsync(Func<byte[], Tally, Task<bool>> send, byte[] body, int resent, long scheduled, bool measured, Tally tally)
    {
        var sample = new Tally { Resent = resent };
        long sentAt = Stopwatch.GetTimestamp();
        bool ok;
        try
        {
            ok = await send(body, sample);
        }
        catch (HttpRequestException)
        {
            sample.Errors++;
            ok = false;
        }
        catch (TaskCanceledException)
        {
            sample.Errors++;
            ok = false;
        }
        if (!measured)
        {
            return;
        }
        long now = Stopwatch.GetTimestamp();
        sample.Requests = 1;
        if (ok)
        {
            sample.Ok = 1;
            sample.LatenciesMs.Add((now - scheduled) * 1000.0 / Stopwatch.Frequency);
            sample.ServiceMs.Add((now - sentAt) * 1000.0 / Stopwatch.Frequency);
        }
        lock (tally)
        {
            tally.Merge(sample);
        }
    }
}

/// <summary>
/// Publishes a second release (the example with another description: compatible, same schema) and
/// alternates activating it and rolling back while the ingest load runs, timing each call.
/// </summary>
internal static class ReleaseSwitcher
{
    public sealed record Timings(List<double> ActivateMs, List<double> RollbackMs)
    {
        public void Print()
        {
            foreach (var (name, values) in new[] { ("activate", ActivateMs), ("rollback", RollbackMs) })
            {
                var sorted = values.Order().ToArray();
                double At(double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{name} latency ms (n={sorted.Length}, under load): p50={At(0.50):F2} p95={At(0.95):F2} p99={At(0.99):F2} max={(sorted.Length > 0 ? sorted[^1] : 0):F2}"));
            }
        }
    }

    public static async Task<Timings> RunAsync(Uri baseAddress, string? key, BenchOptions options, CancellationToken stop)
    {
        var timings = new Timings([], []);
        using var client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
        BenchAuth.Apply(client, key);
        string example = File.ReadAllText(Path.Combine(ServerProcess.RepositoryRoot(), "examples", "summer-week-1", "release.hcl"));
        var (bundle, diagnostics) = Showrunner.Core.Rules.Bundle.ReleaseBundle.Build(
            [new Showrunner.Core.Rules.Syntax.SourceText("release.hcl", example.Replace("Crystal Caves treasure hunt", "Crystal Caves treasure hunt (B)", StringComparison.Ordinal))]);
        if (bundle is null)
        {
            throw new InvalidOperationException(string.Join("\n", diagnostics.Select(d => d.Format())));
        }
        using (var content = new ByteArrayContent(bundle.CanonicalBytes))
        {
            content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
            (await client.PostAsync(new Uri($"/v1/releases?id={bundle.Id}", UriKind.Relative), content)).EnsureSuccessStatusCode();
        }
        var activate = new Uri($"/v1/releases/{bundle.Id}/activate", UriKind.Relative);
        var rollback = new Uri("/v1/releases/rollback", UriKind.Relative);
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(options.Warmup), stop);
            while (!stop.IsCancellationRequested)
            {
                timings.ActivateMs.Add(await TimeAsync(client, activate));
                await Task.Delay(options.SwitchEveryMs, stop);
                timings.RollbackMs.Add(await TimeAsync(client, rollback));
                await Task.Delay(options.SwitchEveryMs, stop);
            }
        }
        catch (OperationCanceledException)
        {
            // The load ended.
        }
        return timings;
    }

    private static async Task<double> TimeAsync(HttpClient client, Uri uri)
    {
        long started = Stopwatch.GetTimestamp();
        using var response = await client.PostAsync(uri, null);
        double ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        response.EnsureSuccessStatusCode();
        return ms;
    }
}

/// <summary>The benchmark's clients send an API key like any other client (the server refuses requests without one).</summary>
internal static class BenchAuth
{
    public static void Apply(HttpClient client, string? key)
    {
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
    }
}
