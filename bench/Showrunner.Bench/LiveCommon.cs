using System.Buffers;
using System.Buffers.Text;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Showrunner.Core.Actions;
using Showrunner.Core.Rules.Bundle;
using Showrunner.Core.Rules.Syntax;
using Showrunner.Testing;

namespace Showrunner.Bench;

/// <summary>
/// The release the live modes run: <see cref="EventCount"/> events, all running now (started a day
/// ago, 30 days long) and all counting <c>combat.kill</c> { zone = int }, so every action is
/// evaluated against every event. Event k counts a kill in <c>zonesPerEvent</c> consecutive zones
/// starting at k (mod 20): with zones uniform in 0..19 each action adds 1 point to exactly
/// <c>zonesPerEvent</c> events. Tiers every 3 points (3, 6, …, 60), a leaderboard with four prize
/// ranges on every event, and a community goal on event 0.
/// </summary>
/// <remarks>
/// Why 3 zones per event by default, and not 1 (<c>when = action.zone == k</c>): a tier is crossed
/// on every third point of one player in one event, so one point per action makes at most 1/3 grant
/// per action, and only once each of the 100,000 × 20 counters has warmed up. At 50,000 actions/s
/// a 30 s run gives each player about 15 actions, each counter 0.75 points, and about 0.05 grants
/// per action. With three events per action the steady state is 1 grant per action, and a run is
/// above 1/3 from about 10 actions per player on (0.39 at 10, 0.56 at 15, 0.67 at 20, 0.78 at 30:
/// Poisson arithmetic). <c>--zones-per-event 1</c> gives the literal workload.
/// Prizes are paid at finalization (30 days later), so they cost leaderboard upkeep only. The
/// community goal's target (<c>--goal-target</c>, default 10^12) is not reached in a benchmark: a
/// reached goal grants every participant at once, a burst that is not the steady state measured here.
/// </remarks>
internal static class LiveRelease
{
    public const int EventCount = 20;
    public const int ZoneCount = 20;
    public const int TierStep = 3;
    public const int TierCount = 20;
    public const string ActionType = "combat.kill";

    public static int ZonesPerEvent(BenchOptions options)
    {
        int zones = options.Int("zones-per-event", 3);
        return zones is >= 1 and <= ZoneCount
            ? zones
            : throw new ArgumentException($"--zones-per-event {zones}: must be 1 to {ZoneCount}.");
    }

    public static long GoalTarget(BenchOptions options) => options.Long("goal-target", 1_000_000_000_000);

    public static string Source(DateTimeOffset now, int zonesPerEvent, long goalTarget)
    {
        string start = new DateTimeOffset(now.UtcTicks - now.UtcTicks % TimeSpan.TicksPerSecond, TimeSpan.Zero).AddDays(-1)
            .ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var text = new StringBuilder($$"""
            release "bench-live" {
              description = "Benchmark: {{EventCount}} running events that all count {{ActionType}}"
            }
            currency "gems" {}
            item "trophy" {}

            action "{{ActionType}}" {
              zone = int
            }

            safety_bounds {
              max_points_per_action  = 100
              max_currency_per_grant = { gems = 5000 }
            }

            """);
        for (int k = 0; k < EventCount; k++)
        {
            string zones = string.Join(", ", Enumerable.Range(k, zonesPerEvent).Select(z => (z % ZoneCount).ToString(CultureInfo.InvariantCulture)));
            string condition = zonesPerEvent == 1 ? $"action.zone == {k}" : $"action.zone in [{zones}]";
            text.Append(CultureInfo.InvariantCulture, $$"""
                event "zone_hunt_{{k:D2}}" {
                  title = "Zone hunt {{k}}"
                  schedule {
                    start    = "{{start}}"
                    duration = "30d"
                  }
                  objective "kills" {
                    on     = "{{ActionType}}"
                    when   = {{condition}}
                    points = 1
                  }

                """);
            for (int tier = 1; tier <= TierCount; tier++)
            {
                text.Append(CultureInfo.InvariantCulture, $$"""
                      tier "t{{tier * TierStep:D2}}" {
                        at     = {{tier * TierStep}}
                        reward = { gems = {{tier * 10}} }
                      }

                    """);
            }
            text.Append("""
                  leaderboard {
                    prize "1"       { reward = { gems = 5000, trophy = 1 } }
                    prize "2-10"    { reward = { gems = 1000 } }
                    prize "11-100"  { reward = { gems = 200 } }
                    prize "101-1000" { reward = { gems = 50 } }
                  }

                """);
            if (k == 0)
            {
                text.Append(CultureInfo.InvariantCulture, $$"""
                      community_goal {
                        target = {{goalTarget}}
                        reward = { gems = 100 }
                      }

                    """);
            }
            text.Append("}\n\n");
        }
        return text.ToString();
    }

    /// <summary>Builds the bundle (check, canonical form, id) or throws with the diagnostics.</summary>
    public static ReleaseBundle Build(DateTimeOffset now, BenchOptions options)
    {
        var (bundle, diagnostics) = ReleaseBundle.Build([new SourceText("bench-live.hcl", Source(now, ZonesPerEvent(options), GoalTarget(options)))]);
        return bundle ?? throw new InvalidOperationException("The generated release does not build:\n" + string.Join("\n", diagnostics.Select(d => d.Format())));
    }

    public static void Describe(ReleaseBundle bundle, BenchOptions options)
    {
        int zones = ZonesPerEvent(options);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"# release {bundle.Id}: {EventCount} running events counting {ActionType}, each action adds 1 point to {zones} of them; " +
            $"tiers every {TierStep} points to {TierStep * TierCount}; steady state {zones / (double)TierStep:F2} grants per action; community goal target {GoalTarget(options)}"));
    }
}

/// <summary>The seeded random source of one simulated client: the same sequence of players and zones for the same --seed.</summary>
internal static class BenchRandom
{
    public static Random ForClient(int seed, int client) => new(unchecked((seed * 1_000_003) + client));
}

/// <summary>
/// Request bodies of one game server for the live release: batches of <c>combat.kill</c> actions of
/// players drawn uniformly from --players, zone uniform in 0..19. Ids are "{run}-{client}-{counter}":
/// the run tag keeps them unique across runs on one data directory, the counter keeps them ordered
/// (docs/benchmarks.md: ordered ids are what game servers should send).
/// </summary>
internal sealed class LiveWorkload : IWorkload
{
    private readonly Random _random;
    private readonly int _batch;
    private readonly int _players;
    private readonly byte[] _idPrefix;
    private readonly ArrayBufferWriter<byte> _buffer;
    private long _counter;

    public LiveWorkload(int client, BenchOptions options, string runTag)
    {
        _random = BenchRandom.ForClient(options.Seed, client);
        _batch = options.Batch;
        _players = options.Players;
        _idPrefix = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{runTag}-{client}-"));
        _buffer = new ArrayBufferWriter<byte>(_batch * 120 + 32);
    }

    public byte[] NextBody(out int resent)
    {
        resent = 0; // every action is new: a correct run has every one answered "accepted"
        _buffer.ResetWrittenCount();
        Write("{\"actions\":["u8);
        byte[] at = Encoding.UTF8.GetBytes(Rfc3339.Format(DateTime.UtcNow.Ticks));
        for (int i = 0; i < _batch; i++)
        {
            Write(i == 0 ? "{\"id\":\""u8 : ",{\"id\":\""u8);
            Write(_idPrefix);
            WriteNumber(_counter++);
            Write("\",\"player\":\"player-"u8);
            WriteNumber(_random.Next(_players));
            Write("\",\"type\":\"combat.kill\",\"at\":\""u8);
            Write(at);
            Write("\",\"data\":{\"zone\":"u8);
            WriteNumber(_random.Next(LiveRelease.ZoneCount));
            Write("}}"u8);
        }
        Write("]}"u8);
        return _buffer.WrittenSpan.ToArray();
    }

    private void Write(ReadOnlySpan<byte> bytes) => _buffer.Write(bytes);

    private void WriteNumber(long value)
    {
        var span = _buffer.GetSpan(20);
        Utf8Formatter.TryFormat(value, span, out int written);
        _buffer.Advance(written);
    }
}

/// <summary>Percentiles of a sample, printed the same way by every live mode.</summary>
internal static class Percentiles
{
    public static double At(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    /// <summary>"p50=… p95=… p99=… max=… (n=…)" in milliseconds.</summary>
    public static string Format(IEnumerable<double> valuesMs)
    {
        double[] sorted = [.. valuesMs.Order()];
        return string.Create(CultureInfo.InvariantCulture,
            $"p50={At(sorted, 0.50):F2} p95={At(sorted, 0.95):F2} p99={At(sorted, 0.99):F2} max={(sorted.Length > 0 ? sorted[^1] : 0):F2} (n={sorted.Length})");
    }

    public static string MiB(long bytes) => (bytes / 1048576.0).ToString("F0", CultureInfo.InvariantCulture);
}

/// <summary>
/// The real server as the live modes run it: a child process on a loopback port over a data
/// directory, with <c>Showrunner:LoadExample=false</c> (the benchmark publishes its own release)
/// and, with --checkpoint-ms, <c>Showrunner:CheckpointIntervalMs</c>. Or a server already running at
/// --url (then nothing is started, and RSS is not known).
/// </summary>
internal sealed class BenchServer : IDisposable
{
    /// <summary>How long a start may take before the benchmark gives up (a 10 M action restart takes seconds, not minutes).</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(10);

    private readonly bool _deleteData;

    private BenchServer(Uri baseAddress, ServerProcess? process, bool deleteData, string? key)
    {
        BaseAddress = baseAddress;
        Process = process;
        _deleteData = deleteData;
        Client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(120) };
        Key = key;
        BenchAuth.Apply(Client, key);
    }

    /// <summary>The API key every client of the benchmark sends: --key for a server at --url, the admin key of a started one (known once it started).</summary>
    public string? Key { get; private set; }

    public Uri BaseAddress { get; }
    public ServerProcess? Process { get; }
    public HttpClient Client { get; }
    public string? DataDirectory => Process?.DataDirectory;

    public static BenchServer AtUrl(string url, string? key) => new(new Uri(url), null, deleteData: false, key);

    /// <summary>A server process for <paramref name="data"/>, not started yet.</summary>
    public static BenchServer Create(BenchOptions options, string data, bool deleteData)
    {
        // One operator publishes and activates: no second person, so no two-person rule.
        var arguments = new List<string> { "--Showrunner:LoadExample=false", "--Showrunner:Approvals:Enabled=false" };
        if (options.Text("checkpoint-ms") is { } checkpointMs)
        {
            arguments.Add("--Showrunner:CheckpointIntervalMs=" + checkpointMs);
        }
        var process = new ServerProcess(ServerProcess.LocateServerDll(options.Configuration), data, ServerProcess.FreePort(), [.. arguments]);
        return new BenchServer(process.BaseAddress, process, deleteData, key: null);
    }

    /// <summary>A fresh data directory: --data if given (it must not hold a store yet), else a temporary one deleted at the end.</summary>
    public static (string Data, bool Delete) FreshDataDirectory(BenchOptions options, string name)
    {
        if (options.Data is { } given)
        {
            if (File.Exists(Path.Combine(given, "showrunner.db")))
            {
                throw new ArgumentException($"--data {given} already holds a store; mode {options.Mode} needs a fresh data directory.");
            }
            return (given, false);
        }
        string data = Path.Combine(Path.GetTempPath(), $"showrunner-bench-{name}-{Environment.ProcessId}");
        if (Directory.Exists(data))
        {
            Directory.Delete(data, recursive: true);
        }
        return (data, true);
    }

    /// <summary>Starts the process and polls (every 10 ms) until /healthz and then /readyz answer 200; the times are from process start.</summary>
    public async Task<(TimeSpan Listening, TimeSpan Ready)> StartAsync()
    {
        var process = Process ?? throw new InvalidOperationException("The server at --url is not started by the benchmark.");
        using var probe = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        long started = Stopwatch.GetTimestamp();
        process.Start();
        TimeSpan? listening = null;
        while (Stopwatch.GetElapsedTime(started) < StartTimeout)
        {
            if (process.ProcessId is null)
            {
                throw new InvalidOperationException("The server exited before it was ready:\n" + process.RecentOutput);
            }
            try
            {
                using var response = await probe.GetAsync(new Uri(listening is null ? "/healthz" : "/readyz", UriKind.Relative));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    if (listening is not null)
                    {
                        var ready = Stopwatch.GetElapsedTime(started);
                        Key = process.AdminKey;
                        BenchAuth.Apply(Client, Key);
                        Console.WriteLine($"# server pid {process.ProcessId} on {BaseAddress} data {process.DataDirectory}");
                        return (listening.Value, ready);
                    }
                    listening = Stopwatch.GetElapsedTime(started);
                    continue;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Busy starting.
            }
            await Task.Delay(10);
        }
        throw new TimeoutException($"The server was not ready within {StartTimeout}:\n{process.RecentOutput}");
    }

    /// <summary>The "Live state loaded: …" line this process printed at start (it is logged just before ready; waits a moment for the output).</summary>
    public async Task<string> LiveStateLineAsync()
    {
        for (int attempt = 0; attempt < 50; attempt++)
        {
            string? line = Process?.RecentOutput.Split('\n').LastOrDefault(l => l.Contains("Live state loaded:", StringComparison.Ordinal));
            if (line is not null)
            {
                return line.Trim();
            }
            await Task.Delay(100);
        }
        return "(no 'Live state loaded' line in the server's output)";
    }

    public long ResidentBytes() => Process?.ResidentBytes() ?? 0;

    /// <summary>Publishes the bundle and makes it active (POST /v1/releases, then /activate).</summary>
    public async Task ActivateAsync(ReleaseBundle bundle)
    {
        using (var content = new ByteArrayContent(bundle.CanonicalBytes))
        {
            content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
            using var published = await Client.PostAsync(new Uri($"/v1/releases?id={bundle.Id}", UriKind.Relative), content);
            await EnsureAsync(published, "publishing the release");
        }
        long started = Stopwatch.GetTimestamp();
        using var activated = await Client.PostAsync(new Uri($"/v1/releases/{bundle.Id}/activate", UriKind.Relative), null);
        await EnsureAsync(activated, "activating the release");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# release published and activated ({Stopwatch.GetElapsedTime(started).TotalMilliseconds:F0} ms to activate)"));
    }

    public async Task<JsonNode> GetJsonAsync(string path)
    {
        using var response = await Client.GetAsync(new Uri(path, UriKind.Relative));
        await EnsureAsync(response, "GET " + path);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }

    private static async Task EnsureAsync(HttpResponseMessage response, string what)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{what}: HTTP {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>SIGKILL, as a crash would.</summary>
    public void Kill() => Process?.Kill();

    public void Dispose()
    {
        Client.Dispose();
        Process?.Dispose();
        if (_deleteData && Process is not null && Directory.Exists(Process.DataDirectory))
        {
            Directory.Delete(Process.DataDirectory, recursive: true);
        }
    }
}

/// <summary>Samples a server process's resident memory every 100 ms until stopped.</summary>
internal sealed class RssSampler
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _maxBytes;

    public RssSampler(BenchServer server) => _loop = Task.Run(async () =>
    {
        while (!_stop.IsCancellationRequested)
        {
            Interlocked.Exchange(ref _maxBytes, Math.Max(Interlocked.Read(ref _maxBytes), server.ResidentBytes()));
            try
            {
                await Task.Delay(100, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    });

    public long MaxBytes => Interlocked.Read(ref _maxBytes);

    public async Task<long> StopAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
        return MaxBytes;
    }
}
