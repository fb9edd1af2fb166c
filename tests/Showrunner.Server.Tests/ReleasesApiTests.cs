using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Showrunner.Core.Actions;
using Showrunner.Core.Rules.Bundle;
using Showrunner.Core.Rules.Syntax;
using Showrunner.Testing;

namespace Showrunner.Server.Tests;

/// <summary>Publishing, activation, rollback and remote config over HTTP.</summary>
[Trait("Category", "Component")]
public sealed class ReleasesApiTests
{
    private const string At = "2026-11-22T11:59:00Z";

    /// <summary>A release with a live event (started 2026-11-21) that overrides the "shop" config for level 10+.</summary>
    private static ReleaseBundle Bundle(string tag, string points = "1")
    {
        string source = ReleaseFixtures.Source("black-friday-shop-tagged", ("tag", tag), ("points", points));
        var (bundle, diagnostics) = ReleaseBundle.Build([new SourceText("shop.hcl", source)]);
        Assert.True(bundle is not null, string.Join("\n", diagnostics.Select(d => d.Format())));
        return bundle;
    }

    private static ByteArrayContent BundleContent(ReleaseBundle bundle) => BundleContent(bundle.CanonicalBytes);

    private static ByteArrayContent BundleContent(byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
        return content;
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonNode> Ok(HttpResponseMessage response, HttpStatusCode status = HttpStatusCode.OK)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"{response.StatusCode}: {body}");
        return JsonNode.Parse(body)!;
    }

    private static async Task<string> PublishAsync(HttpClient client, ReleaseBundle bundle)
    {
        var response = await client.PostAsync(new Uri($"/v1/releases?id={bundle.Id}", UriKind.Relative), BundleContent(bundle));
        Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, response.StatusCode.ToString());
        return bundle.Id;
    }

    private static Task<HttpResponseMessage> ActivateAsync(HttpClient client, string id, string body = "{}") =>
        client.PostAsync(new Uri($"/v1/releases/{id}/activate", UriKind.Relative), Json(body));

    [Fact]
    public async Task A_new_data_directory_starts_with_the_example_release_active()
    {
        using var factory = new ShowrunnerFactory(new() { ["Showrunner:LoadExample"] = "true" });
        var client = await factory.ReadyClientAsync();
        var active = await Ok(await client.GetAsync(new Uri("/v1/releases/active", UriKind.Relative)));
        Assert.Equal(1, (int)active["version"]!);
        Assert.Equal("example", (string?)active["kind"]);
        Assert.Null(active["rollback_to"]);
        string id = (string)active["release"]!["id"]!;
        Assert.Equal("summer-week-1", (string?)active["release"]!["name"]);

        var detail = await Ok(await client.GetAsync(new Uri("/v1/releases/" + id, UriKind.Relative)));
        Assert.Equal("Crystal Caves treasure hunt", (string?)detail["description"]);
        Assert.Equal("crystal_caves_hunt", (string?)detail["events"]![0]!["id"]);
        Assert.Equal("2025-07-31T16:00:00Z", (string?)detail["events"]![0]!["end"]);
        Assert.Equal("string", (string?)detail["actions"]!["combat.kill"]!["zone"]);
        Assert.True((bool)detail["active"]!);

        var bundle = await client.GetByteArrayAsync(new Uri($"/v1/releases/{id}/bundle", UriKind.Relative));
        Assert.Equal(id, Convert.ToHexStringLower(SHA256.HashData(bundle)));

        // The example's schema is in force: a combat.kill without a zone is rejected.
        var results = (await Ok(await client.PostAsync(new Uri("/v1/actions", UriKind.Relative), Json(
            $$$"""{"actions":[{"id":"k1","player":"p","type":"combat.kill","at":"{{{At}}}","data":{"target":"dragon"}}]}"""))))["results"]!;
        Assert.Equal(("rejected", "missing_field", "data.zone"), ((string?)results[0]!["status"], (string?)results[0]!["code"], (string?)results[0]!["field"]));
    }

    [Fact]
    public async Task Publishing_stores_a_checked_bundle_once_and_refuses_bad_ones_with_codes()
    {
        using var factory = new ShowrunnerFactory(new() { ["Showrunner:MaxReleaseBytes"] = "2048" });
        var client = await factory.ReadyClientAsync();
        var bundle = Bundle("a");
        var releases = new Uri("/v1/releases", UriKind.Relative);

        var created = await client.PostAsync(new Uri($"/v1/releases?id={bundle.Id}", UriKind.Relative), BundleContent(bundle));
        var body = await Ok(created, HttpStatusCode.Created);
        Assert.Equal("/v1/releases/" + bundle.Id, created.Headers.Location!.OriginalString);
        Assert.Equal((bundle.Id, "shop-a", bundle.MerkleRoot, true, false),
            ((string?)body["id"], (string?)body["name"], (string?)body["merkle_root"], (bool)body["created"]!, (bool)body["active"]!));
        var again = await Ok(await client.PostAsync(releases, BundleContent(bundle)));
        Assert.False((bool)again["created"]!);

        await ActionsApiTests.ProblemOf(await client.PostAsync(releases, Json("{}")), HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
        var mismatch = await ActionsApiTests.ProblemOf(await client.PostAsync(new Uri($"/v1/releases?id={new string('0', 64)}", UriKind.Relative), BundleContent(Bundle("b"))),
            HttpStatusCode.UnprocessableEntity, "release_hash_mismatch");
        Assert.Equal(Bundle("b").Id, (string?)mismatch["computed_id"]);
        await ActionsApiTests.ProblemOf(await client.PostAsync(new Uri("/v1/releases?id=xyz", UriKind.Relative), BundleContent(bundle)), HttpStatusCode.BadRequest, "invalid_parameter");
        var invalid = await ActionsApiTests.ProblemOf(await client.PostAsync(releases, BundleContent("event \"x\" {\n  title = 5\n}"u8.ToArray())),
            HttpStatusCode.UnprocessableEntity, "release_invalid");
        var diagnostics = invalid["diagnostics"]!.AsArray();
        Assert.NotEmpty(diagnostics);
        Assert.All(diagnostics, d => Assert.True((int)d!["line"]! >= 1));
        var notCanonical = await ActionsApiTests.ProblemOf(await client.PostAsync(releases, BundleContent(Encoding.UTF8.GetBytes("# hi\n" + Bundle("c").CanonicalText))),
            HttpStatusCode.UnprocessableEntity, "release_invalid");
        Assert.Contains(notCanonical["diagnostics"]!.AsArray(), d => (string?)d!["code"] == "bundle.not_canonical");
        await ActionsApiTests.ProblemOf(await client.PostAsync(releases, BundleContent(new byte[3000])), HttpStatusCode.RequestEntityTooLarge, "body_too_large");

        var list = await Ok(await client.GetAsync(releases));
        Assert.Equal([bundle.Id], list["releases"]!.AsArray().Select(r => (string)r!["id"]!));
        await ActionsApiTests.ProblemOf(await client.GetAsync(new Uri("/v1/releases/" + new string('1', 64), UriKind.Relative)), HttpStatusCode.NotFound, "release_not_found");
        await ActionsApiTests.ProblemOf(await client.GetAsync(new Uri("/v1/releases?limit=0", UriKind.Relative)), HttpStatusCode.BadRequest, "invalid_parameter");
    }

    [Fact]
    public async Task Releases_list_in_pages_newest_first()
    {
        using var factory = new ShowrunnerFactory();
        var client = await factory.ReadyClientAsync();
        var ids = new List<string>();
        foreach (string tag in new[] { "a", "b", "c" })
        {
            ids.Add(await PublishAsync(client, Bundle(tag)));
        }
        var first = await Ok(await client.GetAsync(new Uri("/v1/releases?limit=2", UriKind.Relative)));
        Assert.Equal([ids[2], ids[1]], first["releases"]!.AsArray().Select(r => (string)r!["id"]!));
        var second = await Ok(await client.GetAsync(new Uri((string)first["next"]!, UriKind.Relative)));
        Assert.Equal([ids[0]], second["releases"]!.AsArray().Select(r => (string)r!["id"]!));
        Assert.Null(second["next"]);
    }

    [Fact]
    public async Task Activation_is_compare_and_set_and_rollback_returns_to_the_previous_release()
    {
        using var factory = new ShowrunnerFactory();
        var client = await factory.ReadyClientAsync();
        var empty = await Ok(await client.GetAsync(new Uri("/v1/releases/active", UriKind.Relative)));
        Assert.Equal(0, (int)empty["version"]!);
        Assert.Null(empty["release"]);
        await ActionsApiTests.ProblemOf(await client.PostAsync(new Uri("/v1/releases/rollback", UriKind.Relative), null), HttpStatusCode.Conflict, "nothing_to_roll_back");

        string a = await PublishAsync(client, Bundle("a"));
        string b = await PublishAsync(client, Bundle("b"));
        await ActionsApiTests.ProblemOf(await ActivateAsync(client, new string('2', 64)), HttpStatusCode.NotFound, "release_not_found");
        var first = await Ok(await ActivateAsync(client, a, """{"expected_version":0,"reason":"launch"}"""));
        Assert.Equal((1, true, "activate", "launch"), ((int)first["version"]!, (bool)first["changed"]!, (string?)first["kind"], (string?)first["reason"]));

        var stale = await ActionsApiTests.ProblemOf(await ActivateAsync(client, b, """{"expected_version":0}"""), HttpStatusCode.Conflict, "version_conflict");
        Assert.Equal(1, (int)stale["current_version"]!);
        var same = await Ok(await ActivateAsync(client, a, """{"expected_version":1}"""));
        Assert.False((bool)same["changed"]!);

        // b changes what the live event pays: refused, with the reason per event.
        var incompatible = await ActionsApiTests.ProblemOf(await ActivateAsync(client, await PublishAsync(client, Bundle("c", points: "50"))),
            HttpStatusCode.UnprocessableEntity, "release_incompatible");
        Assert.Equal(("compat.earnings_changed", "black_friday"), ((string?)incompatible["problems"]![0]!["code"], (string?)incompatible["problems"]![0]!["event"]));

        var second = await Ok(await client.PostAsync(new Uri($"/v1/releases/{b}/activate", UriKind.Relative), null));
        Assert.Equal((2, a), ((int)second["version"]!, (string?)second["rollback_to"]));
        var back = await Ok(await client.PostAsync(new Uri("/v1/releases/rollback", UriKind.Relative), Json("""{"expected_version":2,"reason":"bad numbers"}""")));
        Assert.Equal((3, a, "rollback", "bad numbers"), ((int)back["version"]!, (string?)back["release"]!["id"], (string?)back["kind"], (string?)back["reason"]));
        var active = await Ok(await client.GetAsync(new Uri("/v1/releases/active", UriKind.Relative)));
        Assert.Equal(a, (string?)active["release"]!["id"]);

        await ActionsApiTests.ProblemOf(await ActivateAsync(client, b, """{"expected_version":"3"}"""), HttpStatusCode.BadRequest, "invalid_parameter");
        await ActionsApiTests.ProblemOf(await ActivateAsync(client, b, "[1"), HttpStatusCode.BadRequest, "invalid_json");
        await ActionsApiTests.ProblemOf(await ActivateAsync(client, b, $$"""{"reason":"{{new string('x', 501)}}"}"""), HttpStatusCode.BadRequest, "invalid_parameter");
        await ActionsApiTests.ProblemOf(await client.PostAsync(new Uri($"/v1/releases/{b}/activate", UriKind.Relative), new StringContent("x", Encoding.UTF8, "text/plain")),
            HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
        Assert.Equal(3, (int)(await Ok(await client.GetAsync(new Uri("/v1/releases/active", UriKind.Relative))))["version"]!);
    }

    [Fact]
    public async Task Every_stored_action_names_the_release_that_checked_it()
    {
        using var factory = new ShowrunnerFactory();
        var client = await factory.ReadyClientAsync();
        var actions = new Uri("/v1/actions", UriKind.Relative);
        await Ok(await client.PostAsync(actions, Json($$$"""{"actions":[{"id":"before","player":"p","type":"shop.buy","at":"{{{At}}}","data":{}}]}""")));
        string a = await PublishAsync(client, Bundle("a"));
        await Ok(await ActivateAsync(client, a));
        var results = (await Ok(await client.PostAsync(actions, Json($$$"""
            {"actions":[
              {"id":"after","player":"p","type":"shop.buy","at":"{{{At}}}","data":{"price":3}},
              {"id":"wrong","player":"p","type":"shop.buy","at":"{{{At}}}","data":{"price":3,"coupon":false}}
            ]}
            """))))["results"]!;
        Assert.Equal("accepted", (string?)results[0]!["status"]);
        Assert.Equal((RejectionCodes.InvalidFieldType, "data.coupon"), ((string?)results[1]!["code"], (string?)results[1]!["field"]));
        Assert.Null((await Ok(await client.GetAsync(new Uri("/v1/actions/before", UriKind.Relative))))["release"]);
        Assert.Equal(a, (string?)(await Ok(await client.GetAsync(new Uri("/v1/actions/after", UriKind.Relative))))["release"]);
    }

    [Fact]
    public async Task Config_applies_running_event_overrides_to_players_in_the_audience()
    {
        using var factory = new ShowrunnerFactory();
        var client = await factory.ReadyClientAsync();
        await ActionsApiTests.ProblemOf(await client.GetAsync(new Uri("/v1/config?player=p", UriKind.Relative)), HttpStatusCode.NotFound, "no_active_release");
        string a = await PublishAsync(client, Bundle("a"));
        await Ok(await ActivateAsync(client, a));
        var profile = (await Ok(await client.PostAsync(new Uri("/v1/actions", UriKind.Relative), Json($$$"""
            {"actions":[
              {"id":"pr1","player":"vip","type":"player.profile","at":"{{{At}}}","data":{"level":12,"region":"eu"}},
              {"id":"pr2","player":"newbie","type":"player.profile","at":"{{{At}}}","data":{"level":3}},
              {"id":"pr3","player":"newbie","type":"player.profile","at":"{{{At}}}","data":{"level":"high"}}
            ]}
            """))))["results"]!;
        Assert.Equal("invalid_field_type", (string?)profile[2]!["code"]);

        var vip = await Ok(await client.GetAsync(new Uri("/v1/config?player=vip", UriKind.Relative)));
        Assert.Equal((a, "vip", true), ((string?)vip["release"], (string?)vip["player"], (bool)vip["profile_found"]!));
        Assert.Equal((30, "black-friday"), ((int)vip["configs"]!["shop"]!["discount"]!, (string?)vip["configs"]!["shop"]!["banner"]));
        var applied = vip["overrides"]![0]!;
        Assert.Equal(("black_friday", "shop", "2026-11-24T00:00:00Z"), ((string?)applied["event"], (string?)applied["config"], (string?)applied["until"]));

        var newbie = await Ok(await client.GetAsync(new Uri("/v1/config?player=newbie", UriKind.Relative)));
        Assert.Equal((0, "none"), ((int)newbie["configs"]!["shop"]!["discount"]!, (string?)newbie["configs"]!["shop"]!["banner"]));
        Assert.Empty(newbie["overrides"]!.AsArray());
        var unknown = await Ok(await client.GetAsync(new Uri("/v1/config?player=stranger", UriKind.Relative)));
        Assert.False((bool)unknown["profile_found"]!);
        Assert.Equal(0, (int)unknown["configs"]!["shop"]!["discount"]!);

        // After the event ends, nobody gets the override.
        factory.Clock.Advance(TimeSpan.FromDays(3));
        var later = await Ok(await client.GetAsync(new Uri("/v1/config?player=vip", UriKind.Relative)));
        Assert.Equal(0, (int)later["configs"]!["shop"]!["discount"]!);
        await ActionsApiTests.ProblemOf(await client.GetAsync(new Uri("/v1/config?player=%01", UriKind.Relative)), HttpStatusCode.BadRequest, "invalid_parameter");
    }
}
