using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Showrunner.Testing;

namespace Showrunner.EndToEnd.Tests.Observability;

/// <summary>
/// With <c>Showrunner:LogFormat=json</c> the real server writes one JSON object per log line, with
/// the documented fields; a line written inside a request that carried a <c>traceparent</c> has
/// that trace's id; and during a workload no line names a player or holds a secret.
/// </summary>
[Trait("Category", "Integration")]
public sealed class JsonLogTests
{
    [Fact]
    [Trait("Category", "Integration")]
    public async Task Log_lines_are_json_with_trace_ids_and_without_player_ids_or_secrets()
    {
        using var data = new TempDirectory("showrunner-jsonlog");
        using var server = MetricsWorkload.StartServer(data, null, "--Showrunner:LogFormat=json");
        await server.WaitReadyAsync(TimeSpan.FromSeconds(60));
        using var admin = server.CreateClient(TimeSpan.FromSeconds(30));
        await MetricsWorkload.PrepareAsync(admin);

        var traceId = ActivityTraceId.CreateRandom();
        var callerSpan = ActivitySpanId.CreateRandom();
        using var create = new HttpRequestMessage(HttpMethod.Post, new Uri("/v1/keys", UriKind.Relative))
        {
            Content = new StringContent("""{"name":"ingest","kind":"game_server","title":"default"}""", Encoding.UTF8, "application/json"),
        };
        create.Headers.Add("traceparent", $"00-{traceId}-{callerSpan}-01");
        using var created = await admin.SendAsync(create);
        string createdText = await created.Content.ReadAsStringAsync();
        Assert.True(created.StatusCode == HttpStatusCode.Created, createdText);
        using var key = JsonDocument.Parse(createdText);
        string keyId = key.RootElement.GetProperty("id").GetString()!;
        string gameServerKey = key.RootElement.GetProperty("secret").GetString()!;
        using var ingest = server.CreateClient(TimeSpan.FromSeconds(30), credential: gameServerKey);
        await MetricsWorkload.RunAsync(ingest, $"00-{ActivityTraceId.CreateRandom()}-{ActivitySpanId.CreateRandom()}-01");
        using var token = await ingest.PostAsync(new Uri($"/v1/players/{MetricsWorkload.P1}/tokens", UriKind.Relative), null);
        string tokenText = await token.Content.ReadAsStringAsync();
        Assert.True(token.StatusCode == HttpStatusCode.OK, tokenText);
        string playerToken = JsonDocument.Parse(tokenText).RootElement.GetProperty("token").GetString()!;
        using var player = server.CreateClient(TimeSpan.FromSeconds(30), credential: playerToken);
        Assert.Equal(HttpStatusCode.OK, (await player.GetAsync(new Uri($"/v1/players/{MetricsWorkload.P1}/rewards", UriKind.Relative))).StatusCode);

        // The key creation's line (event 6001) arrives on the console shortly after the answer.
        var watch = Stopwatch.StartNew();
        JsonElement? keyLine = null;
        List<string> lines = [];
        while (keyLine is null)
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), "no log line for the key creation:\n" + server.RecentOutput);
            await Task.Delay(50);
            lines = [.. server.OutputLines.Where(l => !l.StartsWith("Admin key (shown once", StringComparison.Ordinal))];
            foreach (string line in lines)
            {
                using var parsed = JsonDocument.Parse(line);
                if (parsed.RootElement.GetProperty("event_id").GetInt32() == 6001)
                {
                    keyLine = parsed.RootElement.Clone();
                }
            }
        }

        // Every line (the admin key notice aside, which is not a log line) is a JSON object with the fields.
        Assert.NotEmpty(lines);
        foreach (string line in lines)
        {
            using var parsed = JsonDocument.Parse(line);
            var root = parsed.RootElement;
            foreach (string field in new[] { "timestamp", "level", "category", "event_id", "message" })
            {
                Assert.True(root.TryGetProperty(field, out _), $"no {field} in {line}");
            }
            Assert.True(DateTimeOffset.TryParse(root.GetProperty("timestamp").GetString(), out _), line);
        }
        var entry = keyLine.Value;
        Assert.Equal(("Information", "Showrunner.Server.Security.KeyRing"), (entry.GetProperty("level").GetString(), entry.GetProperty("category").GetString()));
        Assert.Equal(traceId.ToString(), entry.GetProperty("trace_id").GetString());
        string spanId = entry.GetProperty("span_id").GetString()!;
        Assert.Matches("^[0-9a-f]{16}$", spanId);
        // The line belongs to the server's span of the request, a child of the caller's.
        Assert.NotEqual(callerSpan.ToString(), spanId);
        Assert.Equal(keyId, entry.GetProperty("fields").GetProperty("KeyId").GetString());
        Assert.Contains(keyId, entry.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("API key {KeyId} created", entry.GetProperty("template").GetString(), StringComparison.Ordinal);

        string all = string.Join("\n", lines);
        foreach (string name in new[] { MetricsWorkload.P1, MetricsWorkload.P2, MetricsWorkload.P3 })
        {
            Assert.DoesNotContain(name, all, StringComparison.Ordinal);
        }
        foreach (string secret in new[] { server.AdminKey, gameServerKey, playerToken })
        {
            string part = secret.StartsWith("sr_", StringComparison.Ordinal) ? secret[16..] : secret[5..];
            Assert.DoesNotContain(part[..20], all, StringComparison.Ordinal);
        }
    }
}
