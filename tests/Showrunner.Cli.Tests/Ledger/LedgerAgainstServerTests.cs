using System.Globalization;
using System.Text;
using System.Text.Json;
using Showrunner.Testing;

namespace Showrunner.Cli.Tests.Ledger;

/// <summary>
/// The README's walkthrough against the real server process: publish the always-live daily quest,
/// send actions that cross tiers, then check a receipt offline and the whole ledger over HTTP and
/// on the data directory (while the server runs), and reconcile the log with it.
/// </summary>
[Trait("Category", "Fault")]
public sealed class LedgerAgainstServerTests
{
    private static (int ExitCode, string Output, string Errors) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var errors = new StringWriter();
        int exitCode = ShowrunnerCommand.Run(args, output, errors);
        return (exitCode, output.ToString(), errors.ToString());
    }

    [Fact]
    public async Task Ledger_verify_over_http_and_on_disk_receipts_and_reconcile_agree_with_a_running_server()
    {
        using var directory = new TempDirectory();
        using var server = new ServerProcess(ServerProcess.LocateServerDll(), directory.Path, ServerProcess.FreePort(),
            "--Showrunner:LoadExample=false", "--Showrunner:CheckpointIntervalMs=200", "--Showrunner:Approvals:Enabled=false");
        server.Start();
        await server.WaitReadyAsync(TimeSpan.FromSeconds(60));
        string url = server.BaseAddress.ToString();
        // The server runs on real time, and examples/daily-quest's daily run is live 23 hours of 24
        // (00:00-23:00 UTC, then an hour of grace): a copy live all day keeps the test independent of
        // the hour it runs at (it failed between 23:00 and 24:00 UTC).
        string release = Path.Combine(directory.Path, "daily-quest");
        Directory.CreateDirectory(release);
        string source = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "examples", "daily-quest", "release.hcl"));
        string allDay = source.Replace("duration = \"23h\"", "duration = \"24h\"", StringComparison.Ordinal)
            .Replace("grace    = \"1h\"", "grace    = \"0s\"", StringComparison.Ordinal);
        Assert.NotEqual(source, allDay);
        File.WriteAllText(Path.Combine(release, "release.hcl"), allDay);
        var published = Run("publish", release, "--activate", "--server", url, "--key", server.AdminKey);
        Assert.True(published.ExitCode == 0, published.Errors);

        using var http = server.CreateClient();
        string at = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        // 12 players, 6 kills each: 60 points, tiers first_blood (10) and hunter (50).
        var actions = Enumerable.Range(0, 72).Select(i =>
            "{\"id\":\"k-" + i + "\",\"player\":\"p-" + (i % 12) + "\",\"type\":\"combat.kill\",\"at\":\"" + at + "\",\"data\":{\"target\":\"dragon\",\"zone\":\"z\"}}");
        var sent = await http.PostAsync(new Uri("/v1/actions", UriKind.Relative),
            new StringContent("{\"actions\":[" + string.Join(",", actions) + "]}", Encoding.UTF8, "application/json"));
        Assert.Equal(System.Net.HttpStatusCode.OK, sent.StatusCode);

        var rewards = JsonDocument.Parse(await http.GetStringAsync(new Uri("/v1/players/p-3/rewards", UriKind.Relative))).RootElement.GetProperty("rewards");
        Assert.Equal(["tier:first_blood", "tier:hunter"], rewards.EnumerateArray().Select(r => r.GetProperty("rule").GetString()!));
        string receipt = Path.Combine(directory.Path, "receipt.json");
        string key = Path.Combine(directory.Path, "ledger.pub");
        File.WriteAllText(receipt, await http.GetStringAsync(new Uri($"/v1/rewards/{rewards[0].GetProperty("grant_id").GetString()}/receipt", UriKind.Relative)));
        File.WriteAllText(key, await http.GetStringAsync(new Uri("/v1/ledger/key?format=pem", UriKind.Relative)));

        var offline = Run("receipt", "verify", receipt, "--key", key);
        Assert.True(offline.ExitCode == 0, offline.Errors);
        var overHttp = Run("ledger", "verify", "--server", url, "--key", key, "--api-key", server.AdminKey, "--json");
        Assert.True(overHttp.ExitCode == 0, overHttp.Output + overHttp.Errors);
        Assert.Equal(24, JsonDocument.Parse(overHttp.Output).RootElement.GetProperty("entries").GetInt64());
        var onDisk = Run("ledger", "verify", "--data", directory.Path, "--key", key);
        Assert.True(onDisk.ExitCode == 0, onDisk.Errors);
        var reconciled = Run("reconcile", "--data", directory.Path);
        Assert.True(reconciled.ExitCode == 0, reconciled.Output + reconciled.Errors);
        Assert.Contains("0 differences", reconciled.Output, StringComparison.Ordinal);
        server.Kill();
    }
}
