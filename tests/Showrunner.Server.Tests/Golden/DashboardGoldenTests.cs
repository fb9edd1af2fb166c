using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Showrunner.Core.Rules.Bundle;
using Showrunner.Core.Rules.Syntax;
using Showrunner.Runtime.Ledger;
using Showrunner.Runtime.LiveEvents;
using Showrunner.Runtime.Observability;
using Showrunner.Server.Dashboard;

namespace Showrunner.Server.Tests.Golden;

/// <summary>
/// The bytes of the dashboard's snapshot (<c>GET /v1/dashboard</c>) as the sampler wrote them before
/// the contracts moved to records: empty, after a known workload (events, leaderboard, community
/// goal, outbox, checkpoint, self-check, series), and with a rollout and a killed event. Only the
/// values the server measures (the ack latency of real requests, the self-check's duration) are masked.
/// </summary>
[Trait("Category", "Component")]
public sealed class DashboardGoldenTests
{
    private const string Source = """
        release "dash-golden" { description = "golden «dash»" }
        currency "gems" {}
        item "blade" {}
        action "combat.kill" { target = string }
        safety_bounds { max_currency_per_grant = { gems = 5000 } }
        event "hunt" {
          title = "Hunt"
          schedule {
            start    = "2026-11-22T00:00:00Z"
            duration = "1d"
          }
          objective "dragons" {
            on     = "combat.kill"
            when   = action.target == "dragon"
            points = 5
          }
          tier "bronze" {
            at     = 10
            reward = { gems = 50 }
          }
          tier "silver" {
            at     = 20
            reward = { gems = 200, blade = 1 }
          }
          leaderboard {
            prize "1" { reward = { gems = 1000 } }
          }
          community_goal {
            target = 30
            reward = { gems = 7 }
          }
        }
        event "later" {
          title = "Later"
          schedule {
            start    = "2026-11-25T00:00:00Z"
            duration = "2h"
          }
          objective "dragons" {
            on     = "combat.kill"
            points = 1
          }
        }
        """;

    private static Uri U(string path) => new(path, UriKind.Relative);

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<string> PublishAsync(HttpClient client, string source)
    {
        var (bundle, diagnostics) = ReleaseBundle.Build([new SourceText("r.hcl", source)]);
        Assert.True(bundle is not null, string.Join("\n", diagnostics.Select(d => d.Format())));
        var content = new ByteArrayContent(bundle.CanonicalBytes);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/plain");
        var response = await client.PostAsync(U("/v1/releases"), content);
        Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return bundle.Id;
    }

    private static async Task KillsAsync(HttpClient client, string player, int count, string prefix)
    {
        var actions = Enumerable.Range(0, count).Select(i =>
            $$$"""{"id":"{{{prefix}}}-{{{i}}}","player":"{{{player}}}","type":"combat.kill","at":"2026-11-22T11:59:00Z","data":{"target":"dragon"}}""");
        var response = await client.PostAsync(U("/v1/actions"), Json($$"""{"actions":[{{string.Join(",", actions)}}]}"""));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static async Task WaitForLedgerAsync(HttpClient client, long entries)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (System.Text.Json.Nodes.JsonNode.Parse(await client.GetStringAsync(U("/v1/ledger")))!["entries"]!.GetValue<long>() < entries)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the ledger did not reach {entries} entries within 10 s");
            await Task.Delay(20);
        }
    }

    private static GoldenBodies Masked(GoldenBodies golden) => golden
        .Mask("\"latest_checkpoint\":(null|\\{[^}]*\\})", "\"latest_checkpoint\":\"-\"")
        .Mask("\"checkpoint_age_seconds\":[^,]*,", "\"checkpoint_age_seconds\":\"-\",")
        .Mask("\"uncheckpointed_entries\":[^,]*,", "\"uncheckpointed_entries\":\"-\",")
        .Mask("\"verification\":(null|\\{[^}]*\\})", "\"verification\":\"-\"");

    [Fact]
    public async Task Dashboard_snapshots_keep_their_bytes()
    {
        using var factory = new ShowrunnerFactory(new() { ["Showrunner:Dashboard:SampleIntervalMs"] = "0" });
        var client = await factory.ReadyClientAsync();
        var signer = factory.Services.GetRequiredService<CheckpointSigner>();
        // The checkpoint and self-check loops run in the background on the same manual clock, so when
        // they sign and check is not fixed: their values are masked (the ledger section's shape is kept).
        var golden = Masked(new GoldenBodies("dashboard").Substitute(GoldenBodies.ActorOf(factory.AdminKey), "key:admin0000000"));
        await golden.AssertAsync(await client.GetAsync(U("/v1/dashboard")), HttpStatusCode.OK, "snapshot-no-release");

        string release = await PublishAsync(client, Source);
        await client.PostAsync(U($"/v1/releases/{release}/activate"), Json("""{"reason":"golden"}"""));
        await factory.Services.GetRequiredService<LifecycleCoordinator>().TickAsync();
        factory.Clock.Advance(TimeSpan.FromSeconds(1));
        await golden.AssertAsync(await client.GetAsync(U("/v1/dashboard")), HttpStatusCode.OK, "snapshot-empty");

        await KillsAsync(client, "p-1", 4, "a");
        await KillsAsync(client, "p-2", 2, "b");
        await KillsAsync(client, "p-3", 1, "c");
        await factory.Services.GetRequiredService<LifecycleCoordinator>().TickAsync();
        await WaitForLedgerAsync(client, 6);
        await signer.SignIfChangedAsync();
        factory.Clock.Advance(TimeSpan.FromSeconds(60));
        Assert.True(factory.Services.GetRequiredService<LedgerSelfCheck>().Run().Ok);
        // The real requests' ack latencies are measured, not repeatable: only their quantiles are masked here.
        var workload = Masked(new GoldenBodies("dashboard").Substitute(GoldenBodies.ActorOf(factory.AdminKey), "key:admin0000000"))
            .Mask("\"(p50|p95|p99)\":[0-9.E+-]+", "\"$1\":0");
        await workload.AssertAsync(await client.GetAsync(U("/v1/dashboard")), HttpStatusCode.OK, "snapshot-workload");

        // A minute later only recorded latencies are in the window, and they are fixed.
        factory.Clock.Advance(TimeSpan.FromSeconds(61));
        var metrics = factory.Services.GetRequiredService<ShowrunnerMetrics>();
        for (int i = 0; i < 100; i++)
        {
            metrics.AckLatency.Record(0.004);
        }
        await client.PutAsync(U("/v1/flags/events/later"), Json("""{"enabled":false,"reason":"not yet"}"""));
        string candidate = await PublishAsync(client, Source.Replace("title = \"Hunt\"", "title = \"Hunt v2\"", StringComparison.Ordinal));
        var started = await client.PostAsync(U("/v1/rollout"), Json($$$"""
            {"candidate":"{{{candidate}}}","salt":"golden","reason":"try","plan":{"steps":[{"percent":25,"min_soak_seconds":600},{"percent":100}],"auto_advance":false}}
            """));
        Assert.Equal(HttpStatusCode.Created, started.StatusCode);
        factory.Clock.Advance(TimeSpan.FromSeconds(2.5));
        await golden.AssertAsync(await client.GetAsync(U("/v1/dashboard")), HttpStatusCode.OK, "snapshot-rollout");
        factory.Clock.Advance(TimeSpan.FromSeconds(30));
        await golden.AssertAsync(await client.GetAsync(U("/v1/dashboard")), HttpStatusCode.OK, "snapshot-rollout-later");
    }
}
