using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Showrunner.Storage;
using Showrunner.Storage.Sqlite;
using Showrunner.Testing;

namespace Showrunner.Server.Tests;

/// <summary>
/// The real server (Program) on a fresh data directory, with a manual clock and a store whose
/// commits and start-up can be held or failed. The two-person rule is off unless the settings turn
/// it on; a request with <c>X-Test-Principal: ID,ROLE</c> runs as that operator (<see cref="TestPrincipals"/>).
/// </summary>
internal sealed class ShowrunnerFactory : WebApplicationFactory<Program>
{
    public static readonly DateTimeOffset Now = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _directory = new();
    private readonly Dictionary<string, string?> _settings;

    public ShowrunnerFactory(Dictionary<string, string?>? settings = null, bool holdStart = false)
    {
        _settings = settings ?? [];
        Store = new ControllableStore(new SqliteActionStore(new SqliteStoreOptions { DataDirectory = _directory.Path, ReadConnections = 2 }, Clock));
        if (holdStart)
        {
            Store.HoldStart();
        }
    }

    public ManualClock Clock { get; } = new(Now);
    public string DataDirectory => _directory.Path;
    public ControllableStore Store { get; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("data", _directory.Path);
        builder.UseSetting("Showrunner:PartitionCount", "16");
        // The built-in example release checks combat.kill actions; most tests send free-form ones.
        builder.UseSetting("Showrunner:LoadExample", "false");
        // Most tests exercise something other than the two-person rule: they act alone, as before
        // approvals existed. The approval tests turn it on in their settings.
        builder.UseSetting("Showrunner:Approvals:Enabled", "false");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }
        builder.ConfigureTestServices(services =>
        {
            services.AddSingleton<TimeProvider>(Clock);
            services.AddSingleton<IActionStore>(Store);
            // X-Test-Principal: ID,ROLE stands in for authentication (TestPrincipals).
            services.AddSingleton<IStartupFilter, TestPrincipals>();
        });
    }

    /// <summary>A client for a server that is ready to accept actions.</summary>
    public async Task<HttpClient> ReadyClientAsync()
    {
        var client = CreateClient();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while ((await client.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode != System.Net.HttpStatusCode.OK)
        {
            Assert.True(DateTime.UtcNow < deadline, "server not ready within 10 s");
            await Task.Delay(10);
        }
        return client;
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _directory.Dispose();
        }
    }
}
