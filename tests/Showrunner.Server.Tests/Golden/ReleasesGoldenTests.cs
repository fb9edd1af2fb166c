using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Showrunner.Core.Rules.Bundle;
using Showrunner.Core.Rules.Syntax;
using Showrunner.Server.Security;

namespace Showrunner.Server.Tests.Golden;

/// <summary>
/// The bytes of every release answer (publish, list, detail, register, activate, rollback, config,
/// the approval of an activation) as the server wrote them before the contracts moved to records:
/// any change of field order, null handling, number or time format fails here.
/// </summary>
[Trait("Category", "Component")]
public sealed class ReleasesGoldenTests
{
    private static readonly string[] Tags = ["a", "b"];

    /// <summary>A release with a one-off event (audience, config override), a recurring one, configs of every value kind, and an optional field.</summary>
    internal static ReleaseBundle Bundle(string tag, string points = "1")
    {
        string source = $$"""
            release "golden-{{tag}}" { description = "golden «{{tag}}» <b>&" }
            currency "gems" {}
            item "egg" {}
            action "shop.buy" {
              price  = int
              coupon = optional(string, "")
            }
            config "shop" {
              discount   = 0
              banner     = "none"
              multiplier = 1.5
              open       = true
            }
            config "zeta" {
              level = 3
            }
            event "black_friday" {
              title = "Black Friday"
              schedule {
                start = "2026-11-21T00:00:00Z"
                end   = "2026-11-24T00:00:00Z"
              }
              audience { when = player.level >= 10 }
              objective "buy" {
                on     = "shop.buy"
                points = {{points}}
              }
              config_override "shop" {
                discount   = 30
                banner     = "black-friday"
                multiplier = 2.25
              }
            }
            event "daily" {
              title = "Daily"
              schedule {
                start    = "2026-01-01T00:00:00Z"
                duration = "23h"
                every    = "24h"
                grace    = "1h"
              }
              objective "buy" {
                on     = "shop.buy"
                points = 1
              }
              config_override "zeta" {
                level = 4
              }
            }
            """;
        var (bundle, diagnostics) = ReleaseBundle.Build([new SourceText("golden.hcl", source)]);
        Assert.True(bundle is not null, string.Join("\n", diagnostics.Select(d => d.Format())));
        return bundle;
    }

    private static Uri U(string path) => new(path, UriKind.Relative);

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static ByteArrayContent Text(byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
        return content;
    }

    [Fact]
    public async Task Release_answers_keep_their_bytes()
    {
        using var factory = new ShowrunnerFactory();
        var client = await factory.ReadyClientAsync();
        var golden = new GoldenBodies("releases").Substitute(GoldenBodies.ActorOf(factory.AdminKey), "key:admin0000000");

        await golden.AssertAsync(await client.GetAsync(U("/v1/releases/active")), HttpStatusCode.OK, "active-none");
        await golden.AssertAsync(await client.GetAsync(U("/v1/releases")), HttpStatusCode.OK, "list-empty");
        await golden.AssertAsync(await client.GetAsync(U("/v1/config")), HttpStatusCode.NotFound, "config-no-active-release");
        await golden.AssertAsync(await client.PostAsync(U("/v1/releases/rollback"), null), HttpStatusCode.Conflict, "rollback-nothing");

        var a = Bundle("a");
        var b = Bundle("b");
        await golden.AssertAsync(await client.PostAsync(U($"/v1/releases?id={a.Id}"), Text(a.CanonicalBytes)), HttpStatusCode.Created, "publish-created");
        await golden.AssertAsync(await client.PostAsync(U("/v1/releases"), Text(a.CanonicalBytes)), HttpStatusCode.OK, "publish-existing");
        await golden.AssertAsync(await client.PostAsync(U("/v1/releases"), Text("event \"x\" {\n  title = 5\n}"u8.ToArray())), HttpStatusCode.UnprocessableEntity,
            "publish-invalid");
        await golden.AssertAsync(await client.PostAsync(U($"/v1/releases?id={new string('0', 64)}"), Text(b.CanonicalBytes)), HttpStatusCode.UnprocessableEntity,
            "publish-hash-mismatch");
        factory.Clock.Advance(TimeSpan.FromSeconds(1.5));
        await golden.AssertAsync(await client.PostAsync(U("/v1/releases"), Text(b.CanonicalBytes)), HttpStatusCode.Created, "publish-created-b");

        await golden.AssertAsync(await client.GetAsync(U("/v1/releases/" + a.Id)), HttpStatusCode.OK, "detail");
        await golden.AssertAsync(await client.GetAsync(U("/v1/releases/" + new string('1', 64))), HttpStatusCode.NotFound, "detail-not-found");
        await golden.AssertAsync(await client.GetAsync(U("/v1/releases/" + new string('1', 64) + "/bundle")), HttpStatusCode.NotFound, "bundle-not-found");

        await golden.AssertAsync(await client.PostAsync(U($"/v1/releases/{a.Id}/activate"), Json("""{"expected_version":0,"reason":"launch «now»"}""")),
            HttpStatusCode.OK, "activate-changed");
        await golden.AssertAsync(await client.PostAsync(U($"/v1/releases/{a.Id}/activate"), null), HttpStatusCode.OK, "activate-unchanged");
        await golden.AssertAsync(await client.PostAsync(U($"/v1/releases/{b.Id}/activate"), Json("""{"expected_version":0}""")), HttpStatusCode.Conflict,
            "activate-version-conflict");
        await golden.AssertAsync(await client.PostAsync(U($"/v1/releases/{new string('2', 64)}/activate"), null), HttpStatusCode.NotFound, "activate-not-found");
        await golden.AssertAsync(await client.PostAsync(U($"/v1/releases/{b.Id}/activate"), Json("""{"expected_version":"3"}""")), HttpStatusCode.BadRequest,
            "activate-bad-version");
        await golden.AssertAsync(await client.PostAsync(U($"/v1/releases/{b.Id}/activate"), Json("[1")), HttpStatusCode.BadRequest, "activate-bad-json");
        var c = Bundle("c", points: "50");
        await client.PostAsync(U("/v1/releases"), Text(c.CanonicalBytes));
        await golden.AssertAsync(await client.PostAsync(U($"/v1/releases/{c.Id}/activate"), null), HttpStatusCode.UnprocessableEntity, "activate-incompatible");

        factory.Clock.Advance(TimeSpan.FromMinutes(1));
        await golden.AssertAsync(await client.PostAsync(U($"/v1/releases/{b.Id}/activate"), Json("""{"expected_version":1,"reason":null}""")), HttpStatusCode.OK,
            "activate-second");
        await golden.AssertAsync(await client.GetAsync(U("/v1/releases/active")), HttpStatusCode.OK, "active-second");
        await golden.AssertAsync(await client.GetAsync(U("/v1/releases?limit=2")), HttpStatusCode.OK, "list-page");
        await golden.AssertAsync(await client.GetAsync(U("/v1/releases")), HttpStatusCode.OK, "list-all");
        await golden.AssertAsync(await client.PostAsync(U("/v1/releases/rollback"), Json("""{"reason":"bad numbers"}""")), HttpStatusCode.OK, "rollback");
        await golden.AssertAsync(await client.GetAsync(U("/v1/releases/active")), HttpStatusCode.OK, "active-after-rollback");

        var profiles = await client.PostAsync(U("/v1/actions"), Json("""
            {"actions":[{"id":"pr1","player":"vip","type":"player.profile","at":"2026-11-22T11:59:00Z","data":{"level":12}}]}
            """));
        Assert.Equal(HttpStatusCode.OK, profiles.StatusCode);
        await golden.AssertAsync(await client.GetAsync(U("/v1/config")), HttpStatusCode.OK, "config-anonymous");
        await golden.AssertAsync(await client.GetAsync(U("/v1/config?player=vip")), HttpStatusCode.OK, "config-vip");
        await golden.AssertAsync(await client.GetAsync(U("/v1/config?player=stranger")), HttpStatusCode.OK, "config-stranger");
        await golden.AuditAsync(client, "audit");
    }

    [Fact]
    public async Task An_activation_waiting_for_approval_and_its_outcome_keep_their_bytes()
    {
        using var factory = new ShowrunnerFactory(new() { ["Showrunner:Approvals:Enabled"] = "true" });
        var client = await factory.ReadyClientAsync();
        var approver = TestPrincipals.As(factory, "golden-release-approver", Role.Approver);
        var golden = new GoldenBodies("releases")
            .Substitute(GoldenBodies.ActorOf(factory.AdminKey), "key:admin0000000")
            .Substitute(TestPrincipals.Actor("golden-release-approver")["key:".Length..], "approver0000");
        var a = Bundle("a");
        await client.PostAsync(U("/v1/releases"), Text(a.CanonicalBytes));

        await golden.AssertAsync(await client.PostAsync(U($"/v1/releases/{a.Id}/activate"), Json("""{"reason":"launch"}""")), HttpStatusCode.Accepted,
            "activate-approval-requested");
        await golden.AssertAsync(await approver.PostAsync(U("/v1/approvals/1/approve"), null), HttpStatusCode.OK, "activate-approved");
        await golden.AssertAsync(await client.GetAsync(U("/v1/approvals/1")), HttpStatusCode.OK, "activate-approval-executed");
        await golden.AuditAsync(client, "audit-approved-activation");
    }
}
