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
/// commits and start-up can be held or failed. Clients it creates send the bootstrap admin key
/// (read from <c>&lt;data&gt;/admin.key</c>) unless a test asks for another credential; rate
/// limits are raised out of the way (the manual clock never refills a bucket) unless a test sets them.
/// The two-person rule is off unless the settings turn it on; <see cref="TestPrincipals"/> makes
/// named operators with real keys.
/// </summary>
internal sealed class ShowrunnerFactory : WebApplicationFactory<Program>
{
    public static readonly DateTimeOffset Now = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _directory = new();
    private readonly Dictionary<string, string?> _settings;
    private readonly Action<IWebHostBuilder>? _configure;

    public ShowrunnerFactory(Dictionary<string, string?>? settings = null, bool holdStart = false, Action<IWebHostBuilder>? configure = null)
    {
        _settings = settings ?? [];
        _configure = configure;
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
        foreach (string kind in new[] { "Operator", "GameServer", "Player", "Anonymous" })
        {
            builder.UseSetting($"Showrunner:RateLimits:{kind}PerSecond", "1000000");
            builder.UseSetting($"Showrunner:RateLimits:{kind}Burst", "1000000");
        }
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
        });
        _configure?.Invoke(builder);
    }

    /// <summary>The admin key the server created on its first start (the server is started if it was not).</summary>
    public string AdminKey
    {
        get
        {
            _ = Server;
            return File.ReadAllText(Path.Combine(_directory.Path, "admin.key")).Trim();
        }
    }

    protected override void ConfigureClient(HttpClient client)
    {
        base.ConfigureClient(client);
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminKey);
    }

    /// <summary>A client that sends <paramref name="credential"/> as its Bearer credential, or none when null.</summary>
    public HttpClient ClientWith(string? credential)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = credential is null ? null : new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", credential);
        return client;
    }

    /// <summary>Creates a key with the admin key: an operator key of <paramref name="role"/>, or a game-server key of <paramref name="title"/>. Returns its id and secret.</summary>
    public async Task<(string Id, string Secret)> CreateKeyAsync(string? role = null, string? title = null, string name = "test")
    {
        using var client = CreateClient();
        var body = new System.Text.Json.Nodes.JsonObject { ["name"] = name, ["kind"] = title is null ? "operator" : "game_server" };
        if (title is null)
        {
            body["role"] = role ?? "viewer";
        }
        else
        {
            body["title"] = title;
        }
        using var response = await client.PostAsync(new Uri("/v1/keys", UriKind.Relative),
            new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Created, text);
        var created = System.Text.Json.Nodes.JsonNode.Parse(text)!;
        return ((string)created["id"]!, (string)created["secret"]!);
    }

    /// <summary>A player token issued through <paramref name="gameServerKey"/>.</summary>
    public async Task<string> IssueTokenAsync(string gameServerKey, string player)
    {
        using var client = ClientWith(gameServerKey);
        using var response = await client.PostAsync(new Uri($"/v1/players/{Uri.EscapeDataString(player)}/tokens", UriKind.Relative), null);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.OK, text);
        return (string)System.Text.Json.Nodes.JsonNode.Parse(text)!["token"]!;
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
