using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Showrunner.Runtime.LiveEvents;
using Showrunner.Server.Security;

namespace Showrunner.Server.Tests.Golden;

/// <summary>
/// The wire format of the actions, players, events, leaderboard, ledger, grants, outbox, audit,
/// approvals, tokens, keys and system endpoints, byte for byte: each scenario drives the real server
/// (manual clock, fixed inputs) and compares every answer with the golden files recorded from the
/// hand-written writers that came before the contract records (<see cref="GoldenFile"/>).
/// </summary>
[Trait("Category", "Integration")]
public sealed class GoldenResponseTests
{
    private const string Source = """
        release "golden" {}
        currency "gems" {}
        item "blade" {}
        action "combat.kill" { target = string }
        safety_bounds { max_currency_per_grant = { gems = 5000 } }
        event "hunt" {
          title = "Hunt <für> 'alle' & mehr"
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
            prize "1"   { reward = { gems = 1000 } }
            prize "2-3" { reward = { gems = 500 } }
          }
          community_goal {
            target = 30
            reward = { gems = 7 }
          }
        }
        event "weekly" {
          title = "Weekly"
          schedule {
            start    = "2026-11-01T00:00:00Z"
            duration = "2d"
            every    = "7d"
            grace    = "1h"
          }
          objective "any" {
            on     = "combat.kill"
            points = 1
          }
        }
        """;

    private static Uri U(string path) => new(path, UriKind.Relative);

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonNode> Parse(HttpResponseMessage response, HttpStatusCode status)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{response.StatusCode}: {body}");
        return JsonNode.Parse(body)!;
    }

    private static async Task<string> PublishAsync(HttpClient client)
    {
        var (bundle, diagnostics) = Core.Rules.Bundle.ReleaseBundle.Build([new Core.Rules.Syntax.SourceText("golden.hcl", Source)]);
        Assert.True(bundle is not null, string.Join("\n", diagnostics.Select(d => d.Format())));
        var content = new ByteArrayContent(bundle.CanonicalBytes);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/plain");
        await Parse(await client.PostAsync(U("/v1/releases"), content), HttpStatusCode.Created);
        return bundle.Id;
    }

    private static string KeyIdOf(string secret) => secret[3..(3 + ApiKeySecret.IdLength)];

    [Fact]
    public async Task Live_event_reads_actions_ledger_outbox_audit_and_system_answer_the_recorded_bytes()
    {
        using var factory = new ShowrunnerFactory();
        using var client = await factory.ReadyClientAsync();
        var golden = new GoldenFile("live");
        golden.Literal(KeyIdOf(factory.AdminKey), "admin");
        string release = await PublishAsync(client);
        await Parse(await client.PostAsync(U($"/v1/releases/{release}/activate"), null), HttpStatusCode.OK);
        await factory.Services.GetRequiredService<LifecycleCoordinator>().TickAsync();

        await golden.AssertAsync("actions-accepted", await client.PostAsync(U("/v1/actions"), Json("""
            {"actions":[
              {"id":"a-0","player":"p-1","type":"combat.kill","at":"2026-11-22T11:59:00Z","data":{"target":"dragon"}},
              {"id":"a-1","player":"p-1","type":"combat.kill","at":"2026-11-22T11:59:00Z","data":{"target":"dragon","note":"<b>'é'</b> & \u00fc"}},
              {"id":"a-2","player":"p-1","type":"combat.kill","at":"2026-11-22T11:59:01Z","data":{"target":"dragon"}},
              {"id":"b-0","player":"jörg","type":"combat.kill","at":"2026-11-22T11:59:02Z","data":{"target":"dragon"}},
              {"id":"c-0","player":"p-3","type":"combat.kill","at":"2026-11-22T11:59:03Z","data":{"target":"dragon"}},
              {"id":"c-1","player":"p-3","type":"combat.kill","at":"2026-11-22T11:59:03Z","data":{"target":"dragon"}},
              {"id":"c-2","player":"p-3","type":"combat.kill","at":"2026-11-22T11:59:03Z","data":{"target":"dragon"}},
              {"id":"c-3","player":"p-3","type":"combat.kill","at":"2026-11-22T11:59:03Z","data":{"target":"dragon"}}
            ]}
            """)));
        await golden.AssertAsync("actions-duplicate-and-rejected", await client.PostAsync(U("/v1/actions"), Json("""
            {"actions":[
              {"id":"a-0","player":"p-1","type":"combat.kill","at":"2026-11-22T11:59:00Z","data":{"target":"dragon"}},
              {"id":"x-1","player":"p-1","type":"combat.kill","at":"2026-11-22T11:59:00Z","data":{"target":7}},
              {"id":"x-2","player":"p-1","type":"combat.kill","at":"2030-11-22T11:59:00Z","data":{"target":"dragon"}}
            ]}
            """)));
        // The community goal is reached: decided by a tick here (the hosted coordinator may tick too; the outcome is the same).
        await factory.Services.GetRequiredService<LifecycleCoordinator>().TickAsync();
        await golden.AssertAsync("action", await client.GetAsync(U("/v1/actions/a-1")));
        await golden.AssertAsync("action-not-found", await client.GetAsync(U("/v1/actions/nope")));

        await golden.AssertAsync("events", await client.GetAsync(U("/v1/events")));
        await golden.AssertAsync("events-runs", await client.GetAsync(U("/v1/events?runs=5")));
        await golden.AssertAsync("event", await client.GetAsync(U("/v1/events/hunt")));
        await golden.AssertAsync("event-weekly", await client.GetAsync(U("/v1/events/weekly")));
        await golden.AssertAsync("event-not-found", await client.GetAsync(U("/v1/events/nope")));

        await golden.AssertAsync("player-events", await client.GetAsync(U("/v1/players/p-1/events")));
        await golden.AssertAsync("player-events-unicode", await client.GetAsync(U("/v1/players/j%C3%B6rg/events")));
        await golden.AssertAsync("player-events-nobody", await client.GetAsync(U("/v1/players/nobody/events")));
        var rewards = await Parse(await client.GetAsync(U("/v1/players/p-3/rewards")), HttpStatusCode.OK);
        string grantId = (string)rewards["rewards"]![0]!["grant_id"]!;
        await golden.AssertAsync("player-rewards", await client.GetAsync(U("/v1/players/p-3/rewards")));
        await golden.AssertAsync("player-rewards-page", await client.GetAsync(U("/v1/players/p-3/rewards?limit=1")));
        await golden.AssertAsync("player-rewards-empty", await client.GetAsync(U("/v1/players/nobody/rewards")));
        await golden.AssertAsync("reward", await client.GetAsync(U($"/v1/rewards/{grantId}")));
        await golden.AssertAsync("reward-not-found", await client.GetAsync(U($"/v1/rewards/{new string('0', 64)}")));

        await golden.AssertAsync("leaderboard", await client.GetAsync(U("/v1/events/hunt/leaderboard?top=3")));
        await golden.AssertAsync("leaderboard-rank", await client.GetAsync(U("/v1/events/hunt/leaderboard/rank/p-1")));
        await golden.AssertAsync("leaderboard-rank-unprized", await client.GetAsync(U("/v1/events/hunt/leaderboard/rank/j%C3%B6rg")));
        await golden.AssertAsync("community", await client.GetAsync(U("/v1/events/hunt/community")));

        var signer = factory.Services.GetRequiredService<Runtime.Ledger.CheckpointSigner>();
        await signer.SignIfChangedAsync();
        long sequence = signer.Latest!.Checkpoint.Sequence;
        int partition = (int)(await Parse(await client.GetAsync(U($"/v1/rewards/{grantId}")), HttpStatusCode.OK))["partition"]!;
        // The ledger key (and so every signature) is new on every run; the sequence depends on whether the hosted signer signed at start.
        string[] signed = ["key_id", "signature", "checkpoint", "sequence", "public_key_pem", "next_after"];
        await golden.AssertAsync("ledger-key", await client.GetAsync(U("/v1/ledger/key")), signed);
        await golden.AssertAsync("ledger", await client.GetAsync(U("/v1/ledger")), signed);
        await golden.AssertAsync("ledger-checkpoint-latest", await client.GetAsync(U("/v1/ledger/checkpoints/latest")), signed);
        await golden.AssertAsync("ledger-checkpoint", await client.GetAsync(U($"/v1/ledger/checkpoints/{sequence}")), signed);
        await golden.AssertAsync("ledger-checkpoints", await client.GetAsync(U($"/v1/ledger/checkpoints?after={sequence - 1}")), signed);
        await golden.AssertAsync("ledger-consistency", await client.GetAsync(U($"/v1/ledger/consistency?from={sequence}&to={sequence}")), signed);
        await golden.AssertAsync("ledger-entries", await client.GetAsync(U($"/v1/ledger/partitions/{partition}/entries")));
        await golden.AssertAsync("ledger-entries-page", await client.GetAsync(U($"/v1/ledger/partitions/{partition}/entries?limit=1")));
        await golden.AssertAsync("receipt", await client.GetAsync(U($"/v1/rewards/{grantId}/receipt")), signed);

        await golden.AssertAsync("outbox", await client.GetAsync(U("/v1/outbox")));
        await golden.AssertAsync("outbox-delivery", await client.GetAsync(U($"/v1/outbox/{grantId}")));
        await golden.AssertAsync("outbox-dead-letters", await client.GetAsync(U("/v1/outbox/dead-letters")));
        await golden.AssertAsync("outbox-redeliver", await client.PostAsync(U("/v1/outbox/redeliver"), Json("""{"scope":"all_failed","grant_ids":["x"]}""")));
        await golden.AssertAsync("outbox-not-found", await client.GetAsync(U("/v1/outbox/nope")));

        await golden.AssertAsync("run-pause", await client.PostAsync(U("/v1/events/hunt/runs/0/pause"), null));
        await golden.AssertAsync("run-resume", await client.PostAsync(U("/v1/events/hunt/runs/0/resume"), null));
        await golden.AssertAsync("run-resume-refused", await client.PostAsync(U("/v1/events/hunt/runs/0/resume"), null));

        await golden.AssertAsync("audit", await client.GetAsync(U("/v1/audit")), "hash", "prev_hash");
        await golden.AssertAsync("audit-oldest-first", await client.GetAsync(U("/v1/audit?after=0&limit=2")), "hash", "prev_hash");
        await golden.AssertAsync("audit-filtered", await client.GetAsync(U("/v1/audit?action=run.pause")), "hash", "prev_hash");
        await golden.AssertAsync("audit-head", await client.GetAsync(U("/v1/audit/head")), "hash");

        await golden.AssertAsync("healthz", await client.GetAsync(U("/healthz")));
        await golden.AssertAsync("readyz", await client.GetAsync(U("/readyz")));
        // How many group commits carried the actions depends on timing (batches of two partitions may share one).
        await golden.AssertAsync("stats", await client.GetAsync(U("/v1/stats")), "commits");
    }

    [Fact]
    public async Task Keys_tokens_grants_corrections_and_approvals_answer_the_recorded_bytes()
    {
        using var factory = new ShowrunnerFactory(new() { ["Showrunner:Approvals:Enabled"] = "true", ["Showrunner:Title"] = "golden-game" });
        using var admin = await factory.ReadyClientAsync();
        var golden = new GoldenFile("operators");
        golden.Literal(KeyIdOf(factory.AdminKey), "admin");

        var created = await admin.PostAsync(U("/v1/keys"), Json("""{"name":"Alice <ops> 'é'","kind":"operator","role":"approver"}"""));
        string aliceSecret = (string)(await Parse(created, HttpStatusCode.Created))["secret"]!;
        golden.Literal(KeyIdOf(aliceSecret), "alice");
        await golden.AssertAsync("key-created-again-as-shown", await admin.GetAsync(U("/v1/keys?limit=1&after=" + KeyIdOf(factory.AdminKey))));
        string bobSecret = (string)(await Parse(await admin.PostAsync(U("/v1/keys"), Json("""{"name":"bob","kind":"operator","role":"approver"}""")), HttpStatusCode.Created))["secret"]!;
        golden.Literal(KeyIdOf(bobSecret), "bob");
        var gameKey = await admin.PostAsync(U("/v1/keys"), Json("""{"name":"game","kind":"game_server","title":"golden-game"}"""));
        string gameSecret = (string)JsonNode.Parse(await gameKey.Content.ReadAsStringAsync())!["secret"]!;
        golden.Literal(KeyIdOf(gameSecret), "game");
        var temp = await Parse(await admin.PostAsync(U("/v1/keys"), Json("""{"name":"temp","kind":"operator","role":"viewer"}""")), HttpStatusCode.Created);
        golden.Literal((string)temp["id"]!, "temp");
        await golden.AssertAsync("key-create", gameKey, "secret");
        await golden.AssertAsync("key-create-refused", await admin.PostAsync(U("/v1/keys"), Json("""{"name":"x","kind":"operator"}""")));
        await golden.AssertAsync("key-revoke", await admin.DeleteAsync(U($"/v1/keys/{temp["id"]}")));
        await golden.AssertAsync("key-revoke-again", await admin.DeleteAsync(U($"/v1/keys/{temp["id"]}")));
        await golden.AssertAsync("keys", await admin.GetAsync(U("/v1/keys")));
        await golden.AssertAsync("keys-page", await admin.GetAsync(U("/v1/keys?limit=2")));

        using var game = factory.ClientWith(gameSecret);
        await golden.AssertAsync("token", await game.PostAsync(U("/v1/players/p-%C3%A9/tokens"), null), "token", "expires_at");

        using var alice = factory.ClientWith(aliceSecret);
        using var bob = factory.ClientWith(bobSecret);
        string release = await PublishAsync(alice);
        var activation = await alice.PostAsync(U($"/v1/releases/{release}/activate"), Json("""{"reason":"launch"}"""));
        long activationId = (long)(await Parse(activation, HttpStatusCode.Accepted))["approval"]!["id"]!;
        await golden.AssertAsync("approve-activation", await bob.PostAsync(U($"/v1/approvals/{activationId}/approve"), null));

        const string grant = """{"request_id":"ops-1","player":"p-9","event":"hunt","run":0,"rewards":{"gems":100,"blade":1},"reason":"outage <#12> 'é' & more"}""";
        await golden.AssertAsync("grant-requested", await alice.PostAsync(U("/v1/grants"), Json(grant)));
        await golden.AssertAsync("grant-requested-again", await alice.PostAsync(U("/v1/grants"), Json(grant)));
        await golden.AssertAsync("grant-requested-conflict", await alice.PostAsync(U("/v1/grants"), Json(grant.Replace("100", "101", StringComparison.Ordinal))));
        await golden.AssertAsync("grant-refused", await alice.PostAsync(U("/v1/grants"), Json(grant.Replace("gems", "coins", StringComparison.Ordinal))));
        await golden.AssertAsync("grant-invalid-json", await alice.PostAsync(U("/v1/grants"), Json("""{"request_id":""")));
        await golden.AssertAsync("approvals-pending", await alice.GetAsync(U("/v1/approvals?status=pending")));
        long grantApproval = (long)(await Parse(await alice.GetAsync(U("/v1/approvals?status=pending")), HttpStatusCode.OK))["approvals"]![0]!["id"]!;
        await golden.AssertAsync("approve-same-person", await alice.PostAsync(U($"/v1/approvals/{grantApproval}/approve"), null));
        await golden.AssertAsync("approve-grant", await bob.PostAsync(U($"/v1/approvals/{grantApproval}/approve"), Json("""{"reason":"checked <it>"}""")));
        await golden.AssertAsync("approve-decided", await bob.PostAsync(U($"/v1/approvals/{grantApproval}/approve"), null));
        await golden.AssertAsync("grant-existing", await alice.PostAsync(U("/v1/grants"), Json(grant)));
        var granted = await Parse(await alice.GetAsync(U($"/v1/approvals/{grantApproval}")), HttpStatusCode.OK);
        string grantId = (string)granted["result"]!["grant_id"]!;

        const string correction = """{"request_id":"ops-2","rewards":{"gems":-40},"reason":"paid 40 too many"}""";
        await golden.AssertAsync("correction-requested", await bob.PostAsync(U($"/v1/rewards/{grantId}/corrections"), Json(correction)));
        long correctionApproval = (long)(await Parse(await alice.GetAsync(U("/v1/approvals?status=pending")), HttpStatusCode.OK))["approvals"]![0]!["id"]!;
        await golden.AssertAsync("approve-correction", await alice.PostAsync(U($"/v1/approvals/{correctionApproval}/approve"), null));
        await golden.AssertAsync("correction-not-found", await bob.PostAsync(U($"/v1/rewards/{new string('1', 64)}/corrections"), Json(correction)));

        const string rejected = """{"request_id":"ops-3","player":"p-8","rewards":{"gems":5},"reason":"maybe"}""";
        long rejectId = (long)(await Parse(await alice.PostAsync(U("/v1/grants"), Json(rejected)), HttpStatusCode.Accepted))["approval"]!["id"]!;
        await golden.AssertAsync("reject", await bob.PostAsync(U($"/v1/approvals/{rejectId}/reject"), Json("""{"reason":"no"}""")));
        await golden.AssertAsync("approval", await bob.GetAsync(U($"/v1/approvals/{grantApproval}")));
        await golden.AssertAsync("approvals", await bob.GetAsync(U("/v1/approvals")));
        await golden.AssertAsync("approvals-page", await bob.GetAsync(U("/v1/approvals?limit=2&status=executed")));
        await golden.AssertAsync("approval-not-found", await bob.GetAsync(U("/v1/approvals/999")));
        await golden.AssertAsync("player-rewards-manual", await bob.GetAsync(U("/v1/players/p-9/rewards")));
        await golden.AssertAsync("audit", await bob.GetAsync(U("/v1/audit")), "hash", "prev_hash");
    }

    [Fact]
    public async Task Direct_grants_and_corrections_answer_the_recorded_bytes()
    {
        using var factory = new ShowrunnerFactory();
        using var client = await factory.ReadyClientAsync();
        var golden = new GoldenFile("grants");
        golden.Literal(KeyIdOf(factory.AdminKey), "admin");
        await golden.AssertAsync("grant-no-release", await client.PostAsync(U("/v1/grants"), Json("""{"request_id":"g-0","player":"p-1","rewards":{"gems":1},"reason":"r"}""")));
        string release = await PublishAsync(client);
        await Parse(await client.PostAsync(U($"/v1/releases/{release}/activate"), null), HttpStatusCode.OK);

        const string grant = """{"request_id":"g-1","player":"p-é","rewards":{"blade":2,"gems":100},"reason":"support ticket <42>"}""";
        await golden.AssertAsync("grant-created", await client.PostAsync(U("/v1/grants"), Json(grant)));
        await golden.AssertAsync("grant-existing", await client.PostAsync(U("/v1/grants"), Json(grant)));
        await golden.AssertAsync("grant-conflict", await client.PostAsync(U("/v1/grants"), Json(grant.Replace("100", "99", StringComparison.Ordinal))));
        await golden.AssertAsync("grant-author-refused", await client.PostAsync(U("/v1/grants"), Json("""{"request_id":"g-2","author":"someone","player":"p-1","rewards":{"gems":1},"reason":"r"}""")));
        await golden.AssertAsync("grant-amount-refused", await client.PostAsync(U("/v1/grants"), Json("""{"request_id":"g-2","player":"p-1","rewards":{"gems":-1},"reason":"r"}""")));
        await golden.AssertAsync("grant-bound-refused", await client.PostAsync(U("/v1/grants"), Json("""{"request_id":"g-2","player":"p-1","rewards":{"gems":5001},"reason":"r"}""")));
        await golden.AssertAsync("grant-unsupported-media", await client.PostAsync(U("/v1/grants"), new StringContent("{}", Encoding.UTF8, "text/plain")));
        string grantId = (string)(await Parse(await client.PostAsync(U("/v1/grants"), Json(grant)), HttpStatusCode.OK))["grant_id"]!;
        const string correction = """{"request_id":"g-c","rewards":{"gems":-40,"blade":1},"reason":"fix"}""";
        await golden.AssertAsync("correction-created", await client.PostAsync(U($"/v1/rewards/{grantId}/corrections"), Json(correction)));
        await golden.AssertAsync("correction-existing", await client.PostAsync(U($"/v1/rewards/{grantId}/corrections"), Json(correction)));
        await golden.AssertAsync("correction-player-refused", await client.PostAsync(U($"/v1/rewards/{grantId}/corrections"),
            Json("""{"request_id":"g-d","player":"p-2","rewards":{"gems":-1},"reason":"fix"}""")));
        await golden.AssertAsync("correction-invalid-id", await client.PostAsync(U("/v1/rewards/xyz/corrections"), Json(correction)));
        await golden.AssertAsync("player-rewards", await client.GetAsync(U("/v1/players/p-%C3%A9/rewards")));
        await golden.AssertAsync("audit", await client.GetAsync(U("/v1/audit?action=grant.correct")), "hash", "prev_hash");
    }
}
