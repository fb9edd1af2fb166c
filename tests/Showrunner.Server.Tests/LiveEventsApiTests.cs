using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Showrunner.Core.Ledger;
using Showrunner.Runtime.LiveEvents;
using Showrunner.Testing;

namespace Showrunner.Server.Tests;

/// <summary>Progress, rewards, receipts, checkpoints, leaderboards, community goals and operator grants over HTTP.</summary>
[Trait("Category", "Component")]
public sealed class LiveEventsApiTests
{
    private static readonly string Source = ReleaseFixtures.Source("hunt-tiers-two-prizes-goal");

    private static readonly Uri Actions = new("/v1/actions", UriKind.Relative);

    private static Uri U(string path) => new(path, UriKind.Relative);

    private static async Task<JsonNode> Ok(HttpResponseMessage response, HttpStatusCode status = HttpStatusCode.OK)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{response.StatusCode}: {body}");
        return JsonNode.Parse(body)!;
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<(ShowrunnerFactory Factory, HttpClient Client)> StartAsync()
    {
        var factory = new ShowrunnerFactory();
        var client = await factory.ReadyClientAsync();
        var (bundle, diagnostics) = Core.Rules.Bundle.ReleaseBundle.Build([new Core.Rules.Syntax.SourceText("live.hcl", Source)]);
        Assert.True(bundle is not null, string.Join("\n", diagnostics.Select(d => d.Format())));
        var content = new ByteArrayContent(bundle.CanonicalBytes);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/plain");
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsync(U("/v1/releases"), content)).StatusCode);
        await Ok(await client.PostAsync(U($"/v1/releases/{bundle.Id}/activate"), null));
        await factory.Services.GetRequiredService<LifecycleCoordinator>().TickAsync();
        return (factory, client);
    }

    private static async Task KillsAsync(HttpClient client, string player, int count, string prefix)
    {
        var actions = Enumerable.Range(0, count).Select(i =>
            $$"""{"id":"{{prefix}}-{{i}}","player":"{{player}}","type":"combat.kill","at":"2026-11-22T11:59:00Z","data":{"target":"dragon"} """.TrimEnd() + "}");
        var results = await Ok(await client.PostAsync(Actions, Json($$"""{"actions":[{{string.Join(",", actions)}}]}""")));
        Assert.All(results["results"]!.AsArray(), r => Assert.Equal("accepted", (string?)r!["status"]));
    }

    [Fact]
    public async Task A_player_sees_progress_next_tier_and_rewards_and_a_receipt_verifies_offline()
    {
        var (factory, client) = await StartAsync();
        using var _ = factory;
        await KillsAsync(client, "p-1", 3, "a");

        var events = await Ok(await client.GetAsync(U("/v1/players/p-1/events")));
        var run = events["events"]![0]!["runs"]![0]!;
        Assert.Equal((15, "active"), ((int)run["points"]!, (string?)run["phase"]));
        Assert.Equal(15, (int)run["objectives"]!["dragons"]!);
        Assert.Equal(["bronze"], run["tiers_reached"]!.AsArray().Select(t => (string)t!));
        Assert.Equal(("silver", 5), ((string?)run["next_tier"]!["name"], (int)run["next_tier"]!["points_to_go"]!));
        var earned = Assert.Single(run["rewards"]!.AsArray());
        Assert.Equal(("tier:bronze", 50), ((string?)earned!["rule"], (int)earned["rewards"]!["gems"]!));

        var rewards = await Ok(await client.GetAsync(U("/v1/players/p-1/rewards")));
        var grant = Assert.Single(rewards["rewards"]!.AsArray())!;
        string grantId = (string)grant["grant_id"]!;
        Assert.Equal(("a-1", "action", "tier", "pending"),
            ((string?)grant["action"], (string?)grant["cause_kind"], (string?)grant["cause_id"], (string?)grant["delivery"]!["status"]));

        string receipt = await (await client.GetAsync(U($"/v1/rewards/{grantId}/receipt"))).Content.ReadAsStringAsync();
        string key = await client.GetStringAsync(U("/v1/ledger/key?format=pem"));
        var verified = ReceiptVerifier.Verify(receipt, key);
        Assert.True(verified.IsValid, verified.Code + ": " + verified.Detail);
        Assert.Equal(grantId, verified.Entry!.GrantId);

        var unknown = new string('0', 64);
        await ActionsApiTests.ProblemOf(await client.GetAsync(U($"/v1/rewards/{unknown}/receipt")), HttpStatusCode.NotFound, "grant_not_found");
        await ActionsApiTests.ProblemOf(await client.GetAsync(U("/v1/rewards/xyz/receipt")), HttpStatusCode.BadRequest, "invalid_grant_id");
        await ActionsApiTests.ProblemOf(await client.GetAsync(U("/v1/players/p-1/rewards?limit=0")), HttpStatusCode.BadRequest, "invalid_parameter");
        var nobody = await Ok(await client.GetAsync(U("/v1/players/nobody/events")));
        Assert.Equal(0, (int)nobody["events"]![0]!["runs"]![0]!["points"]!);
    }

    [Fact]
    public async Task Checkpoints_only_grow_and_consistency_proofs_between_them_verify()
    {
        var (factory, client) = await StartAsync();
        using var _ = factory;
        await ActionsApiTests.ProblemOf(await client.GetAsync(U("/v1/ledger/checkpoints/999")), HttpStatusCode.NotFound, "checkpoint_not_found");
        var signer = factory.Services.GetRequiredService<Runtime.Ledger.CheckpointSigner>();
        // The hosted signer also signs (at start, and whenever it runs): use only the sequences this test signed.
        await KillsAsync(client, "p-1", 2, "a");
        Assert.True(await signer.SignIfChangedAsync());
        long first = signer.Latest!.Checkpoint.Sequence;
        await KillsAsync(client, "p-2", 4, "b");
        await KillsAsync(client, "p-3", 2, "c");
        // p-1 reaches silver: its partition grows from 1 entry to 2, so its consistency proof is not empty.
        await KillsAsync(client, "p-1", 2, "a2");
        // The kills reach the community goal (30 points): its rewards are paid by a lifecycle tick.
        // Tick here, so they are in the ledger before this checkpoint and not paid by the hosted
        // tick (real time) between the checkpoint and the summary read below.
        await factory.Services.GetRequiredService<LifecycleCoordinator>().TickAsync();
        Assert.True(await signer.SignIfChangedAsync());
        long second = signer.Latest!.Checkpoint.Sequence;
        Assert.True(second > first);
        var list = await Ok(await client.GetAsync(U("/v1/ledger/checkpoints?limit=1000")));
        var sequences = list["checkpoints"]!.AsArray().Select(c => (long)c!["sequence"]!).ToList();
        Assert.Equal(Enumerable.Range(0, sequences.Count).Select(i => (long)i), sequences);
        var sizes = list["checkpoints"]!.AsArray().Select(c => (long)c!["entries"]!).ToList();
        Assert.Equal(sizes.Order(), sizes);
        var page = await Ok(await client.GetAsync(U($"/v1/ledger/checkpoints?after={first}&limit=1")));
        Assert.Equal(first + 1, (long)Assert.Single(page["checkpoints"]!.AsArray())!["sequence"]!);

        var summary = await Ok(await client.GetAsync(U("/v1/ledger")));
        Assert.Equal(sizes[^1], (long)summary["entries"]!);

        var consistency = await Ok(await client.GetAsync(U($"/v1/ledger/consistency?from={first}&to={second}")));
        var key = LedgerPublicKey.FromPem(await client.GetStringAsync(U("/v1/ledger/key?format=pem"))).Key!;
        SignedCheckpoint Parse(JsonNode node) => new(Checkpoint.Decode(Convert.FromBase64String((string)node["checkpoint"]!)).Checkpoint!,
            Convert.FromBase64String((string)node["signature"]!));
        var proofs = consistency["proofs"]!.AsArray().Select(p => (IReadOnlyList<byte[]>)[.. p!["proof"]!.AsArray().Select(n => Convert.FromHexString((string)n!))]).ToList();
        var ok = CheckpointConsistency.Verify(Parse(consistency["from"]!), Parse(consistency["to"]!), proofs, key);
        Assert.True(ok.IsValid, ok.Detail);
        // A proof for another pair does not verify.
        proofs[(int)consistency["proofs"]!.AsArray().First(p => ((JsonArray)p!["proof"]!).Count > 0)!["partition"]!] = [new byte[32]];
        Assert.False(CheckpointConsistency.Verify(Parse(consistency["from"]!), Parse(consistency["to"]!), proofs, key).IsValid);

        var entries = await Ok(await client.GetAsync(U("/v1/ledger/partitions/0/entries?limit=1000")));
        Assert.Equal(0, (int)entries["partition"]!);
        await ActionsApiTests.ProblemOf(await client.GetAsync(U("/v1/ledger/partitions/99/entries")), HttpStatusCode.BadRequest, "invalid_parameter");
        await ActionsApiTests.ProblemOf(await client.GetAsync(U("/v1/ledger/consistency?from=1&to=0")), HttpStatusCode.BadRequest, "invalid_parameter");
        await ActionsApiTests.ProblemOf(await client.GetAsync(U("/v1/ledger/consistency?from=0&to=70")), HttpStatusCode.NotFound, "checkpoint_not_found");
    }

    [Fact]
    public async Task The_leaderboard_ranks_across_partitions_and_the_community_goal_is_shared()
    {
        var (factory, client) = await StartAsync();
        using var _ = factory;
        await KillsAsync(client, "a", 3, "a");
        await KillsAsync(client, "b", 1, "b");
        await KillsAsync(client, "c", 3, "c");
        factory.Clock.Advance(TimeSpan.FromSeconds(1));
        await KillsAsync(client, "d", 2, "d");
        var top = await Ok(await client.GetAsync(U("/v1/events/hunt/leaderboard?top=3")));
        // a and c tie at 15; a's last point came first (same ingest time: earlier partition/seq, then id): a, c, then d.
        var ranked = top["entries"]!.AsArray().Select(e => ((int)e!["rank"]!, (string?)e["player"], (int)e["points"]!)).ToList();
        Assert.Equal(3, ranked.Count);
        Assert.Equal([15, 15, 10], ranked.Select(r => r.Item3));
        Assert.Equal(4, (int)top["players"]!);
        Assert.Equal("prize:1-1", (string?)top["entries"]![0]!["prize"]);

        var rankOfD = await Ok(await client.GetAsync(U("/v1/events/hunt/leaderboard/rank/d")));
        Assert.Equal((3, 10, "prize:2-3"), ((int)rankOfD["rank"]!, (int)rankOfD["points"]!, (string?)rankOfD["prize"]));
        var rankOfB = await Ok(await client.GetAsync(U("/v1/events/hunt/leaderboard/rank/b")));
        Assert.Equal(4, (int)rankOfB["rank"]!);
        await ActionsApiTests.ProblemOf(await client.GetAsync(U("/v1/events/hunt/leaderboard/rank/zed")), HttpStatusCode.NotFound, "not_ranked");
        await ActionsApiTests.ProblemOf(await client.GetAsync(U("/v1/events/hunt/leaderboard?top=0")), HttpStatusCode.BadRequest, "invalid_parameter");
        await ActionsApiTests.ProblemOf(await client.GetAsync(U("/v1/events/hunt/leaderboard?run=9")), HttpStatusCode.NotFound, "run.unknown");
        await ActionsApiTests.ProblemOf(await client.GetAsync(U("/v1/events/nope/leaderboard")), HttpStatusCode.NotFound, "event_not_found");

        var community = await Ok(await client.GetAsync(U("/v1/events/hunt/community")));
        Assert.Equal((30, 45, 4), ((int)community["target"]!, (int)community["progress"]!, (int)community["participants"]!));
        // The clock advance above may have let the hosted coordinator tick already; a tick decides the goal either way.
        await factory.Services.GetRequiredService<LifecycleCoordinator>().TickAsync();
        community = await Ok(await client.GetAsync(U("/v1/events/hunt/community")));
        Assert.True((bool)community["reached"]!);
        var rewards = await Ok(await client.GetAsync(U("/v1/players/b/rewards")));
        Assert.Contains(rewards["rewards"]!.AsArray(), r => (string?)r!["rule"] == "community_goal");
    }

    [Fact]
    public async Task Operator_grants_and_corrections_are_new_entries_idempotent_by_request_id()
    {
        var (factory, client) = await StartAsync();
        using var _ = factory;
        const string body = """{"request_id":"ops-1","player":"p-9","rewards":{"gems":100},"reason":"Compensation for outage #12"}""";
        // The author is the caller (no authentication here: the anonymous operator), never free text.
        var refused = await ActionsApiTests.ProblemOf(await client.PostAsync(U("/v1/grants"), Json("{\"author\":\"alice\"," + body[1..])),
            HttpStatusCode.BadRequest, "invalid_grant_request");
        Assert.Equal("author", (string?)refused["field"]);
        var created = await Ok(await client.PostAsync(U("/v1/grants"), Json(body)), HttpStatusCode.Created);
        Assert.Equal(("created", "operator", "key:" + factory.AdminKey[3..15], "manual"), ((string?)created["status"], (string?)created["cause_kind"], (string?)created["author"], (string?)created["rule"]));
        // Naming oneself is accepted, and is the same request.
        var named = await Ok(await client.PostAsync(U("/v1/grants"), Json("{\"author\":\"key:" + factory.AdminKey[3..15] + "\"," + body[1..])));
        Assert.Equal("existing", (string?)named["status"]);
        string grantId = (string)created["grant_id"]!;
        var again = await Ok(await client.PostAsync(U("/v1/grants"), Json(body)));
        Assert.Equal(("existing", grantId), ((string?)again["status"], (string?)again["grant_id"]));
        await ActionsApiTests.ProblemOf(await client.PostAsync(U("/v1/grants"), Json(body.Replace("100", "200", StringComparison.Ordinal))),
            HttpStatusCode.Conflict, "grant_conflict");

        var corrected = await Ok(await client.PostAsync(U($"/v1/rewards/{grantId}/corrections"),
            Json("""{"request_id":"ops-2","rewards":{"gems":-40},"reason":"Paid 40 too many"}""")), HttpStatusCode.Created);
        Assert.Equal(("correction", "p-9", -40), ((string?)corrected["cause_kind"], (string?)corrected["player"], (int)corrected["rewards"]!["gems"]!));
        var rewards = await Ok(await client.GetAsync(U("/v1/players/p-9/rewards")));
        Assert.Equal(60, rewards["rewards"]!.AsArray().Sum(r => (int)r!["rewards"]!["gems"]!));

        var entriesBefore = (long)(await Ok(await client.GetAsync(U("/v1/ledger"))))["entries"]!;
        (string Body, string Field)[] bad =
        [
            ("""{"player":"p","rewards":{"gems":1},"reason":"r"}""", "request_id"),
            ("""{"request_id":"x","player":"p","rewards":{"gems":-1},"reason":"r"}""", "rewards.gems"),
            ("""{"request_id":"x","player":"p","rewards":{"coins":1},"reason":"r"}""", "rewards"),
            ("""{"request_id":"x","player":"p","rewards":{"gems":6000},"reason":"r"}""", "rewards"),
            ("""{"request_id":"x","player":"p","rewards":{},"reason":"r"}""", "rewards"),
            ("""{"request_id":"x","player":"p","rewards":{"gems":1}}""", "reason"),
        ];
        foreach (var (json, field) in bad)
        {
            var problem = await ActionsApiTests.ProblemOf(await client.PostAsync(U("/v1/grants"), Json(json)), HttpStatusCode.BadRequest, "invalid_grant_request");
            Assert.Equal(field, (string?)problem["field"]);
        }
        await ActionsApiTests.ProblemOf(await client.PostAsync(U("/v1/grants"), new StringContent("{}", Encoding.UTF8, "text/plain")),
            HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
        await ActionsApiTests.ProblemOf(await client.PostAsync(U($"/v1/rewards/{new string('a', 64)}/corrections"), Json(body)), HttpStatusCode.NotFound, "grant_not_found");
        Assert.Equal(entriesBefore, (long)(await Ok(await client.GetAsync(U("/v1/ledger"))))["entries"]!);
    }
}
