using System.Text;
using Showrunner.Core.LiveEvents;
using Showrunner.Core.Partitioning;
using Showrunner.Core.Reconciliation;
using Showrunner.Core.Rules.Bundle;
using Showrunner.Core.Rules.Releases;
using Showrunner.Core.Rules.Syntax;
using Showrunner.Core.Simulation;
using Showrunner.Testing;

namespace Showrunner.Core.Tests.Simulation;

/// <summary>
/// The simulation engine on hand-made logs: what the window is, what the state before it decides,
/// how a candidate with other schemas or objective names sees that state, and when it warns.
/// </summary>
[Trait("Category", "Unit")]
public sealed class LogSimulationTests
{
    private const int Partitions = 3;
    private static readonly DateTimeOffset Day = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly SimulationWindow Window = new(At(10), At(20));
    private static readonly PartitionRouter Router = new(Partitions);

    private static string Source(string objective = "kills", string schema = "int", string gems = "50") => ReleaseFixtures.Source("kills-two-tiers-template", ("schema", schema), ("objective", objective), ("gems", gems));

    private static readonly Lazy<LiveRules> Recorded = new(() => Rules(Source()));

    private static LiveRules Rules(string source)
    {
        var (bundle, diagnostics) = ReleaseBundle.Build([new SourceText("r.hcl", source)]);
        Assert.True(bundle is not null, string.Join("\n", diagnostics.Select(d => d.Format())));
        return LoadedRelease.From(bundle).Live;
    }

    private static long At(int minutes) => (Day + TimeSpan.FromMinutes(minutes)).UtcTicks;

    /// <summary>Runs (player, minutes after midnight) in this log order, sequenced per partition, all under the recorded release (ref 1).</summary>
    private static SimulationResult Simulate(LiveRules candidate, params (string Player, int Minutes)[] actions) => Simulate(candidate, [], actions);

    private static SimulationResult Simulate(LiveRules candidate, IReadOnlyList<EventFlag> flags, params (string Player, int Minutes)[] actions)
    {
        var simulation = new LogSimulation(Partitions, Window, [], flags, [],
            releaseRef => releaseRef == 1 ? Recorded.Value : throw new SimulationException(SimulationException.ReleaseUnknown, "none"), null, candidate);
        var seqs = new long[Partitions];
        for (int i = 0; i < actions.Length; i++)
        {
            var (player, minutes) = actions[i];
            int partition = Router.PartitionOf(player);
            simulation.Apply(new LoggedAction(partition, ++seqs[partition], $"k-{i}", player, "kill", At(minutes), Encoding.UTF8.GetBytes("""{"n":1}"""), 1));
        }
        return simulation.Finish();
    }

    private static EventTally Hunt(SideResult side) => side.Events["hunt"];

    [Fact]
    public void An_action_stamped_before_the_window_but_logged_after_its_start_is_state_for_both_sides_and_counted_for_neither()
    {
        // p: a point before the window; q's first point opens it (the fork); p's second point, stamped
        // before the window but committed after that, crosses bronze (paid before the window); then
        // p's third and fourth points in the window cross silver; q's last action is after the window.
        var result = Simulate(Recorded.Value, ("p", 1), ("q", 11), ("p", 9), ("p", 12), ("p", 13), ("q", 25));
        Assert.Equal((2L, 3L, 1L), (result.ActionsBefore, result.ActionsInWindow, result.ActionsAfter));
        foreach (var side in new[] { result.Baseline, result.Candidate })
        {
            var hunt = Hunt(side);
            Assert.Equal(new SortedDictionary<string, long>(StringComparer.Ordinal) { ["silver"] = 1 }, hunt.Tiers);
            Assert.Equal((3L, 3L, 2), (hunt.ActionsMatched, hunt.Points, hunt.Participants.Count));
            Assert.Equal(new SortedDictionary<string, long>(StringComparer.Ordinal) { ["gems"] = 200 }, hunt.Minted);
        }
    }

    [Fact]
    public void An_event_kill_switch_recorded_in_the_log_blocks_counting_on_both_sides()
    {
        // hunt killed from minute 12 to 14: p's actions at 12 and 13 count for neither side.
        var result = Simulate(Rules(Source(gems: "100")), [new EventFlag("hunt", false, At(12)), new EventFlag("hunt", true, At(14))],
            ("p", 11), ("p", 12), ("p", 13), ("p", 15));
        foreach (var side in new[] { result.Baseline, result.Candidate })
        {
            Assert.Equal((2L, 2L), (Hunt(side).ActionsMatched, Hunt(side).Points));
            Assert.Equal(new SortedDictionary<string, long>(StringComparer.Ordinal) { ["bronze"] = 1 }, Hunt(side).Tiers);
        }
    }

    [Fact]
    public void A_candidate_whose_schema_refuses_the_windows_actions_counts_them_refused_and_nothing_else()
    {
        var result = Simulate(Rules(Source(schema: "string")), ("p", 1), ("p", 11), ("p", 12), ("q", 13));
        Assert.Equal((0L, 3L), (result.Baseline.ActionsRefused, result.Candidate.ActionsRefused));
        Assert.Equal((0L, 0L, 0L), (Hunt(result.Candidate).ActionsMatched, Hunt(result.Candidate).Grants, result.Candidate.ActionsMatched));
        Assert.Equal((3L, 1L), (Hunt(result.Baseline).ActionsMatched, Hunt(result.Baseline).Grants));
    }

    [Fact]
    public void Progress_follows_objective_names_so_points_of_a_renamed_objective_stay_in_the_total()
    {
        // p reaches bronze (2 points) before the window under "kills"; the candidate counts "slays".
        var result = Simulate(Rules(Source(objective: "slays")), ("p", 1), ("p", 2), ("p", 11), ("p", 12));
        foreach (var side in new[] { result.Baseline, result.Candidate })
        {
            // 2 earlier points + 2 in the window: silver, and bronze not again.
            Assert.Equal(new SortedDictionary<string, long>(StringComparer.Ordinal) { ["silver"] = 1 }, Hunt(side).Tiers);
        }
    }

    [Fact]
    public void A_log_with_a_gap_or_an_action_in_the_wrong_partition_is_refused_with_a_code()
    {
        var simulation = new LogSimulation(Partitions, Window, [], [], [], _ => Recorded.Value, null, Recorded.Value);
        int partition = Router.PartitionOf("p");
        var gap = Assert.Throws<SimulationException>(() =>
            simulation.Apply(new LoggedAction(partition, 2, "k", "p", "kill", At(1), Encoding.UTF8.GetBytes("""{"n":1}"""), 1)));
        Assert.Equal(SimulationException.ActionOutOfOrder, gap.Code);
        var misplaced = Assert.Throws<SimulationException>(() =>
            simulation.Apply(new LoggedAction((partition + 1) % Partitions, 1, "k", "p", "kill", At(1), Encoding.UTF8.GetBytes("""{"n":1}"""), 1)));
        Assert.Equal(SimulationException.ActionMisplaced, misplaced.Code);
    }

    [Fact]
    public void A_reward_rate_warns_only_when_strictly_more_than_the_factor_times_the_baseline()
    {
        // Bronze paid 100 instead of 50 (exactly 2×), and silver the same: 300 vs 250 in total.
        var doubled = Simulate(Rules(Source(gems: "100")), ("p", 11), ("p", 12), ("p", 13), ("p", 14));
        Assert.Equal((250L, 300L), (Hunt(doubled.Baseline).Minted["gems"], Hunt(doubled.Candidate).Minted["gems"]));
        Assert.Empty(SimulationWarnings.Of(doubled, 1.2m));
        var warning = Assert.Single(SimulationWarnings.Of(doubled, 1.19m));
        Assert.Equal((SimulationWarnings.RewardRate, "hunt", "gems", 250L, 300L, 62500m, 75000m),
            (warning.Code, warning.EventId, warning.Name, warning.Baseline, warning.Candidate, warning.BaselinePerThousand, warning.CandidatePerThousand));
        Assert.Equal(33.333m, SimulationWarnings.PerThousand(1, 30));
        Assert.Equal(66.667m, SimulationWarnings.PerThousand(2, 30));
        Assert.Null(SimulationWarnings.PerThousand(5, 0));
    }
}
