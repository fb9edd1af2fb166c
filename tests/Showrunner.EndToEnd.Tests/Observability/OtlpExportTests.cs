using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Showrunner.Testing;

namespace Showrunner.EndToEnd.Tests.Observability;

/// <summary>
/// With <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> set, the real server exports metrics and traces over
/// OTLP/HTTP: a receiver on loopback gets protobuf POSTs on /v1/metrics and /v1/traces. (That the
/// payloads hold our instruments is the SDK's business; here we check that the export is wired.)
/// </summary>
[Trait("Category", "Integration")]
public sealed class OtlpExportTests
{
    [Fact]
    [Trait("Category", "Integration")]
    public async Task Metrics_and_traces_are_exported_to_the_configured_otlp_endpoint()
    {
        int port = ServerProcess.FreePort();
        var received = new ConcurrentQueue<(string Path, string? ContentType, long Length)>();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        using var stop = new CancellationTokenSource();
        var receiving = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                HttpListenerContext context;
                try
                {
                    context = await listener.GetContextAsync();
                }
                catch (Exception exception) when (exception is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }
                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                received.Enqueue((context.Request.Url!.AbsolutePath, context.Request.ContentType, body.Length));
                context.Response.StatusCode = 200;
                context.Response.ContentType = "application/x-protobuf";
                context.Response.Close();
            }
        });

        using var data = new TempDirectory("showrunner-otlp");
        using var server = MetricsWorkload.StartServer(data, new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{port}",
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
        });
        await server.WaitReadyAsync(TimeSpan.FromSeconds(60));
        using var admin = server.CreateClient(TimeSpan.FromSeconds(30));
        await MetricsWorkload.PrepareAsync(admin);
        await MetricsWorkload.RunAsync(admin, $"00-{ActivityTraceId.CreateRandom()}-{ActivitySpanId.CreateRandom()}-01");

        var watch = Stopwatch.StartNew();
        while (!(received.Any(r => r.Path == "/v1/metrics") && received.Any(r => r.Path == "/v1/traces")))
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30),
                $"received: {string.Join(", ", received.Select(r => r.Path))}\n{server.RecentOutput}");
            await Task.Delay(100);
        }
        Assert.All(received, r => Assert.Equal("application/x-protobuf", r.ContentType));
        Assert.All(received.Where(r => r.Path is "/v1/metrics" or "/v1/traces"), r => Assert.True(r.Length > 0));
        Assert.Contains(server.OutputLines, l => l.Contains($"OTLP export http://127.0.0.1:{port}/", StringComparison.Ordinal));
        await stop.CancelAsync();
        listener.Stop();
        await receiving;
    }
}
