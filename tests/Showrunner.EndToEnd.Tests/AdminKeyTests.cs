using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Showrunner.Testing;

namespace Showrunner.EndToEnd.Tests;

/// <summary>
/// The admin key of a new data directory, on the real server process: printed once on standard
/// output, kept in admin.key (0600), never printed again; keys, revocations and player tokens
/// survive a restart (a SIGKILL, too).
/// </summary>
[Trait("Category", "Fault")]
public sealed class AdminKeyTests
{
    private const string Line = "Admin key (shown once, also in ";

    [Fact]
    public async Task The_first_start_prints_the_admin_key_once_and_keys_and_tokens_outlive_a_restart()
    {
        using var data = new TempDirectory("showrunner-admin-key");
        using var server = new ServerProcess(TestServer.Dll, data.Path, ServerProcess.FreePort());
        server.Start();
        await server.WaitReadyAsync(TimeSpan.FromSeconds(60));
        string path = Path.Combine(data.Path, "admin.key");
        string adminKey = File.ReadAllText(path).Trim();
        var printed = server.OutputLines.Where(l => l.Contains(Line, StringComparison.Ordinal)).ToList();
        Assert.Equal([$"{Line}{path}): {adminKey}"], printed);
        // Only that line carries it: the log lines name the key id at most.
        Assert.Single(server.OutputLines, l => l.Contains(adminKey[16..], StringComparison.Ordinal));
        Assert.Contains(server.OutputLines, l => l.Contains(adminKey[3..15], StringComparison.Ordinal) && l.Contains("created admin key", StringComparison.Ordinal));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }

        using var admin = server.CreateClient(TimeSpan.FromSeconds(10));
        string viewer = await CreateAsync(admin, """{"name":"viewer","kind":"operator","role":"viewer"}""");
        string gone = await CreateAsync(admin, """{"name":"gone","kind":"operator","role":"operator"}""");
        string gameServer = await CreateAsync(admin, """{"name":"gs","kind":"game_server","title":"default"}""");
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync(new Uri("/v1/keys/" + gone[3..15], UriKind.Relative))).StatusCode);
        using var issuer = server.CreateClient(TimeSpan.FromSeconds(10), credential: gameServer);
        var issued = JsonNode.Parse(await (await issuer.PostAsync(new Uri("/v1/players/p-1/tokens", UriKind.Relative), null)).Content.ReadAsStringAsync())!;
        string token = (string)issued["token"]!;

        server.Kill();
        server.Start();
        await server.WaitReadyAsync(TimeSpan.FromSeconds(60));
        Assert.DoesNotContain(server.OutputLines, l => l.Contains(Line, StringComparison.Ordinal) || l.Contains(adminKey[16..], StringComparison.Ordinal));
        Assert.Equal(adminKey, File.ReadAllText(path).Trim());
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(server, adminKey, "/v1/keys"));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(server, viewer, "/v1/stats"));
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(server, gone, "/v1/stats"));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(server, token, "/v1/players/p-1/rewards"));
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(server, null, "/v1/stats"));
    }

    private static async Task<string> CreateAsync(HttpClient admin, string body)
    {
        using var response = await admin.PostAsync(new Uri("/v1/keys", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, text);
        return (string)JsonNode.Parse(text)!["secret"]!;
    }

    private static async Task<HttpStatusCode> StatusAsync(ServerProcess server, string? credential, string path)
    {
        using var client = server.CreateClient(TimeSpan.FromSeconds(10), credential: credential);
        if (credential is null)
        {
            client.DefaultRequestHeaders.Authorization = null;
        }
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
        return response.StatusCode;
    }
}
