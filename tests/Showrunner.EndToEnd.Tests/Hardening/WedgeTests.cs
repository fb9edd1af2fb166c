using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Showrunner.Core.Rules.Bundle;
using Showrunner.Core.Rules.Syntax;
using Showrunner.Testing;

namespace Showrunner.EndToEnd.Tests.Hardening;

/// <summary>
/// Issue 12, item 1, as the attacker sent it: with examples/daily-quest active, one action whose
/// declared string field is a lone surrogate escape ("\udc00") used to kill an executor's loop.
/// The request never answered, ingest for that executor's partitions and flag changes hung,
/// /readyz still said ready and SIGTERM did not stop the process. Now every one of those requests
/// is answered within a bound, the server stays ready, and SIGTERM stops it.
/// </summary>
[Trait("Category", "Integration")]
public sealed class WedgeTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    [Trait("Category", "Fault")]
    public async Task A_lone_surrogate_in_a_declared_string_field_is_answered_and_wedges_nothing()
    {
        using var data = new TempDirectory("showrunner-wedge");
        using var server = new ServerProcess(TestServer.Dll, data.Path, ServerProcess.FreePort(),
            "--Showrunner:LoadExample=false", "--Showrunner:Approvals:Enabled=false");
        server.Start();
        await server.WaitReadyAsync(TimeSpan.FromSeconds(60));
        using var admin = server.CreateClient(Bound);
        string source = File.ReadAllText(Path.Combine(ServerProcess.RepositoryRoot(), "examples", "daily-quest", "release.hcl"));
        var (bundle, diagnostics) = ReleaseBundle.Build([new SourceText("release.hcl", source)]);
        Assert.True(bundle is not null, string.Join("\n", diagnostics.Select(d => d.Format())));
        var content = new ByteArrayContent(bundle.CanonicalBytes);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/plain");
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsync(new Uri("/v1/releases", UriKind.Relative), content)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync(new Uri($"/v1/releases/{bundle.Id}/activate", UriKind.Relative), null)).StatusCode);

        // A game-server key, as the attacker used.
        var created = await admin.PostAsync(new Uri("/v1/keys", UriKind.Relative),
            new StringContent("""{"name":"game","kind":"game_server","title":"default"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        string secret = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("secret").GetString()!;
        using var game = server.CreateClient(Bound, credential: secret);

        string at = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        string poison = "{\"actions\":[{\"id\":\"w-1\",\"player\":\"pw\",\"type\":\"combat.kill\",\"at\":\"" + at +
            "\",\"data\":{\"target\":\"dragon\",\"zone\":\"\\udc00\"}}]}";
        using (var answer = await game.PostAsync(new Uri("/v1/actions", UriKind.Relative), new StringContent(poison, Encoding.UTF8, "application/json")))
        {
            // Refused whole (400, the strict JSON policy) or rejected per action (200): never a 5xx, never a hang.
            string body = await answer.Content.ReadAsStringAsync();
            Assert.True(answer.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.OK, $"{(int)answer.StatusCode}: {body}");
            if (answer.StatusCode == HttpStatusCode.OK)
            {
                Assert.Equal("rejected", JsonDocument.Parse(body).RootElement.GetProperty("results")[0].GetProperty("status").GetString());
            }
        }
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync(new Uri("/v1/actions/w-1", UriKind.Relative))).StatusCode);

        // The same player's partition (so the same executor) still takes work, and so do flags.
        string valid = "{\"actions\":[{\"id\":\"w-2\",\"player\":\"pw\",\"type\":\"combat.kill\",\"at\":\"" + at +
            "\",\"data\":{\"target\":\"dragon\",\"zone\":\"north\"}}]}";
        using (var answer = await game.PostAsync(new Uri("/v1/actions", UriKind.Relative), new StringContent(valid, Encoding.UTF8, "application/json")))
        {
            string body = await answer.Content.ReadAsStringAsync();
            Assert.True(answer.StatusCode == HttpStatusCode.OK, body);
            Assert.Equal("accepted", JsonDocument.Parse(body).RootElement.GetProperty("results")[0].GetProperty("status").GetString());
        }
        using (var flag = await admin.PutAsync(new Uri("/v1/flags/events/daily_dragons", UriKind.Relative),
            new StringContent("""{"enabled":true,"reason":"wedge test"}""", Encoding.UTF8, "application/json")))
        {
            Assert.True(flag.IsSuccessStatusCode, await flag.Content.ReadAsStringAsync());
        }
        using (var progress = await admin.GetAsync(new Uri("/v1/players/pw/events", UriKind.Relative)))
        {
            Assert.True(progress.IsSuccessStatusCode, await progress.Content.ReadAsStringAsync());
        }
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);

        // SIGTERM stops it, within the stop bound.
        Assert.True(server.Terminate(TimeSpan.FromSeconds(30), out int exitCode), "the server did not stop on SIGTERM within 30 s");
        Assert.Equal(0, exitCode);
    }
}
