using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Showrunner.Testing;

namespace Showrunner.EndToEnd.Tests.Observability;

/// <summary>
/// A known workload against a real server, and the metric values it implies: what the client
/// recorded (its own answers), never what the server says about itself.
/// </summary>
internal static class MetricsWorkload
{
    /// <summary>The workload's players: names no other log text contains, so a test can look for them in the log.</summary>
    public const string P1 = "ann-player-3141", P2 = "bo-player-2718", P3 = "cy-player-1618";

    /// <summary>The expected samples, by Prometheus series name as /metrics writes it.</summary>
    public static readonly IReadOnlyDictionary<string, double> Expected = new Dictionary<string, double>(StringComparer.Ordinal)
    {
        ["showrunner_actions_received_total"] = 9,
        ["showrunner_actions_accepted_total"] = 6,
        ["showrunner_actions_duplicates_total"] = 1,
        ["showrunner_actions_rejected_total{code=\"invalid_field_type\"}"] = 1,
        ["showrunner_actions_rejected_total{code=\"invalid_type\"}"] = 1,
        ["showrunner_batches_refused_total{code=\"malformed_json\"}"] = 1,
        ["showrunner_batches_refused_total{code=\"unsupported_media_type\"}"] = 1,
        ["showrunner_grants_total{event=\"hunt\",kind=\"action\"}"] = 3,
        ["showrunner_currency_granted_total{currency=\"gems\",event=\"hunt\"}"] = 300,
        ["showrunner_currency_granted_total{currency=\"blade\",event=\"hunt\"}"] = 1,
        ["showrunner_ack_latency_seconds_count"] = 2,
        ["showrunner_ack_latency_seconds_bucket{le=\"+Inf\"}"] = 2,
        ["showrunner_commit_batch_size_sum"] = 6,
    };

    private static string Release(DateTimeOffset now) => ReleaseFixtures.Source("hunt-bronze-silver", ("start", now.AddHours(-1).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)));

    private static Uri U(string path) => new(path, UriKind.Relative);

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>Publishes and activates the release, and waits until its event is active.</summary>
    public static async Task PrepareAsync(HttpClient admin)
    {
        var (bundle, diagnostics) = Core.Rules.Bundle.ReleaseBundle.Build([new Core.Rules.Syntax.SourceText("observability.hcl", Release(DateTimeOffset.UtcNow))]);
        Assert.True(bundle is not null, string.Join("\n", diagnostics.Select(d => d.Format())));
        var content = new ByteArrayContent(bundle.CanonicalBytes);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/plain");
        using (var published = await admin.PostAsync(U("/v1/releases"), content))
        {
            Assert.Equal(HttpStatusCode.Created, published.StatusCode);
        }
        using (var activated = await admin.PostAsync(U($"/v1/releases/{bundle.Id}/activate"), null))
        {
            Assert.Equal(HttpStatusCode.OK, activated.StatusCode);
        }
        var watch = Stopwatch.StartNew();
        while (!(await admin.GetStringAsync(U("/v1/events/hunt"))).Contains("\"phase\":\"active\"", StringComparison.Ordinal))
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), "the event did not become active within 30 s");
            await Task.Delay(100);
        }
    }

    /// <summary>One sender time for every action: a repeated id must repeat its content exactly (a new "at" would be an id conflict).</summary>
    private static readonly string At = DateTimeOffset.UtcNow.AddSeconds(-5).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string Kill(string id, string player, string target = "dragon") =>
        $$$"""{"id":"{{{id}}}","player":"{{{player}}}","type":"combat.kill","at":"{{{At}}}","data":{"target":"{{{target}}}"}}""";

    private static string Batch(params string[] actions) => "{\"actions\":[" + string.Join(",", actions) + "]}";

    private static async Task<List<(string Status, string? Code)>> PostAsync(HttpClient client, string body, string? traceparent)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, U("/v1/actions")) { Content = Json(body) };
        if (traceparent is not null)
        {
            request.Headers.Add("traceparent", traceparent);
        }
        using var response = await client.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return [.. JsonNode.Parse(text)!["results"]!.AsArray().Select(r => ((string)r!["status"]!, (string?)r["code"]))];
    }

    /// <summary>
    /// P1 kills 4 dragons (bronze, then silver: 250 gems and a blade), P2 kills 2 (bronze: 50
    /// gems), one repeated id, one action with a wrong field type, one with a bad type, one
    /// malformed batch and one with the wrong media type. The first batch carries <paramref name="traceparent"/>.
    /// </summary>
    public static async Task RunAsync(HttpClient ingest, string? traceparent = null)
    {
        var first = await PostAsync(ingest, Batch(Kill("k1", P1), Kill("k2", P1), Kill("k3", P2)), traceparent);
        Assert.All(first, r => Assert.Equal("accepted", r.Status));
        var second = await PostAsync(ingest, Batch(Kill("k4", P1), Kill("k5", P1), Kill("k6", P2), Kill("k1", P1),
            Kill("bad-data", P3).Replace("\"target\":\"dragon\"", "\"target\":7", StringComparison.Ordinal),
            Kill("bad-type", P3).Replace("combat.kill", "Combat", StringComparison.Ordinal)), null);
        Assert.Equal([("accepted", null), ("accepted", null), ("accepted", null), ("duplicate", null), ("rejected", "invalid_field_type"), ("rejected", "invalid_type")],
            second);
        using (var malformed = await ingest.PostAsync(U("/v1/actions"), Json("{\"actions\":[")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
            Assert.Contains("\"code\":\"malformed_json\"", await malformed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        using (var text = await ingest.PostAsync(U("/v1/actions"), new StringContent("x", Encoding.UTF8, "text/plain")))
        {
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, text.StatusCode);
        }
    }

    /// <summary>Creates a viewer key (the scraper's credential) with the admin key; returns its secret.</summary>
    public static async Task<string> CreateViewerKeyAsync(HttpClient admin)
    {
        using var response = await admin.PostAsync(U("/v1/keys"), Json("""{"name":"prometheus","kind":"operator","role":"viewer"}"""));
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, text);
        return (string)JsonNode.Parse(text)!["secret"]!;
    }

    /// <summary>Samples of a Prometheus text exposition: "name{labels}" as written → value.</summary>
    public static Dictionary<string, double> ParseExposition(string text)
    {
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith('#'))
            {
                continue;
            }
            int space = line.LastIndexOf(' ');
            string value = line[(space + 1)..];
            samples[line[..space]] = value == "+Inf" ? double.PositiveInfinity : double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture);
        }
        return samples;
    }

    /// <summary>Starts a server on a fresh data directory without the example release.</summary>
    public static ServerProcess StartServer(TempDirectory data, Dictionary<string, string>? environment = null, params string[] arguments)
    {
        var server = new ServerProcess(TestServer.Dll, data.Path, ServerProcess.FreePort(), ["--Showrunner:LoadExample=false", "--Showrunner:Approvals:Enabled=false", .. arguments]);
        foreach (var (name, value) in environment ?? [])
        {
            server.Environment[name] = value;
        }
        server.Start();
        return server;
    }
}
