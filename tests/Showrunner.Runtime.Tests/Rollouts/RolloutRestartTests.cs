using Showrunner.Core.Rollouts;
using Showrunner.Runtime.Releases;
using Showrunner.Runtime.Rollouts;
using Showrunner.Runtime.Tests.LiveEvents;
using Showrunner.Testing;

namespace Showrunner.Runtime.Tests.Rollouts;

/// <summary>A running rollout survives restarts and crashes: same step, same assignments, replay without new grants.</summary>
[Trait("Category", "Component")]
public sealed class RolloutRestartTests
{
    private static string Source(int gems, bool keepEarned) => ReleaseFixtures.Source("rollout-hunt-two-tiers", ("gems", gems), ("keep_earned", keepEarned));

    private static readonly RolloutPlan Plan = new(
        [new RolloutStep(StepMode.Live, 5_000, TimeSpan.FromHours(1)), new RolloutStep(StepMode.Live, 10_000, TimeSpan.Zero)],
        new GateThresholds(MinActions: 1_000_000), AutoAdvance: false, RollbackPolicy.Keep);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_running_rollout_keeps_its_step_and_assignments_across_a_restart(bool crash)
    {
        await using var harness = await LiveHarness.StartAsync(Source(10, keepEarned: false));
        var candidate = LiveHarness.Build(Source(100, keepEarned: true));
        Assert.Equal(PublishStatus.Created, (await harness.Register.PublishAsync(candidate.CanonicalBytes, candidate.Id)).Status);
        Assert.Equal(RolloutStatus.Started, (await harness.Rollouts.StartAsync(candidate.Id, Plan, "salt", null, "key:test", "test")).Status);
        var players = Enumerable.Range(0, 60).Select(i => "p" + i).ToList();
        await harness.SubmitAsync([.. players.Select(p => LiveHarness.Action("a-" + p, p, "combat.kill", """{"target":"x"}"""))]);
        var assigned = players.Where(p => Bucketing.InCohort("salt", p, 5_000)).ToHashSet();
        var before = harness.Entries();
        Assert.Equal(assigned.Count, before.Count(e => e.ReleaseId == candidate.Id));

        if (crash)
        {
            await harness.CrashRestartAsync();
        }
        else
        {
            await harness.RestartAsync();
        }

        var view = harness.Rollouts.View()!;
        Assert.Equal(("running", 0, (long)assigned.Count), (view.State, view.Step, view.Assigned));
        Assert.Equal(before.Select(e => e.GrantId), harness.Entries().Select(e => e.GrantId));
        // Assigned players stay with the candidate; the second tier is paid by the release that evaluates the crossing action.
        await harness.SubmitAsync([.. players.Select(p => LiveHarness.Action("b-" + p, p, "combat.kill", """{"target":"x"}"""))]);
        var after = harness.Entries();
        Assert.All(players, p =>
        {
            var second = after.Single(e => e.Player == p && e.Rule == "tier:second");
            Assert.Equal(assigned.Contains(p) ? (candidate.Id, 200L) : (harness.ReleaseId, 20L), (second.ReleaseId, second.Rewards.Single().Amount));
        });
        Assert.Equal(ChangeStatus.RolloutInProgress, (await harness.Register.ActivateAsync(candidate.Id, null, null)).Status);
    }
}
