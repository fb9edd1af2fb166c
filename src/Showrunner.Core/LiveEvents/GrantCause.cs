using System.Globalization;
using Showrunner.Core.Rules.Model;

namespace Showrunner.Core.LiveEvents;

/// <summary>
/// Why a player is owed a reward: the input the ledger derives the deterministic grant id from.
/// (<see cref="EventId"/>, <see cref="Run"/>, <see cref="Player"/>, <see cref="Rule"/>,
/// <see cref="CauseId"/>) identifies the grant; <see cref="Reward"/> is what it pays. Producing the
/// same cause twice (a replay, a retried finalization, a community goal granted in bulk and again
/// when the player's late progress arrives) must yield the same grant id, which the ledger refuses
/// the second time.
/// </summary>
/// <param name="Rule">What paid: <c>tier:&lt;name&gt;</c>, <c>prize:&lt;from&gt;-&lt;to&gt;</c> or <c>community_goal</c> (<see cref="GrantRules"/>).</param>
/// <param name="CauseId">The action id that crossed the tier, <c>finalization</c>, or <c>community_goal</c> (<see cref="GrantRules"/>).</param>
internal sealed record GrantCause(string EventId, long Run, string Player, string Rule, string CauseId, Reward Reward);

/// <summary>The spelling of grant rules and non-action cause ids. These strings feed grant ids: never change them.</summary>
internal static class GrantRules
{
    /// <summary>The cause id of leaderboard prizes: the run's finalization.</summary>
    public const string Finalization = "finalization";

    /// <summary>The rule and the cause id of a community goal's reward (one per player per run).</summary>
    public const string CommunityGoal = "community_goal";

    /// <summary><c>tier:&lt;name&gt;</c>.</summary>
    public static string Tier(string name) => "tier:" + name;

    /// <summary><c>prize:&lt;from&gt;-&lt;to&gt;</c>, also for a single rank (<c>prize:1-1</c>), in invariant decimal digits.</summary>
    public static string Prize(PrizeDefinition prize)
    {
        ArgumentNullException.ThrowIfNull(prize);
        return string.Create(CultureInfo.InvariantCulture, $"prize:{prize.FromRank}-{prize.ToRank}");
    }
}
