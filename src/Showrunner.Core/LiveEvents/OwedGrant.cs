using System.Globalization;
using Showrunner.Core.Rules.Model;

namespace Showrunner.Core.LiveEvents;

/// <summary>
/// A reward a player is owed, and why: the input the ledger derives the deterministic grant id
/// from (the ledger's own <c>Ledger.GrantCause</c> is built from it when grants are wired).
/// (<see cref="EventId"/>, <see cref="Run"/>, <see cref="Player"/>, <see cref="Rule"/>,
/// <see cref="CauseId"/>) identifies the grant; <see cref="Reward"/> is what it pays.
/// <para>
/// Every rule here pays at most once per player per run, so <see cref="CauseId"/> is fixed per
/// rule (<c>tier</c>, <c>finalization</c>, <c>community_goal</c>) and never the crossing action:
/// two different actions crossing the same tier (a progress bug) must still yield one grant id,
/// which the ledger refuses the second time (docs/internals/live-events.md, "Exactly once").
/// The action that crossed a tier is kept in <see cref="ActionId"/> for the entry's record only.
/// Producing the same owed grant twice (a replay, a retried finalization, a community goal granted
/// in bulk and again when the player's late progress arrives) yields the same id.
/// </para>
/// </summary>
/// <param name="Rule">What paid: <c>tier:&lt;name&gt;</c>, <c>prize:&lt;from&gt;-&lt;to&gt;</c> or <c>community_goal</c> (<see cref="GrantRules"/>).</param>
/// <param name="CauseId">Part of the grant id: <see cref="GrantRules.TierCause"/>, <see cref="GrantRules.Finalization"/> or <see cref="GrantRules.CommunityGoal"/>.</param>
/// <param name="ActionId">The action that crossed a tier; null for prizes and community goals. Not part of the grant id.</param>
public sealed record OwedGrant(string EventId, long Run, string Player, string Rule, string CauseId, Reward Reward, string? ActionId = null);

/// <summary>The spelling of grant rules and cause ids. These strings feed grant ids: never change them.</summary>
public static class GrantRules
{
    /// <summary>The cause id of tier rewards (the crossing action is recorded separately).</summary>
    public const string TierCause = "tier";

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
