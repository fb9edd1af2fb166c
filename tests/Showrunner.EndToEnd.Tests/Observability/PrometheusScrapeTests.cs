using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Showrunner.Testing;
using Xunit.Abstractions;

namespace Showrunner.EndToEnd.Tests.Observability;

/// <summary>
/// A real Prometheus (Debian's package) scrapes a real server with a viewer key from a credentials
/// file, and its query API returns exactly the values the workload implies: the exposition is
/// parsed by the reference implementation, not only by our own reader.
/// </summary>
[Trait("Category", "Integration")]
public sealed class PrometheusScrapeTests(ITestOutputHelper output)
{
    private const string Prometheus = "/usr/bin/prometheus";

    [RequiresProgramFact(Prometheus, "prometheus")]
    [Trait("Category", "Integration")]
    public async Task Prometheus_scrapes_the_server_and_its_queries_return_the_workload_counts()
    {
        using var data = new TempDirectory("showrunner-prometheus");
        using var server = MetricsWorkload.StartServer(data);
        await server.WaitReadyAsync(TimeSpan.FromSeconds(60));
        using var admin = server.CreateClient(TimeSpan.FromSeconds(30));
        await MetricsWorkload.PrepareAsync(admin);
        string viewerKey = await MetricsWorkload.CreateViewerKeyAsync(admin);
        await MetricsWorkload.RunAsync(admin);

        // Our own reading first: /metrics with the viewer key.
        using var viewer = server.CreateClient(TimeSpan.FromSeconds(30), credential: viewerKey);
        var exposed = MetricsWorkload.ParseExposition(await viewer.GetStringAsync(new Uri("/metrics", UriKind.Relative)));
        foreach (var (series, value) in MetricsWorkload.Expected)
        {
            Assert.True(exposed.TryGetValue(series, out double actual), $"/metrics has no {series}");
            Assert.Equal(value, actual);
        }

        using var prometheus = PrometheusProcess.Start(data.Path, server.Port, viewerKey, output);
        using var client = new HttpClient { BaseAddress = prometheus.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };

        // The target is up: Prometheus parsed a scrape without error.
        var target = await WaitForAsync(client, "up{job=\"showrunner\"}", prometheus);
        Assert.Equal(1, target.Single().Value);

        (string Query, double Value)[] queries =
        [
            ("showrunner_actions_received_total", 9),
            ("showrunner_actions_accepted_total", 6),
            ("showrunner_actions_duplicates_total", 1),
            ("sum(showrunner_actions_rejected_total)", 2),
            ("showrunner_actions_rejected_total{code=\"invalid_field_type\"}", 1),
            ("showrunner_batches_refused_total{code=\"malformed_json\"}", 1),
            ("showrunner_grants_total{event=\"hunt\",kind=\"action\"}", 3),
            ("showrunner_currency_granted_total{event=\"hunt\",currency=\"gems\"}", 300),
            ("showrunner_currency_granted_total{event=\"hunt\",currency=\"blade\"}", 1),
            ("showrunner_ack_latency_seconds_count", 2),
            ("showrunner_commit_batch_size_sum", 6),
            ("showrunner_outbox_backlog", 3),
            ("showrunner_outbox_dead_letters", 0),
        ];
        foreach (var (query, value) in queries)
        {
            var result = await WaitForAsync(client, query, prometheus, value);
            Assert.Equal(value, result.Single().Value);
        }

        // The histogram's buckets are well formed: histogram_quantile answers within the bucket range.
        var p99 = await WaitForAsync(client, "histogram_quantile(0.99, sum by (le) (showrunner_ack_latency_seconds_bucket))", prometheus);
        Assert.InRange(p99.Single().Value, 0, 10);

        var targets = JsonNode.Parse(await client.GetStringAsync(new Uri("/api/v1/targets", UriKind.Relative)))!;
        var active = Assert.Single(targets["data"]!["activeTargets"]!.AsArray())!;
        Assert.Equal("up", (string?)active["health"]);
        Assert.Equal("", (string?)active["lastError"]);
    }

    /// <summary>
    /// Queries until the result is non-empty (and, when given, the first value equals
    /// <paramref name="expected"/>), for at most 30 s; fails with Prometheus' output otherwise.
    /// </summary>
    private static async Task<List<(JsonNode Metric, double Value)>> WaitForAsync(HttpClient client, string query, PrometheusProcess prometheus,
        double? expected = null)
    {
        var watch = Stopwatch.StartNew();
        string last = "";
        while (watch.Elapsed < TimeSpan.FromSeconds(30))
        {
            try
            {
                last = await client.GetStringAsync(new Uri("/api/v1/query?query=" + Uri.EscapeDataString(query), UriKind.Relative));
                var body = JsonNode.Parse(last)!;
                Assert.Equal("success", (string?)body["status"]);
                var results = body["data"]!["result"]!.AsArray()
                    .Select(r => (r!["metric"]!, double.Parse((string)r["value"]![1]!, CultureInfo.InvariantCulture)))
                    .ToList();
                if (results.Count > 0 && (expected is null || results[0].Item2 == expected))
                {
                    return results;
                }
            }
            catch (HttpRequestException)
            {
                // Prometheus is still starting.
            }
            await Task.Delay(250);
        }
        throw new TimeoutException($"Prometheus did not answer {query}{(expected is null ? "" : " = " + expected)} within 30 s; last answer: {last}\n{prometheus.RecentOutput}");
    }

    /// <summary>A Prometheus server on a free loopback port with a temporary storage directory, scraping the server every second; killed on dispose.</summary>
    private sealed class PrometheusProcess : IDisposable
    {
        private readonly Process _process;
        private readonly List<string> _lines = [];

        private PrometheusProcess(Process process, int port)
        {
            _process = process;
            BaseAddress = new Uri($"http://127.0.0.1:{port}");
        }

        public Uri BaseAddress { get; }

        public string RecentOutput
        {
            get
            {
                lock (_lines)
                {
                    return string.Join('\n', _lines.TakeLast(30));
                }
            }
        }

        public static PrometheusProcess Start(string directory, int serverPort, string viewerKey, ITestOutputHelper output)
        {
            string root = Path.Combine(directory, "prometheus");
            Directory.CreateDirectory(root);
            string credentials = Path.Combine(root, "viewer.key");
            File.WriteAllText(credentials, viewerKey + "\n");
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(credentials, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
            string config = Path.Combine(root, "prometheus.yml");
            File.WriteAllText(config, $"""
                global:
                  scrape_interval: 1s
                  scrape_timeout: 1s
                scrape_configs:
                  - job_name: showrunner
                    metrics_path: /metrics
                    authorization:
                      type: Bearer
                      credentials_file: {credentials}
                    static_configs:
                      - targets: ["127.0.0.1:{serverPort}"]
                """);
            int port = ServerProcess.FreePort();
            var info = new ProcessStartInfo(Prometheus) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            info.ArgumentList.Add("--config.file=" + config);
            info.ArgumentList.Add("--storage.tsdb.path=" + Path.Combine(root, "data"));
            info.ArgumentList.Add($"--web.listen-address=127.0.0.1:{port}");
            var process = Process.Start(info) ?? throw new InvalidOperationException("prometheus did not start");
            var started = new PrometheusProcess(process, port);
            process.OutputDataReceived += (_, e) => started.Remember(e.Data);
            process.ErrorDataReceived += (_, e) => started.Remember(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            output.WriteLine($"prometheus pid {process.Id} on port {port}, scraping 127.0.0.1:{serverPort}");
            return started;
        }

        private void Remember(string? line)
        {
            if (line is null)
            {
                return;
            }
            lock (_lines)
            {
                _lines.Add(line);
                if (_lines.Count > 200)
                {
                    _lines.RemoveRange(0, 100);
                }
            }
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
            }
            _process.Dispose();
        }
    }
}
