using System.Net;
using System.Net.Sockets;
using Showrunner.Testing;

namespace Showrunner.Cli.Tests;

/// <summary>
/// <c>showrunner demo</c>: starts the real server in demo mode on a fresh data directory, prints
/// the dashboard's address and the admin key's path once it is ready, serves a dashboard with live
/// data, and on cancellation (what Ctrl+C does) stops the server cleanly and returns 0 — the
/// port is free afterwards. Bad options are refused before anything starts.
/// </summary>
[Trait("Category", "Integration")]
public sealed class DemoCommandTests
{
    private static (int ExitCode, string Output, string Errors) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var errors = new StringWriter();
        int exitCode = ShowrunnerCommand.Run(args, output, errors);
        return (exitCode, output.ToString(), errors.ToString());
    }

    [Fact]
    public async Task The_demo_prints_where_the_dashboard_and_the_admin_key_are_and_stops_the_server_when_cancelled()
    {
        using var directory = new TempDirectory("showrunner-cli-demo");
        string data = Path.Combine(directory.Path, "demo-data");
        int port = ServerProcess.FreePort();
        using var outputText = new StringWriter();
        using var errorsText = new StringWriter();
        var output = TextWriter.Synchronized(outputText);
        var errors = TextWriter.Synchronized(errorsText);
        // The synchronized writers lock themselves while writing; reading takes the same lock.
        string Printed()
        {
            lock (output)
            {
                lock (errors)
                {
                    return outputText + errorsText.ToString();
                }
            }
        }
        using var stop = new CancellationTokenSource();
        var demo = new DemoCommand(output, errors).RunAsync(new DemoOptions(data, port, 200, 200, 3, Rollout: true, ServerDll: null), stop.Token);

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!Printed().Contains("Press Ctrl+C to stop.", StringComparison.Ordinal))
        {
            Assert.False(demo.IsCompleted, "the demo ended early: " + Printed());
            Assert.True(DateTime.UtcNow < deadline, "the demo did not report ready within 60 s: " + Printed());
            await Task.Delay(100);
        }
        string printed = Printed();
        Assert.Contains($"Dashboard:  http://127.0.0.1:{port}/dashboard", printed, StringComparison.Ordinal);
        Assert.Contains($"Admin key:  {Path.Combine(data, "admin.key")}", printed, StringComparison.Ordinal);
        string key = (await File.ReadAllTextAsync(Path.Combine(data, "admin.key"))).Trim();

        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/dashboard", UriKind.Relative))).StatusCode);
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        // The simulator is sending: the dashboard's counts grow.
        long accepted = 0;
        while (accepted == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "no demo action reached the dashboard");
            var snapshot = System.Text.Json.Nodes.JsonNode.Parse(await client.GetStringAsync(new Uri("/v1/dashboard", UriKind.Relative)))!;
            accepted = (long)snapshot["totals"]!["accepted"]!;
            await Task.Delay(200);
        }

        stop.Cancel();
        var finished = await Task.WhenAny(demo, Task.Delay(TimeSpan.FromSeconds(40)));
        Assert.True(finished == demo, "the demo did not stop within 40 s of being cancelled");
        Assert.True(await demo == 0, Printed());
        // It stopped by itself on request (not killed after the timeout), and nothing listens on its port any more.
        Assert.Contains("Demo stopped (the server exited with code 0).", Printed(), StringComparison.Ordinal);
        using var probe = new TcpClient();
        await Assert.ThrowsAnyAsync<SocketException>(() => probe.ConnectAsync(IPAddress.Loopback, port));
    }

    [Theory]
    [InlineData("--rate", "0", "--rate 0")]
    [InlineData("--rate", "20001", "--rate 20001")]
    [InlineData("--players", "5", "--players 5")]
    [InlineData("--port", "70000", "--port 70000")]
    [InlineData("--server-dll", "/nonexistent/Showrunner.Server.dll", "demo_server_missing")]
    public void Bad_options_are_refused_with_exit_code_2_before_anything_starts(string option, string value, string message)
    {
        var (exitCode, _, errors) = Run("demo", option, value, "--data", Path.Combine(Path.GetTempPath(), "showrunner-never-created"));
        Assert.Equal(2, exitCode);
        Assert.Contains(message, errors, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(Path.GetTempPath(), "showrunner-never-created")));
    }
}
