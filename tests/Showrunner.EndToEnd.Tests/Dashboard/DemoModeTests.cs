using System.Diagnostics;
using System.Text.Json.Nodes;
using Showrunner.Testing;
using Xunit.Abstractions;

namespace Showrunner.EndToEnd.Tests.Dashboard;

/// <summary>
/// Demo mode in a real server process: within seconds a live event, a canary rollout and a
/// leaderboard, every simulated action accepted by the release's schemas through the real API,
/// at no more than the configured rate; after a restart on the same data directory (SIGKILL),
/// the same release and the same rollout (no second one), one demo key (the old one revoked),
/// and new actions that conflict with none of the old.
/// </summary>
[Trait("Category", "Fault")]
public sealed class DemoModeTests(ITestOutputHelper output)
{
    private const int Rate = 300;
    private const int BatchSize = 50;

    private static async Task<JsonNode> GetAsync(HttpClient client, string path) =>
        JsonNode.Parse(await client.GetStringAsync(new Uri(path, UriKind.Relative)))!;

    private static async Task<long> AcceptedAsync(HttpClient client) => (long)(await GetAsync(client, "/v1/stats"))["accepted"]!;

    private static async Task WaitAsync(Func<Task<bool>> condition, string what, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(watch.Elapsed < timeout, $"{what} within {timeout.TotalSeconds} s");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task Demo_mode_runs_a_live_event_at_a_bounded_rate_with_accepted_actions_and_survives_a_restart()
    {
        using var directory = new TempDirectory();
        string[] demo = ["--Showrunner:PartitionCount=32", "--Showrunner:Demo:Enabled=true", "--Showrunner:Demo:Players=1000",
            $"--Showrunner:Demo:ActionsPerSecond={Rate}", $"--Showrunner:Demo:BatchSize={BatchSize}", "--Showrunner:Demo:Seed=11"];
        using var server = new ServerProcess(TestServer.Dll, directory.Path, ServerProcess.FreePort(), demo);
        server.Start();
        await server.WaitReadyAsync(TimeSpan.FromSeconds(30));
        using var client = server.CreateClient(TimeSpan.FromSeconds(10));
        await WaitAsync(async () => await AcceptedAsync(client) >= 600, "600 demo actions accepted", TimeSpan.FromSeconds(20));

        var active = (await GetAsync(client, "/v1/releases/active"))["release"]!;
        Assert.Equal("summer-week-1-demo", (string?)active["name"]);
        var rollout = (await GetAsync(client, "/v1/rollout"))["rollout"]!;
        Assert.Equal(("running", 0, "summer-week-1-demo-tuned"), ((string?)rollout["state"], (int)rollout["step"]!["index"]!, (string?)rollout["candidate"]!["name"]));
        var events = await GetAsync(client, "/v1/events");
        Assert.Contains(events["events"]![0]!["runs"]!.AsArray(), run => (string?)run!["phase"] == "active");
        await WaitAsync(async () => (await GetAsync(client, "/v1/events/crystal_caves_hunt/leaderboard"))["entries"]!.AsArray().Count == 10,
            "ten players on the leaderboard", TimeSpan.FromSeconds(20));

        // The rate: over a measured stretch, never more than the configured rate (plus at most a second's backlog and a batch).
        long before = await AcceptedAsync(client);
        var watch = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(4));
        long after = await AcceptedAsync(client);
        double seconds = watch.Elapsed.TotalSeconds;
        output.WriteLine($"{after - before} actions accepted in {seconds:F2} s at a configured {Rate}/s");
        Assert.True(after - before <= (Rate * (seconds + 1)) + BatchSize, $"{after - before} actions in {seconds:F2} s exceeds {Rate}/s");
        Assert.True(after - before >= Rate * seconds * 0.3, $"only {after - before} actions in {seconds:F2} s at {Rate}/s");

        var stats = await GetAsync(client, "/v1/stats");
        Assert.Equal((0, 0), ((long)stats["rejected"]!, (long)stats["duplicates"]!));
        var keys = await GetAsync(client, "/v1/keys");
        var demoKeys = keys["keys"]!.AsArray().Where(k => (string?)k!["name"] == "demo player simulator").ToList();
        var key = Assert.Single(demoKeys)!;
        Assert.Equal(("game_server", "system:demo"), ((string?)key["kind"], (string?)key["created_by"]));
        long rolloutId = (long)rollout["id"]!;

        // A crash and a restart on the same data directory.
        server.Kill();
        server.Start();
        await server.WaitReadyAsync(TimeSpan.FromSeconds(30));
        long restarted = await AcceptedAsync(client);
        await WaitAsync(async () => await AcceptedAsync(client) >= restarted + 300, "300 more actions after the restart", TimeSpan.FromSeconds(20));
        Assert.Equal((string?)active["id"], (string?)(await GetAsync(client, "/v1/releases/active"))["release"]!["id"]);
        var again = (await GetAsync(client, "/v1/rollout"))["rollout"]!;
        Assert.Equal((rolloutId, "running"), ((long)again["id"]!, (string?)again["state"]));
        var keysAfter = (await GetAsync(client, "/v1/keys"))["keys"]!.AsArray().Where(k => (string?)k!["name"] == "demo player simulator").ToList();
        Assert.Equal(2, keysAfter.Count);
        Assert.Single(keysAfter, k => k!["revoked_at"] is null);
        Assert.Equal("system:demo", (string?)keysAfter.Single(k => (string?)k!["id"] == (string?)key["id"])!["revoked_by"]);
        var statsAfter = await GetAsync(client, "/v1/stats");
        Assert.Equal((0, 0), ((long)statsAfter["rejected"]!, (long)statsAfter["duplicates"]!));
    }
}
