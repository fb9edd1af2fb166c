using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Showrunner.Core.Ledger;
using Showrunner.Core.Rollouts;
using Showrunner.Runtime.LiveEvents;
using Showrunner.Storage;
using Showrunner.Testing;

namespace Showrunner.Server.Tests;

/// <summary>Staged rollout over HTTP with a manual clock: sticky cohorts, gates, automatic rollback, shadow, reverse, completion.</summary>
[Trait("Category", "Component")]
public sealed class RolloutApiTests
{
    /// <summary>Every kill crosses tier "first" (5 points): one grant per player's first kill; the candidate's version pays <c>gems</c> as given.</summary>
    private static string Source(int gems, string title = "Hunt", bool keepEarned = false) => ReleaseFixtures.Source("rollout-hunt-one-tier", ("title", title), ("keep_earned", keepEarned), ("gems", gems));

    private static Uri U(string path) => new(path, UriKind.Relative);

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonNode> Ok(HttpResponseMessage response, HttpStatusCode status = HttpStatusCode.OK)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{response.StatusCode}: {body}");
        return JsonNode.Parse(body)!;
    }

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

    private static async Task<(ShowrunnerFactory Factory, HttpClient Client, string Baseline)> StartAsync()
    {
        var factory = new ShowrunnerFactory();
        var client = await factory.ReadyClientAsync();
        string baseline = await PublishAsync(client, Source(10));
        await Ok(await client.PostAsync(U($"/v1/releases/{baseline}/activate"), null));
        await factory.Services.GetRequiredService<LifecycleCoordinator>().TickAsync();
        return (factory, client, baseline);
    }

    /// <summary>One kill from each player, in batches; returns nothing but asserts each was accepted.</summary>
    private static async Task KillsAsync(HttpClient client, IEnumerable<string> players, string prefix)
    {
        foreach (var chunk in players.Chunk(100))
        {
            var actions = chunk.Select(p => $$$"""{"id":"{{{prefix}}}-{{{p}}}","player":"{{{p}}}","type":"combat.kill","at":"2026-11-22T11:59:00Z","data":{"target":"dragon"}}""");
            var results = await Ok(await client.PostAsync(U("/v1/actions"), Json($$"""{"actions":[{{string.Join(",", actions)}}]}""")));
            Assert.All(results["results"]!.AsArray(), r => Assert.Equal("accepted", (string?)r!["status"]));
        }
    }

    private static IEnumerable<string> Players(string prefix, int count) => Enumerable.Range(0, count).Select(i => $"{prefix}{i:D4}");

    /// <summary>Every committed ledger entry, decoded.</summary>
    private static List<GrantEntry> Ledger(ShowrunnerFactory factory)
    {
        var store = factory.Services.GetRequiredService<IActionStore>();
        var entries = new List<GrantEntry>();
        for (int p = 0; p < 16; p++)
        {
            foreach (var row in store.Ledger.ReadEntries(p, 0, 100_000))
            {
                entries.Add(GrantEntry.Decode(row.Entry, row.PrevHash).Entry!);
            }
        }
        return entries;
    }

    private static async Task<JsonNode> RolloutAsync(HttpClient client) => (await Ok(await client.GetAsync(U("/v1/rollout"))))["rollout"]!;

    private static async Task<JsonNode> WaitForStateAsync(HttpClient client, string state)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var rollout = await RolloutAsync(client);
            if ((string?)rollout["state"] == state)
            {
                return rollout;
            }
            Assert.True(DateTime.UtcNow < deadline, $"rollout not {state} within 10 s: {rollout.ToJsonString()}");
            await Task.Delay(20);
        }
    }

    private static string StartBody(string candidate, string plan, string salt = "test-salt") =>
        $$"""{"candidate":"{{candidate}}","salt":"{{salt}}","reason":"test","plan":{{plan}}}""";

    [Fact]
    public async Task A_candidate_paying_ten_times_the_baseline_is_rolled_back_automatically_and_grants_nothing_afterwards()
    {
        var (factory, client, baseline) = await StartAsync();
        using var _ = factory;
        string candidate = await PublishAsync(client, Source(100, keepEarned: true));
        var started = await Ok(await client.PostAsync(U("/v1/rollout"), Json(StartBody(candidate,
            """{"steps":[{"percent":50,"min_soak_seconds":600},{"percent":100}],"auto_advance":false,"gates":{"min_actions":40}}"""))), HttpStatusCode.Created);
        Assert.Equal(("running", 0, 50m), ((string?)started["rollout"]!["state"], (int)started["rollout"]!["step"]!["index"]!,
            (decimal)started["rollout"]!["step"]!["percent"]!));

        // Before the minimum sample, the gates are inconclusive and nothing is rolled back.
        await KillsAsync(client, Players("a", 20), "k1");
        var early = await RolloutAsync(client);
        Assert.Equal(("running", "inconclusive"), ((string?)early["state"], (string?)early["gates_overall"]));

        await KillsAsync(client, Players("b", 200), "k2");
        var rolledBack = await WaitForStateAsync(client, "rolled_back");
        var last = rolledBack["history"]!.AsArray().Last()!;
        Assert.Equal(("rollback", "system:gates"), ((string?)last["kind"], (string?)last["actor"]));
        Assert.Contains("reward_rate on hunt (gems)", (string?)last["reason"], StringComparison.Ordinal);
        Assert.Equal(baseline, (string?)(await Ok(await client.GetAsync(U("/v1/releases/active"))))["release"]!["id"]);

        var before = Ledger(factory);
        var candidateGrants = before.Where(e => e.ReleaseId == candidate).Select(e => e.GrantId).ToHashSet();
        Assert.NotEmpty(candidateGrants);
        Assert.All(before.Where(e => e.ReleaseId == candidate), e => Assert.Equal(100, e.Rewards.Single().Amount));
        // Each cohort player was evaluated by the candidate: their action records it.
        var inCohort = Players("b", 200).First(p => Bucketing.InCohort("test-salt", p, 5_000));
        var action = await Ok(await client.GetAsync(U("/v1/actions/k2-" + inCohort)));
        Assert.Equal(candidate, (string?)action["release"]);

        // After the rollback, cohort players (old and new) are evaluated and paid by the baseline only.
        await KillsAsync(client, Players("c", 200), "k3");
        var after = Ledger(factory);
        Assert.Equal(candidateGrants, after.Where(e => e.ReleaseId == candidate).Select(e => e.GrantId).ToHashSet());
        Assert.Equal(200, after.Count(e => e.Player.StartsWith('c') && e.ReleaseId == baseline && e.Rewards.Single().Amount == 10));
        var later = await Ok(await client.GetAsync(U("/v1/actions/k3-" + Players("c", 200).First(p => Bucketing.InCohort("test-salt", p, 5_000)))));
        Assert.Equal(baseline, (string?)later["release"]);
    }

    [Fact]
    public async Task Cohorts_are_sticky_a_lowered_percentage_keeps_assigned_players_with_the_candidate()
    {
        var (factory, client, baseline) = await StartAsync();
        using var _ = factory;
        string candidate = await PublishAsync(client, Source(10, title: "Hunt v2"));
        await Ok(await client.PostAsync(U("/v1/rollout"), Json(StartBody(candidate,
            """{"steps":[{"percent":50,"min_soak_seconds":60},{"percent":5,"min_soak_seconds":60},{"percent":100}],"auto_advance":false,"gates":{"min_actions":100000}}"""))),
            HttpStatusCode.Created);
        var players = Players("s", 100).ToList();
        await KillsAsync(client, players, "first");
        var assigned = players.Where(p => Bucketing.InCohort("test-salt", p, 5_000)).ToList();
        Assert.InRange(assigned.Count, 30, 70);
        Assert.Equal(assigned.Count, (int)(await RolloutAsync(client))["assigned_players"]!);

        // Before the soak time, advancing is refused; after it, the step lowers the percentage.
        await ActionsApiTests.ProblemOf(await client.PostAsync(U("/v1/rollout/advance"), null), HttpStatusCode.Conflict, "soak_not_elapsed");
        factory.Clock.Advance(TimeSpan.FromSeconds(61));
        var stepped = await Ok(await client.PostAsync(U("/v1/rollout/advance"), Json("""{"reason":"reduce exposure"}""")));
        Assert.Equal((1, 5m), ((int)stepped["rollout"]!["step"]!["index"]!, (decimal)stepped["rollout"]!["step"]!["percent"]!));

        await KillsAsync(client, players, "second");
        foreach (string player in players)
        {
            var action = await Ok(await client.GetAsync(U("/v1/actions/second-" + player)));
            string expected = assigned.Contains(player) ? candidate : baseline;
            Assert.True(expected == (string?)action["release"], $"{player}: {action.ToJsonString()}");
        }
        // The assignment is recorded: it survives in the store (a restart reloads it).
        var stored = factory.Services.GetRequiredService<IActionStore>().Rollouts.Assignments((long)(await RolloutAsync(client))["id"]!);
        Assert.Equal(assigned.Order(StringComparer.Ordinal), stored.Select(a => a.Player));
    }

    [Fact]
    public async Task A_shadow_step_measures_the_candidate_without_granting_and_a_failing_gate_rolls_it_back()
    {
        var (factory, client, baseline) = await StartAsync();
        using var _ = factory;
        string candidate = await PublishAsync(client, Source(100, keepEarned: true));
        await Ok(await client.PostAsync(U("/v1/rollout"), Json(StartBody(candidate,
            """{"steps":[{"mode":"shadow","percent":100,"min_soak_seconds":600},{"percent":100}],"auto_advance":false,"gates":{"min_actions":50}}"""))),
            HttpStatusCode.Created);
        await KillsAsync(client, Players("h", 100), "k");
        var rolledBack = await WaitForStateAsync(client, "rolled_back");
        Assert.Equal("system:gates", (string?)rolledBack["history"]!.AsArray().Last()!["actor"]);
        var ledger = Ledger(factory);
        Assert.DoesNotContain(ledger, e => e.ReleaseId == candidate);
        Assert.Equal(100, ledger.Count(e => e.ReleaseId == baseline && e.Rewards.Single().Amount == 10));
        var action = await Ok(await client.GetAsync(U("/v1/actions/k-h0000")));
        Assert.Equal(baseline, (string?)action["release"]);
    }

    [Fact]
    public async Task Rollback_with_the_reverse_policy_compensates_each_candidate_grant_once()
    {
        var (factory, client, baseline) = await StartAsync();
        using var _ = factory;
        string candidate = await PublishAsync(client, Source(100, keepEarned: true));
        await Ok(await client.PostAsync(U("/v1/rollout"), Json(StartBody(candidate,
            """{"steps":[{"percent":100}],"auto_advance":false,"on_rollback":"reverse","gates":{"min_actions":100000}}"""))), HttpStatusCode.Created);
        await KillsAsync(client, Players("r", 30), "k");
        var result = await Ok(await client.PostAsync(U("/v1/rollout/rollback"), Json("""{"reason":"wrong reward"}""")));
        Assert.Equal("rolled_back", (string?)result["result"]);
        Assert.Contains("30 grant(s) reversed", (string?)result["detail"], StringComparison.Ordinal);

        var ledger = Ledger(factory);
        var grants = ledger.Where(e => e.ReleaseId == candidate).ToList();
        var corrections = ledger.Where(e => e.CauseKind == CauseKind.Correction).ToList();
        Assert.Equal(30, grants.Count);
        Assert.Equal(30, corrections.Count);
        Assert.All(corrections, c => Assert.Equal((-100L, "system:rollout"), (c.Rewards.Single().Amount, c.Author!)));
        Assert.All(Players("r", 30), p => Assert.Equal(0, ledger.Where(e => e.Player == p).Sum(e => e.Rewards.Single().Amount)));
        await ActionsApiTests.ProblemOf(await client.PostAsync(U("/v1/rollout/rollback"), null), HttpStatusCode.Conflict, "rollout_not_running");
    }

    [Fact]
    public async Task Completing_the_last_step_makes_the_candidate_active_and_errors_change_nothing()
    {
        var (factory, client, baseline) = await StartAsync();
        using var _ = factory;
        string candidate = await PublishAsync(client, Source(10, title: "Hunt v2"));
        await ActionsApiTests.ProblemOf(await client.PostAsync(U("/v1/rollout"), Json(StartBody(candidate, """{"steps":[{"percent":50}]}"""))),
            HttpStatusCode.BadRequest, "rollout_plan_invalid");
        await ActionsApiTests.ProblemOf(await client.PostAsync(U("/v1/rollout"), Json(StartBody(candidate, """{"steps":[{"percent":150}]}"""))),
            HttpStatusCode.BadRequest, "rollout_plan_invalid");
        await ActionsApiTests.ProblemOf(await client.PostAsync(U("/v1/rollout"), Json(StartBody(baseline, """{"steps":[{"percent":100}]}"""))),
            HttpStatusCode.Conflict, "same_release");
        await ActionsApiTests.ProblemOf(await client.PostAsync(U("/v1/rollout"), Json(StartBody(new string('a', 64), """{"steps":[{"percent":100}]}"""))),
            HttpStatusCode.NotFound, "release_not_found");
        await ActionsApiTests.ProblemOf(await client.PostAsync(U("/v1/rollout/advance"), null), HttpStatusCode.Conflict, "rollout_not_running");
        Assert.Null((await Ok(await client.GetAsync(U("/v1/rollout"))))["rollout"]);

        await Ok(await client.PostAsync(U("/v1/rollout"), Json(StartBody(candidate, """{"steps":[{"percent":100,"min_soak_seconds":0}],"auto_advance":false}"""))),
            HttpStatusCode.Created);
        await ActionsApiTests.ProblemOf(await client.PostAsync(U("/v1/rollout"), Json(StartBody(candidate, """{"steps":[{"percent":100}]}"""))),
            HttpStatusCode.Conflict, "rollout_in_progress");
        await ActionsApiTests.ProblemOf(await client.PostAsync(U($"/v1/releases/{candidate}/activate"), null), HttpStatusCode.Conflict, "rollout_in_progress");

        var done = await Ok(await client.PostAsync(U("/v1/rollout/advance"), null));
        Assert.Equal("completed", (string?)done["result"]);
        var active = await Ok(await client.GetAsync(U("/v1/releases/active")));
        Assert.Equal((candidate, "rollout"), ((string?)active["release"]!["id"], (string?)active["kind"]));
        Assert.Equal("completed", (string?)(await RolloutAsync(client))["state"]);
        await KillsAsync(client, ["z1"], "after");
        Assert.Equal(candidate, (string?)(await Ok(await client.GetAsync(U("/v1/actions/after-z1"))))["release"]);
    }

    [Fact]
    public async Task An_audience_limits_the_cohort_to_the_players_it_holds_judged_on_their_profile()
    {
        var (factory, client, baseline) = await StartAsync();
        using var _ = factory;
        string candidate = await PublishAsync(client, Source(10, title: "Hunt v2"));
        var bad = await ActionsApiTests.ProblemOf(await client.PostAsync(U("/v1/rollout"), Json(StartBody(candidate,
            """{"steps":[{"percent":100}],"audience":"player.nope == 1"}"""))), HttpStatusCode.BadRequest, "rollout_plan_invalid");
        Assert.Equal("plan.audience", (string?)bad["errors"]![0]!["field"]);
        Assert.Null((await Ok(await client.GetAsync(U("/v1/rollout"))))["rollout"]);

        await Ok(await client.PostAsync(U("/v1/rollout"), Json(StartBody(candidate,
            """{"steps":[{"percent":100}],"auto_advance":false,"audience":"player.country == \"SE\"","gates":{"min_actions":100000}}"""))), HttpStatusCode.Created);
        var profiles = await Ok(await client.PostAsync(U("/v1/actions"), Json("""
            {"actions":[
              {"id":"pr-se","player":"se-1","type":"player.profile","at":"2026-11-22T11:59:00Z","data":{"country":"SE"}},
              {"id":"pr-no","player":"no-1","type":"player.profile","at":"2026-11-22T11:59:00Z","data":{"country":"NO"}}]}
            """)));
        Assert.All(profiles["results"]!.AsArray(), r => Assert.Equal("accepted", (string?)r!["status"]));
        await KillsAsync(client, ["se-1", "no-1", "unknown-1"], "a");
        Assert.Equal(candidate, (string?)(await Ok(await client.GetAsync(U("/v1/actions/a-se-1"))))["release"]);
        Assert.Equal(baseline, (string?)(await Ok(await client.GetAsync(U("/v1/actions/a-no-1"))))["release"]);
        Assert.Equal(baseline, (string?)(await Ok(await client.GetAsync(U("/v1/actions/a-unknown-1"))))["release"]);

        // A profile change moves a player into the audience for their next action; leaving it does not undo an assignment.
        await Ok(await client.PostAsync(U("/v1/actions"), Json("""
            {"actions":[
              {"id":"pr-no-2","player":"no-1","type":"player.profile","at":"2026-11-22T11:59:00Z","data":{"country":"SE"}},
              {"id":"pr-se-2","player":"se-1","type":"player.profile","at":"2026-11-22T11:59:00Z","data":{"country":"DK"}}]}
            """)));
        await KillsAsync(client, ["se-1", "no-1"], "b");
        Assert.Equal(candidate, (string?)(await Ok(await client.GetAsync(U("/v1/actions/b-no-1"))))["release"]);
        Assert.Equal(candidate, (string?)(await Ok(await client.GetAsync(U("/v1/actions/b-se-1"))))["release"]);
    }

    [Fact]
    public async Task Entering_a_step_beyond_the_approval_percentage_waits_for_a_second_person()
    {
        using var factory = new ShowrunnerFactory(new() { ["Showrunner:Approvals:Enabled"] = "true", ["Showrunner:Approvals:ActivationPercent"] = "20" });
        var admin = await factory.ReadyClientAsync();
        using var alice = TestPrincipals.As(factory, "rita", Server.Security.Role.Operator);
        using var bob = TestPrincipals.As(factory, "rob", Server.Security.Role.Approver);
        string baseline = await PublishAsync(admin, Source(10));
        var activation = await Ok(await alice.PostAsync(U($"/v1/releases/{baseline}/activate"), null), HttpStatusCode.Accepted);
        await Ok(await bob.PostAsync(U($"/v1/approvals/{(long)activation["approval"]!["id"]!}/approve"), Json("{}")), HttpStatusCode.OK);
        string candidate = await PublishAsync(admin, Source(10, title: "Hunt v2"));

        // The first step exposes 10 %, under the configured 20 %: it starts at once.
        await Ok(await alice.PostAsync(U("/v1/rollout"), Json(StartBody(candidate, """{"steps":[{"percent":10},{"percent":100}],"auto_advance":false}"""))),
            HttpStatusCode.Created);
        // Entering 100 % waits for a second person.
        var pending = await Ok(await alice.PostAsync(U("/v1/rollout/advance"), Json("""{"reason":"widen"}""")), HttpStatusCode.Accepted);
        Assert.Equal(("rollout.step", "pending"), ((string?)pending["approval"]!["kind"], (string?)pending["approval"]!["status"]));
        long id = (long)pending["approval"]!["id"]!;
        Assert.Equal(0, (int)(await RolloutAsync(admin))["step"]!["index"]!);
        await ActionsApiTests.ProblemOf(await alice.PostAsync(U($"/v1/approvals/{id}/approve"), Json("{}")), HttpStatusCode.Forbidden, "forbidden");
        var approved = await Ok(await bob.PostAsync(U($"/v1/approvals/{id}/approve"), Json("""{"reason":"plan reviewed"}""")));
        Assert.Equal("executed", (string?)approved["approval"]!["status"]);
        var rollout = await RolloutAsync(admin);
        Assert.Equal(("running", 1), ((string?)rollout["state"], (int)rollout["step"]!["index"]!));
        var step = rollout["history"]!.AsArray().Last()!;
        Assert.Equal(("step", TestPrincipals.Actor("rita")), ((string?)step["kind"], (string?)step["actor"]));
        Assert.Contains(TestPrincipals.Actor("rob"), (string?)step["reason"], StringComparison.Ordinal);
        // Completing the last step (already at 100 %) needs nothing more.
        Assert.Equal("completed", (string?)(await Ok(await alice.PostAsync(U("/v1/rollout/advance"), null)))["result"]);
        var entries = factory.Store.Audit.Query(new Storage.Audit.AuditQuery(100, AfterSeq: 0));
        Assert.Contains(entries, e => e.Action == "approval.approve" && e.Actor == TestPrincipals.Actor("rob"));
        Assert.Equal(["rollout.start", "rollout.step", "rollout.complete"], entries.Where(e => e.Action.StartsWith("rollout.", StringComparison.Ordinal)).Select(e => e.Action));
    }
}
