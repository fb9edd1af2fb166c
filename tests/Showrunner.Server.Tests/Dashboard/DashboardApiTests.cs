using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Showrunner.Core.Rollouts;
using Showrunner.Runtime.Ledger;
using Showrunner.Runtime.LiveEvents;
using Showrunner.Runtime.Observability;
using Showrunner.Server.Dashboard;
using Showrunner.Testing;

namespace Showrunner.Server.Tests.Dashboard;

/// <summary>
/// The dashboard's data (GET /v1/dashboard, GET /v1/dashboard/stream) after known workloads on a
/// manual clock, with sampling on request (<c>SampleIntervalMs=0</c>): every number is the one the
/// workload implies — counts, rates over the exact time between two samples, grants and rewards
/// per event from the ledger, leaderboard, community goal, outbox, checkpoint and self-check,
/// rollout cohorts, ack latency over the last minute only. And the page's static files.
/// </summary>
[Trait("Category", "Component")]
public sealed class DashboardApiTests
{
    private static readonly string Source = ReleaseFixtures.Source("hunt-tiers-one-prize-goal");

    private static Uri U(string path) => new(path, UriKind.Relative);

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonNode> Ok(HttpResponseMessage response, HttpStatusCode status = HttpStatusCode.OK)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{response.StatusCode}: {body}");
        return JsonNode.Parse(body)!;
    }

    internal static Dictionary<string, string?> OnRequest => new() { ["Showrunner:Dashboard:SampleIntervalMs"] = "0" };

    private static async Task<string> PublishAsync(HttpClient client, string source)
    {
        var (bundle, diagnostics) = Core.Rules.Bundle.ReleaseBundle.Build([new Core.Rules.Syntax.SourceText("r.hcl", source)]);
        Assert.True(bundle is not null, string.Join("\n", diagnostics.Select(d => d.Format())));
        var content = new ByteArrayContent(bundle.CanonicalBytes);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/plain");
        var response = await client.PostAsync(U("/v1/releases"), content);
        Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return bundle.Id;
    }

    private static async Task<(ShowrunnerFactory Factory, HttpClient Client, string Release)> StartAsync(string? source = null)
    {
        source ??= Source;
        var factory = new ShowrunnerFactory(OnRequest);
        var client = await factory.ReadyClientAsync();
        string release = await PublishAsync(client, source);
        await Ok(await client.PostAsync(U($"/v1/releases/{release}/activate"), null));
        await factory.Services.GetRequiredService<LifecycleCoordinator>().TickAsync();
        return (factory, client, release);
    }

    private static async Task KillsAsync(HttpClient client, string player, int count, string prefix)
    {
        var actions = Enumerable.Range(0, count).Select(i =>
            $$$"""{"id":"{{{prefix}}}-{{{i}}}","player":"{{{player}}}","type":"combat.kill","at":"2026-11-22T11:59:00Z","data":{"target":"dragon"}}""");
        var results = await Ok(await client.PostAsync(U("/v1/actions"), Json($$"""{"actions":[{{string.Join(",", actions)}}]}""")));
        Assert.All(results["results"]!.AsArray(), r => Assert.Equal("accepted", (string?)r!["status"]));
    }

    private static async Task<JsonNode> DashboardAsync(HttpClient client) => await Ok(await client.GetAsync(U("/v1/dashboard")));

    private static async Task WaitForLedgerAsync(HttpClient client, long entries)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while ((long)(await Ok(await client.GetAsync(U("/v1/ledger"))))["entries"]! < entries)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the ledger did not reach {entries} entries within 10 s");
            await Task.Delay(20);
        }
    }

    private static double?[] Doubles(JsonNode? array) => [.. array!.AsArray().Select(v => v is null ? (double?)null : (double)v)];

    [Fact]
    public async Task After_a_known_workload_the_snapshot_shows_exactly_its_counts_rates_leaderboard_goal_outbox_and_ledger()
    {
        var (factory, client, release) = await StartAsync();
        using var _ = factory;
        var first = await DashboardAsync(client);
        Assert.Equal(0, (long)first["totals"]!["accepted"]!);
        Assert.Equal([null], Doubles(first["series"]!["actions_per_second"]));

        // p-1: 20 points (bronze, silver); p-2: 10 (bronze); p-3: 5. The community goal (30) is reached: 3 more grants of 7 gems.
        await KillsAsync(client, "p-1", 4, "a");
        await KillsAsync(client, "p-2", 2, "b");
        await KillsAsync(client, "p-3", 1, "c");
        await factory.Services.GetRequiredService<LifecycleCoordinator>().TickAsync();
        await WaitForLedgerAsync(client, 6);
        factory.Clock.Advance(TimeSpan.FromSeconds(60));
        await factory.Services.GetRequiredService<CheckpointSigner>().SignIfChangedAsync();
        var check = factory.Services.GetRequiredService<LedgerSelfCheck>().Run();
        Assert.True(check.Ok, check.Code + ": " + check.Detail);

        var snapshot = await DashboardAsync(client);
        Assert.True((long)snapshot["sequence"]! > (long)first["sequence"]!);
        Assert.Equal("2026-11-22T12:01:00Z", (string?)snapshot["sampled_at"]);
        var totals = snapshot["totals"]!;
        Assert.Equal((7, 0, 0, 6), ((long)totals["accepted"]!, (long)totals["duplicates"]!, (long)totals["rejected"]!, (long)totals["ledger_entries"]!));
        Assert.Equal(("dash-api", release), ((string?)snapshot["releases"]!["active"]!["name"], (string?)snapshot["releases"]!["active"]!["id"]));
        Assert.Null(snapshot["rollout"]);

        // Rates over the 60 s between the two samples.
        var series = snapshot["series"]!;
        Assert.Equal(2, series["t"]!.AsArray().Count);
        Assert.Equal([null, Math.Round(7 / 60.0, 2)], Doubles(series["actions_per_second"]));
        Assert.Equal([null, 6], Doubles(series["ledger_entries_per_minute"]));
        Assert.Equal([null, 6], Doubles(series["grants_per_minute"]!["hunt"]));
        var rewards = series["rewards_per_minute"]!["hunt"]!;
        Assert.Equal(("currency", "item"), ((string?)rewards["gems"]!["kind"], (string?)rewards["blade"]!["kind"]));
        Assert.Equal([null, 50 + 200 + 50 + (3 * 7)], Doubles(rewards["gems"]!["per_minute"]));
        Assert.Equal([null, 1], Doubles(rewards["blade"]!["per_minute"]));
        Assert.Null(series["cohorts"]);

        var hunt = Assert.Single(snapshot["events"]!.AsArray())!;
        Assert.Equal(("hunt", "Hunt", 0, "active", "end"), ((string?)hunt["id"], (string?)hunt["title"], (int)hunt["run"]!, (string?)hunt["phase"], (string?)hunt["time_left_until"]));
        Assert.Equal((11 * 3600) + (59 * 60), (long)hunt["time_left_seconds"]!);
        var board = hunt["leaderboard"]!;
        Assert.Equal(3, (long)board["players"]!);
        Assert.Equal([("p-1", 20L), ("p-2", 10L), ("p-3", 5L)], board["top"]!.AsArray().Select(e => ((string)e!["player"]!, (long)e["points"]!)));
        var goal = hunt["community"]!;
        Assert.Equal((30, 35, 100m, true), ((long)goal["target"]!, (long)goal["progress"]!, (decimal)goal["percent"]!, (bool)goal["reached"]!));

        var outbox = snapshot["outbox"]!;
        Assert.Equal((false, 6, 0, 0), ((bool)outbox["webhook_configured"]!, (long)outbox["pending"]!, (long)outbox["delivered"]!, (long)outbox["dead_lettered"]!));

        var ledger = snapshot["ledger"]!;
        Assert.Equal(6, (long)ledger["entries"]!);
        Assert.Equal(6, (long)ledger["latest_checkpoint"]!["entries"]!);
        Assert.Equal(0, (long)ledger["uncheckpointed_entries"]!);
        Assert.Equal(("ok", true), ((string?)ledger["verification"]!["result"], (bool)ledger["verification"]!["ok"]!));
        // The three acknowledged batches of the workload, and only they, are in the last minute's ack latency.
        var latency = snapshot["ack_latency_ms"]!;
        Assert.Equal(3, (long)latency["batches"]!);
        Assert.True((double)latency["p50"]! > 0 && (double)latency["p50"]! <= (double)latency["p99"]!, latency.ToJsonString());
        Assert.True((bool)snapshot["ack_latency_recorded"]!);
        Assert.False((bool)first["ack_latency_recorded"]!);
    }

    [Fact]
    public async Task Ack_latency_quantiles_cover_the_last_minute_only()
    {
        var (factory, client, _) = await StartAsync();
        using var __ = factory;
        var metrics = factory.Services.GetRequiredService<ShowrunnerMetrics>();
        for (int i = 0; i < 100; i++)
        {
            metrics.AckLatency.Record(0.004);
        }
        var fast = (await DashboardAsync(client))["ack_latency_ms"]!;
        // 4 ms falls in the (3, 5] ms bucket: quantiles interpolate inside it, like Prometheus' histogram_quantile.
        Assert.Equal((4.0, 4.9, 4.98), ((double)fast["p50"]!, (double)fast["p95"]!, (double)fast["p99"]!));

        factory.Clock.Advance(TimeSpan.FromSeconds(61));
        for (int i = 0; i < 100; i++)
        {
            metrics.AckLatency.Record(0.2);
        }
        var slow = (await DashboardAsync(client))["ack_latency_ms"]!;
        Assert.Equal((200.0, 245.0, 249.0, 100L), ((double)slow["p50"]!, (double)slow["p95"]!, (double)slow["p99"]!, (long)slow["batches"]!));

        // A quiet minute: nothing to show rather than old numbers, but it is known that latency is measured.
        factory.Clock.Advance(TimeSpan.FromSeconds(61));
        var quiet = await DashboardAsync(client);
        Assert.Null(quiet["ack_latency_ms"]);
        Assert.True((bool)quiet["ack_latency_recorded"]!);
    }

    [Fact]
    public async Task During_a_rollout_the_snapshot_has_the_rollout_as_GET_v1_rollout_and_the_cohorts_rates()
    {
        // The community goal is out of reach here: the hosted lifecycle tick (real time) would pay its
        // rewards at any moment, and the rates below count the tier grants of one minute only.
        string source = Source.Replace("target = 30", "target = 1000000", StringComparison.Ordinal);
        var (factory, client, release) = await StartAsync(source.Replace("""release "dash-api" {}""", """release "dash-rollout" {}""", StringComparison.Ordinal));
        using var _ = factory;
        string candidate = await PublishAsync(client, source.Replace("title = \"Hunt\"", "title = \"Hunt, retitled\"", StringComparison.Ordinal));
        string plan = """{"steps":[{"percent":50,"min_soak_seconds":600},{"percent":100}],"auto_advance":false,"gates":{"min_actions":100000}}""";
        await Ok(await client.PostAsync(U("/v1/rollout"), Json($$"""{"candidate":"{{candidate}}","salt":"dash","plan":{{plan}}}""")), HttpStatusCode.Created);
        var before = await DashboardAsync(client);
        Assert.NotNull(before["series"]!["cohorts"]);

        // 200 players, two kills each: 10 points, tier bronze (50 gems) once; the cohort split is the salt's.
        var players = Enumerable.Range(0, 200).Select(i => $"c{i:D3}").ToList();
        foreach (var chunk in players.Chunk(50))
        {
            var actions = chunk.SelectMany(p => new[] { 0, 1 }.Select(k =>
                $$$"""{"id":"k-{{{p}}}-{{{k}}}","player":"{{{p}}}","type":"combat.kill","at":"2026-11-22T11:59:00Z","data":{"target":"dragon"}}"""));
            await Ok(await client.PostAsync(U("/v1/actions"), Json($$"""{"actions":[{{string.Join(",", actions)}}]}""")));
        }
        int inCohort = players.Count(p => Bucketing.InCohort("dash", p, 5_000));
        factory.Clock.Advance(TimeSpan.FromSeconds(60));
        var snapshot = await DashboardAsync(client);
        var api = (await Ok(await client.GetAsync(U("/v1/rollout"))))["rollout"]!;

        var rollout = snapshot["rollout"]!;
        Assert.Equal(((long)api["id"]!, (string?)api["state"], (int)api["step"]!["index"]!, (string?)api["candidate"]!["id"]),
            ((long)rollout["id"]!, (string?)rollout["state"], (int)rollout["step"]!, (string?)rollout["candidate"]!["id"]));
        Assert.Equal((release, "running", 50m, 2, "live"),
            ((string?)rollout["baseline"]!["id"], (string?)rollout["state"], (decimal)rollout["percent"]!, (int)rollout["steps"]!, (string?)rollout["mode"]));
        Assert.Equal((2 * inCohort, 2 * (200 - inCohort)), ((long)rollout["candidate_actions"]!, (long)rollout["baseline_actions"]!));
        Assert.Equal(api["gates"]!.AsArray().Select(g => ((string?)g!["gate"], (string?)g["status"])),
            rollout["gates"]!.AsArray().Select(g => ((string?)g!["gate"], (string?)g["status"])));
        Assert.Equal("inconclusive", (string?)rollout["overall"]);

        var cohorts = snapshot["series"]!["cohorts"]!;
        Assert.Equal(((long)rollout["id"]!, 0), ((long)cohorts["rollout"]!, (int)cohorts["step"]!));
        Assert.Equal(Math.Round(2 * inCohort / 60.0, 2), Doubles(cohorts["candidate"]!["actions_per_second"])[^1]);
        Assert.Equal(Math.Round(2 * (200 - inCohort) / 60.0, 2), Doubles(cohorts["baseline"]!["actions_per_second"])[^1]);
        // Per minute over the minute between the two samples: one bronze grant (50 gems) per player of the cohort.
        Assert.Equal(inCohort, Doubles(cohorts["candidate"]!["grants_per_minute"])[^1]);
        Assert.Equal(200 - inCohort, Doubles(cohorts["baseline"]!["grants_per_minute"])[^1]);
        Assert.Equal(50 * inCohort, Doubles(cohorts["candidate"]!["currency_per_minute"]!["gems"])[^1]);
        Assert.Equal(50 * (200 - inCohort), Doubles(cohorts["baseline"]!["currency_per_minute"]!["gems"])[^1]);
        Assert.Null(cohorts["candidate"]!["currency_per_minute"]!["blade"]);
        Assert.True(inCohort is > 60 and < 140, $"{inCohort} of 200 players in a 50 % cohort");
    }

    [Fact]
    public async Task The_stream_sends_snapshots_as_server_sent_events_and_refuses_a_bad_limit()
    {
        var (factory, client, _) = await StartAsync();
        using var __ = factory;
        using var response = await client.GetAsync(U("/v1/dashboard/stream?limit=2"), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("no-store", response.Headers.CacheControl!.ToString(), StringComparison.Ordinal);
        string body = await response.Content.ReadAsStringAsync();
        var events = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Where(e => e.Contains("event: snapshot", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, events.Count);
        var sequences = events.Select(e =>
        {
            var lines = e.Split('\n');
            string data = lines.Single(l => l.StartsWith("data: ", StringComparison.Ordinal))["data: ".Length..];
            long id = long.Parse(lines.Single(l => l.StartsWith("id: ", StringComparison.Ordinal))["id: ".Length..], System.Globalization.CultureInfo.InvariantCulture);
            long sequence = (long)JsonNode.Parse(data)!["sequence"]!;
            Assert.Equal(id, sequence);
            return sequence;
        }).ToList();
        Assert.True(sequences[1] > sequences[0]);

        foreach (string bad in new[] { "0", "x", "1000001", "-1" })
        {
            await ActionsApiTests.ProblemOf(await client.GetAsync(U("/v1/dashboard/stream?limit=" + bad)), HttpStatusCode.BadRequest, "invalid_parameter");
        }
    }

    [Fact]
    public async Task A_stream_ends_with_an_unauthorized_event_once_its_key_is_revoked()
    {
        var (factory, client, _) = await StartAsync();
        using var __ = factory;
        var (id, secret) = await factory.CreateKeyAsync("viewer");
        using var viewer = factory.ClientWith(secret);
        using var response = await viewer.GetAsync(U("/v1/dashboard/stream"), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        Assert.Equal("snapshot", await NextEventAsync(reader));
        Assert.Equal(HttpStatusCode.OK, (await client.DeleteAsync(U("/v1/keys/" + id))).StatusCode);
        string last;
        do
        {
            last = await NextEventAsync(reader);
        }
        while (last == "snapshot");
        Assert.Equal("unauthorized", last);
        Assert.Null(await reader.ReadLineAsync());
    }

    [Fact]
    public async Task Streams_beyond_the_limit_are_refused_with_503_too_many_streams()
    {
        var factory = new ShowrunnerFactory(new() { ["Showrunner:Dashboard:SampleIntervalMs"] = "0", ["Showrunner:Dashboard:MaxStreams"] = "1" });
        using var _ = factory;
        var client = await factory.ReadyClientAsync();
        using var open = await client.GetAsync(U("/v1/dashboard/stream"), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, open.StatusCode);
        using var reader = new StreamReader(await open.Content.ReadAsStreamAsync());
        Assert.Equal("snapshot", await NextEventAsync(reader));
        var refused = await ActionsApiTests.ProblemOf(await client.GetAsync(U("/v1/dashboard/stream")), HttpStatusCode.ServiceUnavailable, "too_many_streams");
        Assert.Contains("MaxStreams", (string?)refused["detail"], StringComparison.Ordinal);
    }

    /// <summary>Reads the next server-sent event and returns its type (skipping comments and retry fields).</summary>
    private static async Task<string> NextEventAsync(StreamReader reader)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        string? type = null;
        while (await reader.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.Length == 0 && type is not null)
            {
                return type;
            }
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                type = line["event: ".Length..];
            }
        }
        return type ?? "end";
    }

    [Fact]
    public async Task The_page_is_served_without_a_credential_with_a_strict_policy_and_loads_nothing_from_elsewhere()
    {
        using var factory = new ShowrunnerFactory(OnRequest);
        using var anonymous = factory.ClientWith(null);
        var page = await anonymous.GetAsync(U("/dashboard"));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        string csp = page.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
        Assert.Equal("nosniff", page.Headers.GetValues("X-Content-Type-Options").Single());
        string html = await page.Content.ReadAsStringAsync();
        Assert.Contains("/dashboard/dashboard.js", html, StringComparison.Ordinal);
        // The shell holds no data: everything the page shows comes from the authenticated endpoints.
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);

        foreach (var (asset, type) in new[] { ("dashboard.js", "text/javascript"), ("dashboard.css", "text/css"), ("favicon.svg", "image/svg+xml"), ("index.html", "text/html") })
        {
            var response = await anonymous.GetAsync(U("/dashboard/" + asset));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(type, response.Content.Headers.ContentType!.MediaType);
            string text = await response.Content.ReadAsStringAsync();
            // No CDN, no font service, no other origin: the page works without the internet.
            Assert.DoesNotMatch(@"https?://", text.Replace("http://www.w3.org/2000/svg", "", StringComparison.Ordinal));
            // Revalidated with the ETag: 304 and no body.
            using var again = new HttpRequestMessage(HttpMethod.Get, U("/dashboard/" + asset));
            again.Headers.IfNoneMatch.Add(response.Headers.ETag!);
            var notModified = await anonymous.SendAsync(again);
            Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        }
        string script = await anonymous.GetStringAsync(U("/dashboard/dashboard.js"));
        Assert.DoesNotContain("innerHTML", script, StringComparison.Ordinal);
        Assert.Contains("sessionStorage", script, StringComparison.Ordinal);
        Assert.DoesNotContain("localStorage", script, StringComparison.Ordinal);
        await ActionsApiTests.ProblemOf(await anonymous.GetAsync(U("/dashboard/secrets.txt")), HttpStatusCode.NotFound, "not_found");
        // The data is not public.
        await ActionsApiTests.ProblemOf(await anonymous.GetAsync(U("/v1/dashboard")), HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Theory]
    [InlineData("Showrunner:Dashboard:SampleIntervalMs", "100", "SampleIntervalMs = 100")]
    [InlineData("Showrunner:Dashboard:HistorySamples", "5", "HistorySamples = '5'")]
    [InlineData("Showrunner:Dashboard:MaxStreams", "0", "MaxStreams = '0'")]
    [InlineData("Showrunner:Dashboard:Colour", "blue", "Showrunner:Dashboard:Colour is not a known option")]
    [InlineData("Showrunner:Demo:ActionsPerSecond", "50000", "ActionsPerSecond = '50000'")]
    [InlineData("Showrunner:Demo:BatchSize", "5000", "BatchSize = '5000'")]
    [InlineData("Showrunner:Demo:Enabled", "yes", "Enabled = 'yes': must be true or false")]
    public void Dashboard_and_demo_options_outside_their_rules_are_refused_naming_the_option(string key, string value, string message)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [key] = value }).Build();
        var refused = Assert.Throws<Hosting.OptionsException>(() => Hosting.ServerOptions.Read(configuration));
        Assert.Contains(refused.Errors, e => e.Contains(message, StringComparison.Ordinal));
    }
}
