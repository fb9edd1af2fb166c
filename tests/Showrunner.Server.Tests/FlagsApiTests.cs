using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Showrunner.Runtime.LiveEvents;
using Showrunner.Testing;

namespace Showrunner.Server.Tests;

/// <summary>Kill switches over HTTP: in force before the call returns, recorded, and undone by flipping back.</summary>
[Trait("Category", "Component")]
public sealed class FlagsApiTests
{
    private static readonly string Source = ReleaseFixtures.Source("hunt-with-shop-config");

    private static Uri U(string path) => new(path, UriKind.Relative);

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonNode> Ok(HttpResponseMessage response)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode}: {body}");
        return JsonNode.Parse(body)!;
    }

    private static async Task KillAsync(HttpClient client, string id, string player)
    {
        var result = await Ok(await client.PostAsync(U("/v1/actions"),
            Json($$$"""{"actions":[{"id":"{{{id}}}","player":"{{{player}}}","type":"combat.kill","at":"2026-11-22T11:59:00Z","data":{"target":"x"}}]}""")));
        Assert.Equal("accepted", (string?)result["results"]![0]!["status"]);
    }

    private static async Task<int> PointsAsync(HttpClient client, string player) =>
        (int)(await Ok(await client.GetAsync(U($"/v1/players/{player}/events"))))["events"]![0]!["runs"]![0]!["points"]!;

    [Fact]
    public async Task Killing_an_event_stops_its_points_and_grants_at_once_and_enabling_it_resumes()
    {
        using var factory = new ShowrunnerFactory();
        var client = await factory.ReadyClientAsync();
        var (bundle, _) = Core.Rules.Bundle.ReleaseBundle.Build([new Core.Rules.Syntax.SourceText("f.hcl", Source)]);
        var content = new ByteArrayContent(bundle!.CanonicalBytes);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/plain");
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsync(U("/v1/releases"), content)).StatusCode);
        await Ok(await client.PostAsync(U($"/v1/releases/{bundle.Id}/activate"), null));
        await factory.Services.GetRequiredService<LifecycleCoordinator>().TickAsync();

        await KillAsync(client, "k1", "p1");
        Assert.Equal(5, await PointsAsync(client, "p1"));
        Assert.Equal(30, (int)(await Ok(await client.GetAsync(U("/v1/config"))))["configs"]!["shop"]!["discount"]!);

        var killed = await Ok(await client.PutAsync(U("/v1/flags/events/hunt"), Json("""{"enabled":false,"reason":"reward exploit"}""")));
        Assert.Equal((false, "event", "reward exploit"), ((bool)killed["flag"]!["enabled"]!, (string?)killed["flag"]!["kind"], (string?)killed["flag"]!["reason"]));
        factory.Clock.Advance(TimeSpan.FromSeconds(1));
        await KillAsync(client, "k2", "p1");
        Assert.Equal(5, await PointsAsync(client, "p1"));
        var rewards = await Ok(await client.GetAsync(U("/v1/players/p1/rewards")));
        Assert.Single(rewards["rewards"]!.AsArray());
        // A killed event's config overrides stop too.
        Assert.Equal(0, (int)(await Ok(await client.GetAsync(U("/v1/config"))))["configs"]!["shop"]!["discount"]!);
        var list = await Ok(await client.GetAsync(U("/v1/flags")));
        Assert.Equal(["hunt"], list["killed_events"]!.AsArray().Select(n => (string)n!));

        await Ok(await client.PutAsync(U("/v1/flags/events/hunt"), Json("""{"enabled":true}""")));
        factory.Clock.Advance(TimeSpan.FromSeconds(1));
        await KillAsync(client, "k3", "p1");
        Assert.Equal(10, await PointsAsync(client, "p1"));
        Assert.Equal(2, (await Ok(await client.GetAsync(U("/v1/players/p1/rewards"))))["rewards"]!.AsArray().Count);

        // A config kill switch serves the declared values only.
        await Ok(await client.PutAsync(U("/v1/flags/configs/shop"), Json("""{"enabled":false}""")));
        Assert.Equal(0, (int)(await Ok(await client.GetAsync(U("/v1/config"))))["configs"]!["shop"]!["discount"]!);
        Assert.Equal(["shop"], (await Ok(await client.GetAsync(U("/v1/flags"))))["killed_configs"]!.AsArray().Select(n => (string)n!));

        await ActionsApiTests.ProblemOf(await client.PutAsync(U("/v1/flags/events/nope"), Json("""{"enabled":false}""")), HttpStatusCode.NotFound, "flag_target_unknown");
        await ActionsApiTests.ProblemOf(await client.PutAsync(U("/v1/flags/events/hunt"), Json("""{"enabled":"no"}""")), HttpStatusCode.BadRequest, "invalid_parameter");
        await ActionsApiTests.ProblemOf(await client.PutAsync(U("/v1/flags/events/hunt"), Json("""{}""")), HttpStatusCode.BadRequest, "invalid_parameter");
        Assert.Equal(3, factory.Services.GetRequiredService<Storage.IActionStore>().Rollouts.Flags().Count);
    }
}
