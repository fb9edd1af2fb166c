using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Showrunner.Runtime.LiveEvents;
using Showrunner.Testing;

namespace Showrunner.Server.Tests;

/// <summary>Event runs and their lifecycle over HTTP.</summary>
[Trait("Category", "Component")]
public sealed class EventsApiTests
{
    private static async Task<JsonNode> Ok(HttpResponseMessage response)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode}: {body}");
        return JsonNode.Parse(body)!;
    }

    [Fact]
    public async Task Events_of_the_active_release_list_their_runs_with_recorded_phases_and_operators_act_on_runs()
    {
        using var factory = new ShowrunnerFactory(new() { ["Showrunner:LoadExample"] = "true" });
        var client = await factory.ReadyClientAsync();
        await factory.Services.GetRequiredService<LifecycleCoordinator>().TickAsync();

        var list = await Ok(await client.GetAsync(new Uri("/v1/events", UriKind.Relative)));
        var hunt = list["events"]![0]!;
        Assert.Equal(("crystal_caves_hunt", "2025-07-24T16:00:00Z", 1), ((string?)hunt["id"], (string?)hunt["start"], (int)hunt["runs_total"]!));
        var run = hunt["runs"]![0]!;
        // The hunt ended in 2025 and has a leaderboard: nothing is in flight, so on the same tick its
        // (empty) leaderboard is final, its prizes are granted and it is recorded finalized.
        Assert.Equal((0, "finalized", Showrunner.Core.Actions.Rfc3339.Format(factory.Clock.GetUtcNow().UtcTicks)),
            ((int)run["run"]!, (string?)run["phase"], (string?)run["phase_since"]));

        var detail = await Ok(await client.GetAsync(new Uri("/v1/events/crystal_caves_hunt", UriKind.Relative)));
        var steps = detail["runs"]![0]!["transitions"]!.AsArray().Select(t => ((string?)t!["from"], (string?)t["to"], (string?)t["cause"])).ToList();
        Assert.Equal([("scheduled", "active", "schedule"), ("active", "grace", "schedule"), ("grace", "finalizing", "schedule"),
            ("finalizing", "finalized", "finalization")], steps);

        var refused = await ActionsApiTests.ProblemOf(await client.PostAsync(new Uri("/v1/events/crystal_caves_hunt/runs/0/cancel", UriKind.Relative), null),
            HttpStatusCode.Conflict, "run.not_cancellable");
        Assert.Contains("finalizing", (string?)refused["detail"], StringComparison.Ordinal);
        await ActionsApiTests.ProblemOf(await client.PostAsync(new Uri("/v1/events/crystal_caves_hunt/runs/5/pause", UriKind.Relative), null),
            HttpStatusCode.NotFound, "run.unknown");
        await ActionsApiTests.ProblemOf(await client.GetAsync(new Uri("/v1/events/nope", UriKind.Relative)), HttpStatusCode.NotFound, "event_not_found");
        await ActionsApiTests.ProblemOf(await client.PostAsync(new Uri("/v1/events/crystal_caves_hunt/runs/0/explode", UriKind.Relative), null),
            HttpStatusCode.NotFound, "not_found");
        await ActionsApiTests.ProblemOf(await client.GetAsync(new Uri("/v1/events?runs=0", UriKind.Relative)), HttpStatusCode.BadRequest, "invalid_parameter");
    }

    [Fact]
    public async Task A_running_event_can_be_paused_and_resumed()
    {
        using var factory = new ShowrunnerFactory();
        var client = await factory.ReadyClientAsync();
        string source = ReleaseFixtures.Source("weekend-shop-event");
        var (bundle, diagnostics) = Core.Rules.Bundle.ReleaseBundle.Build([new Core.Rules.Syntax.SourceText("live.hcl", source)]);
        Assert.True(bundle is not null, string.Join("\n", diagnostics.Select(d => d.Format())));
        var content = new ByteArrayContent(bundle.CanonicalBytes);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/plain");
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsync(new Uri("/v1/releases", UriKind.Relative), content)).StatusCode);
        await Ok(await client.PostAsync(new Uri($"/v1/releases/{bundle.Id}/activate", UriKind.Relative), null));
        await factory.Services.GetRequiredService<LifecycleCoordinator>().TickAsync();

        var paused = await Ok(await client.PostAsync(new Uri("/v1/events/weekend/runs/0/pause", UriKind.Relative), null));
        Assert.Equal(("weekend", "paused", "2026-11-22T12:00:00Z"), ((string?)paused["event"], (string?)paused["phase"], (string?)paused["phase_since"]));
        var resumed = await Ok(await client.PostAsync(new Uri("/v1/events/weekend/runs/0/resume", UriKind.Relative), null));
        Assert.Equal("active", (string?)resumed["phase"]);
        Assert.Equal(["active", "paused", "active"], resumed["transitions"]!.AsArray().Select(t => (string)t!["to"]!));
        var list = await Ok(await client.GetAsync(new Uri("/v1/events", UriKind.Relative)));
        Assert.Equal("active", (string?)list["events"]![0]!["runs"]![0]!["phase"]);
    }
}
