using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Showrunner.Core.Rules.Bundle;
using Showrunner.Runtime.LiveEvents;
using Showrunner.Server.Demo;
using Xunit.Abstractions;

namespace Showrunner.Server.Tests.Demo;

/// <summary>
/// Demo mode's parts: the seeded player simulator (same seed, same stream; realistic and valid
/// actions of the example release, accepted by its schemas through the real API), the pacer
/// (never above its rate, no catch-up burst), and the demo releases (live now, a compatible candidate).
/// </summary>
[Trait("Category", "Component")]
public sealed class DemoTests(ITestOutputHelper output)
{
    private static readonly string[] Types = [PlayerSimulator.ProfileType, PlayerSimulator.KillType, PlayerSimulator.LootType];

    [Fact]
    public void The_same_seed_gives_the_same_players_and_the_same_actions_and_another_seed_does_not()
    {
        var a = new PlayerSimulator(20261202, 500, "demo-x").Next(5_000);
        var b = new PlayerSimulator(20261202, 500, "demo-x").Next(5_000);
        var c = new PlayerSimulator(20261203, 500, "demo-x").Next(5_000);
        Assert.Equal(a, b);
        Assert.NotEqual(a.Select(x => (x.Player, x.Type, x.DataJson)), c.Select(x => (x.Player, x.Type, x.DataJson)));
        Assert.Equal(new PlayerSimulator(1, 500, "p").Players, new PlayerSimulator(1, 500, "p").Players);
        // Ids are the prefix and a running number: unique, and a new prefix (a new start) never repeats an old id.
        Assert.Equal(a.Count, a.Select(x => x.Id).Distinct().Count());
        Assert.Equal("demo-x-1", a[0].Id);
        Assert.Equal("demo-x-5000", a[^1].Id);
    }

    [Fact]
    public void Every_player_sends_its_profile_first_and_the_mix_is_the_example_releases_actions()
    {
        var simulator = new PlayerSimulator(7, 2_000, "demo-mix");
        var actions = simulator.Next(40_000);
        var seen = new HashSet<string>();
        foreach (var action in actions)
        {
            Assert.Contains(action.Type, Types);
            var data = JsonNode.Parse(action.DataJson)!.AsObject();
            if (seen.Add(action.Player))
            {
                Assert.Equal(PlayerSimulator.ProfileType, action.Type);
                Assert.Equal(["language", "level", "platform", "region"], data.Select(p => p.Key).Order());
            }
            switch (action.Type)
            {
                case PlayerSimulator.KillType:
                    Assert.Contains((string)data["target"]!, new[] { "dragon", "goblin", "wolf", "troll", "wyvern" });
                    Assert.Contains((string)data["zone"]!, new[] { "crystal_caves", "ember_peaks", "sunken_grotto" });
                    break;
                case PlayerSimulator.LootType:
                    Assert.InRange((int)data["chest_tier"]!, 1, 5);
                    break;
                default:
                    Assert.InRange((int)data["level"]!, 1, 60);
                    break;
            }
        }
        var byType = actions.GroupBy(a => a.Type).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine(string.Join(", ", byType.Select(t => $"{t.Key} {t.Value}")));
        Assert.InRange(byType[PlayerSimulator.KillType], 20_000, 30_000);
        Assert.InRange(byType[PlayerSimulator.LootType], 8_000, 14_000);
        // A few players play a lot (that is what makes a leaderboard): the busiest 1 % send over a tenth of the actions.
        var perPlayer = actions.GroupBy(a => a.Player).Select(g => g.Count()).OrderDescending().ToList();
        Assert.True(perPlayer.Take(20).Sum() > actions.Count / 10, $"the busiest 20 players sent {perPlayer.Take(20).Sum()} of {actions.Count}");
        // The event's audience (level ≥ 10, eu or na) is a real subset of the population.
        int audience = simulator.Players.Count(p => p.Level >= 10 && p.Region is "eu" or "na");
        Assert.InRange(audience, simulator.Players.Count / 3, simulator.Players.Count * 3 / 4);
    }

    [Fact]
    public async Task Its_actions_are_accepted_by_the_example_release_through_the_API_and_the_demo_release_scores_them()
    {
        using var factory = new ShowrunnerFactory(new() { ["Showrunner:LoadExample"] = "true" });
        var client = await factory.ReadyClientAsync();
        var simulator = new PlayerSimulator(7, 300, "demo-schema");
        await SendAsync(client, simulator, 2_000);

        // The demo's live copy of the example: same schemas, an event running now, so the same stream scores.
        var live = DemoRelease.Live();
        var content = new ByteArrayContent(live.CanonicalBytes);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/plain");
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsync(new Uri("/v1/releases", UriKind.Relative), content)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(new Uri($"/v1/releases/{live.Id}/activate", UriKind.Relative), null)).StatusCode);
        await factory.Services.GetRequiredService<LifecycleCoordinator>().TickAsync();
        await SendAsync(client, simulator, 3_000);
        var board = JsonNode.Parse(await client.GetStringAsync(new Uri("/v1/events/crystal_caves_hunt/leaderboard", UriKind.Relative)))!;
        Assert.Equal("active", (string?)board["phase"]);
        Assert.Equal(10, board["entries"]!.AsArray().Count);
        Assert.True((long)board["entries"]![0]!["points"]! > 0);
    }

    private static async Task SendAsync(HttpClient client, PlayerSimulator simulator, int count)
    {
        string at = Core.Actions.Rfc3339.Format(ShowrunnerFactory.Now.UtcTicks);
        for (int sent = 0; sent < count; sent += 500)
        {
            using var body = new ByteArrayContent(PlayerSimulator.BatchJson(simulator.Next(500), at));
            body.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            var response = await client.PostAsync(new Uri("/v1/actions", UriKind.Relative), body);
            string text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, text);
            var results = JsonNode.Parse(text)!["results"]!.AsArray();
            Assert.Equal(500, results.Count);
            Assert.All(results, r => Assert.True((string?)r!["status"] == "accepted", r!.ToJsonString()));
        }
    }

    [Fact]
    public void The_pacer_never_hands_out_more_than_its_rate_and_keeps_at_most_one_second_of_backlog()
    {
        var pacer = new DemoPacer(100);
        Assert.Equal(0, pacer.Take(TimeSpan.Zero, 1_000));
        Assert.Equal(50, pacer.Take(TimeSpan.FromSeconds(0.5), 1_000));
        Assert.Equal(0, pacer.Take(TimeSpan.FromSeconds(0.5), 1_000));
        Assert.Equal(10, pacer.Take(TimeSpan.FromSeconds(1), 10));
        Assert.Equal(40, pacer.Take(TimeSpan.FromSeconds(1), 1_000));
        // A ten-second stall: only one second's worth goes out at once, not nine seconds of backlog.
        Assert.Equal(100, pacer.Take(TimeSpan.FromSeconds(11), 1_000));
        Assert.Equal(0, pacer.Take(TimeSpan.FromSeconds(11), 1_000));

        // Over any schedule of calls: handed out ≤ rate × elapsed, and within one batch of it when called often.
        var random = new Random(20261202);
        var steady = new DemoPacer(1_000);
        double elapsed = 0;
        for (int i = 0; i < 10_000; i++)
        {
            elapsed += random.NextDouble() * 0.02;
            steady.Take(TimeSpan.FromSeconds(elapsed), 100);
            Assert.True(steady.HandedOut <= 1_000 * elapsed, $"{steady.HandedOut} handed out after {elapsed:F3} s at 1,000/s");
            Assert.True(steady.HandedOut >= (1_000 * elapsed) - 100, $"only {steady.HandedOut} after {elapsed:F3} s");
        }
    }

    [Fact]
    public void The_demo_release_runs_every_week_and_its_candidate_is_a_compatible_tuning()
    {
        var live = DemoRelease.Live();
        Assert.Equal(DemoRelease.Name, live.Release.Name);
        var hunt = Assert.Single(live.Release.Events);
        Assert.Equal(("crystal_caves_hunt", DateTimeOffset.Parse(DemoRelease.Anchor, System.Globalization.CultureInfo.InvariantCulture)),
            (hunt.Id, hunt.Schedule.Start));
        Assert.Equal((TimeSpan.FromDays(7), (TimeSpan?)TimeSpan.FromDays(7), TimeSpan.FromHours(48)), (hunt.Schedule.Duration, hunt.Schedule.Every, hunt.Schedule.Grace));
        // Whenever the demo starts, a run is in progress: one started within the last week and ends within the next.
        foreach (var now in new[] { ShowrunnerFactory.Now, new DateTimeOffset(2027, 3, 14, 23, 59, 0, TimeSpan.Zero), new DateTimeOffset(2026, 12, 7, 0, 0, 0, TimeSpan.Zero) })
        {
            long run = Core.LiveEvents.EventRuns.LastStarted(hunt.Schedule, now);
            var times = Core.LiveEvents.EventRuns.Run(hunt.Schedule, run)!.Value;
            Assert.True(times.Start <= now && now < times.End, $"no run in progress at {now:O}");
        }
        // The same bundle every time (a restart keeps it), with the example's schemas and rules.
        Assert.Equal(live.Id, DemoRelease.Live().Id);
        var example = Hosting.ExampleRelease.Build();
        Assert.Equal(example.Release.Actions.Select(a => a.Type), live.Release.Actions.Select(a => a.Type));
        Assert.Equal(example.Release.Events[0].Objectives.Count, hunt.Objectives.Count);
        Assert.Equal(example.Release.Events[0].Tiers.Count, hunt.Tiers.Count);

        var candidate = DemoRelease.Candidate();
        Assert.Equal(DemoRelease.CandidateName, candidate.Release.Name);
        Assert.Empty(ReleaseCompatibility.Check(live, candidate, ShowrunnerFactory.Now));
        Assert.NotEqual(live.Id, candidate.Id);
        Assert.Equal(hunt.Schedule, candidate.Release.Events[0].Schedule);
    }
}
