using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Showrunner.Core.Rules.Bundle;
using Showrunner.Core.Rules.Syntax;
using Showrunner.Runtime.LiveEvents;
using Showrunner.Server.Security;

namespace Showrunner.Server.Tests.Golden;

/// <summary>
/// The bytes of every rollout and flag answer (view, start, advance, rollback, completion, their
/// problems, the approvals of a start and of a step, kill switches) as the server wrote them before
/// the contracts moved to records. No actions are sent, so every gate value is the repeatable
/// "not enough data" one.
/// </summary>
[Trait("Category", "Component")]
public sealed class RolloutGoldenTests
{
    private static string Source(int gems, string title = "Hunt") => $$"""
        release "golden-rollout" {}
        currency "gems" {}
        action "combat.kill" { target = string }
        config "shop" {
          discount = 0
        }
        safety_bounds { max_currency_per_grant = { gems = 5000 } }
        event "hunt" {
          title = "{{title}}"
          schedule {
            start    = "2026-11-22T00:00:00Z"
            duration = "1d"
          }
          objective "kills" {
            on     = "combat.kill"
            points = 5
          }
          tier "first" {
            at     = 5
            reward = { gems = {{gems}} }
          }
          config_override "shop" {
            discount = 30
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

    private static async Task<(HttpClient Client, string Baseline, string Candidate)> ActiveAsync(ShowrunnerFactory factory)
    {
        var client = await factory.ReadyClientAsync();
        string baseline = await PublishAsync(client, Source(10));
        var activated = await client.PostAsync(U($"/v1/releases/{baseline}/activate"), null);
        Assert.True(activated.IsSuccessStatusCode, await activated.Content.ReadAsStringAsync());
        await factory.Services.GetRequiredService<LifecycleCoordinator>().TickAsync();
        factory.Clock.Advance(TimeSpan.FromSeconds(2.25));
        string candidate = await PublishAsync(client, Source(10, "Hunt «v2»"));
        return (client, baseline, candidate);
    }

    /// <summary>One rollout tick now (the background timer's work), so a "hold" lands at a fixed point of the test.</summary>
    private static Task TickAsync(ShowrunnerFactory factory) => factory.Services.GetRequiredService<Runtime.Rollouts.RolloutController>().TickAsync();

    private static string Start(string candidate, string plan, string extra = "") =>
        $$"""{"candidate":"{{candidate}}","salt":"golden","reason":"try <it>"{{extra}},"plan":{{plan}}}""";

    [Fact]
    public async Task Rollout_answers_keep_their_bytes()
    {
        using var factory = new ShowrunnerFactory();
        var (client, baseline, candidate) = await ActiveAsync(factory);
        var golden = new GoldenBodies("rollouts").Substitute(GoldenBodies.ActorOf(factory.AdminKey), "key:admin0000000");

        await golden.AssertAsync(await client.GetAsync(U("/v1/rollout")), HttpStatusCode.OK, "view-none");
        await golden.AssertAsync(await client.PostAsync(U("/v1/rollout/advance"), null), HttpStatusCode.Conflict, "advance-not-running");
        await golden.AssertAsync(await client.PostAsync(U("/v1/rollout"), Json(Start(candidate, """{"steps":[{"percent":150}]}"""))), HttpStatusCode.BadRequest,
            "start-plan-invalid");
        await golden.AssertAsync(await client.PostAsync(U("/v1/rollout"), Json(Start(candidate, """{"steps":[{"percent":100}],"audience":"player.nope == 1"}"""))),
            HttpStatusCode.BadRequest, "start-audience-invalid");
        await golden.AssertAsync(await client.PostAsync(U("/v1/rollout"), Json(Start(baseline, """{"steps":[{"percent":100}]}"""))), HttpStatusCode.Conflict,
            "start-same-release");
        await golden.AssertAsync(await client.PostAsync(U("/v1/rollout"), Json(Start(new string('a', 64), """{"steps":[{"percent":100}]}"""))), HttpStatusCode.NotFound,
            "start-release-not-found");
        await golden.AssertAsync(await client.PostAsync(U("/v1/rollout"), Json("""{"candidate":"x"}""")), HttpStatusCode.BadRequest, "start-bad-candidate");
        await golden.AssertAsync(await client.PostAsync(U("/v1/rollout"), Json("""{"nope":1}""")), HttpStatusCode.BadRequest, "start-unknown-member");
        await golden.AssertAsync(await client.PostAsync(U("/v1/rollout"), Json("""{}""")), HttpStatusCode.BadRequest, "start-no-candidate");
        await golden.AssertAsync(await client.PostAsync(U("/v1/rollout"), Json("""[1]""")), HttpStatusCode.BadRequest, "start-not-object");
        await golden.AssertAsync(await client.PostAsync(U("/v1/rollout"), Json("""{"candidate":""")), HttpStatusCode.BadRequest, "start-bad-json");
        await golden.AssertAsync(await client.PostAsync(U("/v1/rollout"), Json(Start(candidate, """{"steps":[{"percent":100}]}""", ",\"expected_version\":7"))),
            HttpStatusCode.Conflict, "start-version-conflict");

        await golden.AssertAsync(await client.PostAsync(U("/v1/rollout"), Json(Start(candidate,
                """{"steps":[{"mode":"shadow","percent":100,"min_soak_seconds":60},{"percent":12.5,"min_soak_seconds":90},{"percent":100}],"auto_advance":false,"on_rollback":"keep","gates":{"min_actions":100000,"false_positive_rate":0.0125}}""",
                ",\"expected_version\":1"))),
            HttpStatusCode.Created, "start");
        await golden.AssertAsync(await client.PostAsync(U("/v1/rollout"), Json(Start(candidate, """{"steps":[{"percent":100}]}"""))), HttpStatusCode.Conflict,
            "start-in-progress");
        await golden.AssertAsync(await client.PostAsync(U($"/v1/releases/{candidate}/activate"), null), HttpStatusCode.Conflict, "activate-during-rollout");
        factory.Clock.Advance(TimeSpan.FromSeconds(20.5));
        await golden.AssertAsync(await client.GetAsync(U("/v1/rollout")), HttpStatusCode.OK, "view-running");
        await golden.AssertAsync(await client.PostAsync(U("/v1/rollout/advance"), null), HttpStatusCode.Conflict, "advance-soak");
        await golden.AssertAsync(await client.PostAsync(U("/v1/rollout/advance"), Json("""{"nope":1}""")), HttpStatusCode.BadRequest, "advance-bad-body");
        factory.Clock.Advance(TimeSpan.FromSeconds(41));
        // The soak is over: the tick records its "hold" now rather than whenever the background timer runs.
        await TickAsync(factory);
        await golden.AssertAsync(await client.PostAsync(U("/v1/rollout/advance"), Json("""{"reason":"looks «fine»"}""")), HttpStatusCode.OK, "advance");
        factory.Clock.Advance(TimeSpan.FromSeconds(5));
        await golden.AssertAsync(await client.PostAsync(U("/v1/rollout/rollback"), Json("""{"reason":null}""")), HttpStatusCode.OK, "rollback");
        await golden.AssertAsync(await client.GetAsync(U("/v1/rollout")), HttpStatusCode.OK, "view-rolled-back");
        await golden.AssertAsync(await client.PostAsync(U("/v1/rollout/rollback"), null), HttpStatusCode.Conflict, "rollback-not-running");

        await golden.AssertAsync(await client.PostAsync(U("/v1/rollout"), Json(Start(candidate, """{"steps":[{"percent":100,"min_soak_seconds":0}],"auto_advance":false}"""))),
            HttpStatusCode.Created, "start-single-step");
        await TickAsync(factory);
        await golden.AssertAsync(await client.PostAsync(U("/v1/rollout/advance"), null), HttpStatusCode.OK, "advance-completed");
        await golden.AssertAsync(await client.GetAsync(U("/v1/rollout")), HttpStatusCode.OK, "view-completed");
        await golden.AuditAsync(client, "audit");
    }

    [Fact]
    public async Task Rollout_approvals_keep_their_bytes()
    {
        using var factory = new ShowrunnerFactory(new() { ["Showrunner:Approvals:Enabled"] = "true", ["Showrunner:Approvals:ActivationPercent"] = "50" });
        var approver = TestPrincipals.As(factory, "golden-rollout-approver", Role.Approver);
        var admin = factory.CreateClient();
        var client = await factory.ReadyClientAsync();
        string baseline = await PublishAsync(client, Source(10));
        await client.PostAsync(U($"/v1/releases/{baseline}/activate"), null);
        await approver.PostAsync(U("/v1/approvals/1/approve"), null);
        string candidate = await PublishAsync(client, Source(10, "Hunt v2"));
        var golden = new GoldenBodies("rollouts")
            .Substitute(GoldenBodies.ActorOf(factory.AdminKey), "key:admin0000000")
            .Substitute(TestPrincipals.Actor("golden-rollout-approver")["key:".Length..], "approver0000");

        await golden.AssertAsync(await admin.PostAsync(U("/v1/rollout"), Json(Start(candidate, """{"steps":[{"percent":100}],"auto_advance":false}"""))),
            HttpStatusCode.Accepted, "start-approval-requested");
        await golden.AssertAsync(await approver.PostAsync(U("/v1/approvals/2/reject"), Json("""{"reason":"not now"}""")), HttpStatusCode.OK, "start-approval-rejected");

        await golden.AssertAsync(await admin.PostAsync(U("/v1/rollout"), Json(Start(candidate,
            """{"steps":[{"percent":10,"min_soak_seconds":0},{"percent":100,"min_soak_seconds":3600}],"auto_advance":false}"""))), HttpStatusCode.Created,
            "start-below-threshold");
        await TickAsync(factory);
        await golden.AssertAsync(await admin.PostAsync(U("/v1/rollout/advance"), Json("""{"reason":"go"}""")), HttpStatusCode.Accepted, "step-approval-requested");
        await golden.AssertAsync(await approver.PostAsync(U("/v1/approvals/3/approve"), null), HttpStatusCode.OK, "step-approved");
        await golden.AssertAsync(await admin.GetAsync(U("/v1/approvals/3")), HttpStatusCode.OK, "step-approval-executed");

        await golden.AssertAsync(await admin.PostAsync(U("/v1/rollout"), Json(Start(candidate, """{"steps":[{"percent":100}],"auto_advance":false}"""))),
            HttpStatusCode.Accepted, "start-during-rollout-approval-requested");
        await golden.AssertAsync(await admin.GetAsync(U("/v1/rollout")), HttpStatusCode.OK, "view-after-approved-step");
        await golden.AuditAsync(admin, "audit-approvals");
    }

    [Fact]
    public async Task Flag_answers_keep_their_bytes()
    {
        using var factory = new ShowrunnerFactory();
        var (client, _, _) = await ActiveAsync(factory);
        var golden = new GoldenBodies("flags").Substitute(GoldenBodies.ActorOf(factory.AdminKey), "key:admin0000000");

        await golden.AssertAsync(await client.GetAsync(U("/v1/flags")), HttpStatusCode.OK, "list-empty");
        await golden.AssertAsync(await client.PutAsync(U("/v1/flags/events/hunt"), Json("""{"enabled":false,"reason":"exploit «found»"}""")), HttpStatusCode.OK,
            "set-event-off");
        factory.Clock.Advance(TimeSpan.FromSeconds(0.25));
        await golden.AssertAsync(await client.PutAsync(U("/v1/flags/configs/shop"), Json("""{"enabled":false}""")), HttpStatusCode.OK, "set-config-off");
        await golden.AssertAsync(await client.PutAsync(U("/v1/flags/events/hunt"), Json("""{"enabled":true,"reason":"fixed"}""")), HttpStatusCode.OK, "set-event-on");
        await golden.AssertAsync(await client.GetAsync(U("/v1/flags")), HttpStatusCode.OK, "list");
        await golden.AssertAsync(await client.GetAsync(U("/v1/config")), HttpStatusCode.OK, "config-with-killed-config");
        await golden.AssertAsync(await client.PutAsync(U("/v1/flags/events/" + new string('n', 140)), Json("""{"enabled":false}""")), HttpStatusCode.NotFound, "set-unknown");
        await golden.AssertAsync(await client.PutAsync(U("/v1/flags/events/hunt"), Json("""{"enabled":"no"}""")), HttpStatusCode.BadRequest, "set-bad-member");
        await golden.AssertAsync(await client.PutAsync(U("/v1/flags/events/hunt"), Json("""{"reason":"x"}""")), HttpStatusCode.BadRequest, "set-no-enabled");
        await golden.AssertAsync(await client.PutAsync(U("/v1/flags/events/hunt"), Json("""[true]""")), HttpStatusCode.BadRequest, "set-not-object");
        await golden.AssertAsync(await client.PutAsync(U("/v1/flags/events/hunt"), Json("""{"enabled":""")), HttpStatusCode.BadRequest, "set-bad-json");
        await golden.AssertAsync(await client.PutAsync(U("/v1/flags/events/hunt"), new StringContent("x", Encoding.UTF8, "text/plain")), HttpStatusCode.UnsupportedMediaType,
            "set-media-type");
        await golden.AuditAsync(client, "audit");
    }
}
