using Showrunner.Core.Rules.Model;

namespace Showrunner.Core.LiveEvents;

/// <summary>The recorded fact that a run's community goal was reached (at most one per run).</summary>
/// <param name="At">When the coordinator observed the sum at or above the target.</param>
/// <param name="Sum">The sum of the partitions' slots it observed.</param>
public sealed record CommunityGoalReached(string EventId, long Run, DateTimeOffset At, long Sum);

/// <summary>
/// Community goals as pure pieces.
/// <list type="number">
/// <item><b>Slots.</b> Each partition owns one grow-only counter per run: the points its players
/// added to the event (<see cref="ProgressResult.Added"/>). No partition writes another's slot.
/// Counters saturate at <see cref="long.MaxValue"/> instead of overflowing: they are only compared
/// with the target, which a saturated counter has passed.</item>
/// <item><b>Crossing.</b> Which partition's action made the global sum cross is not defined
/// (partitions commit independently), so one coordinator reads all slots and decides with
/// <see cref="Decide"/>: the first time the sum is at least the target it records
/// <see cref="CommunityGoalReached"/>, once per run (it passes what it recorded before; the store
/// should key the record by event and run). Slots grow only from progress counted while the run
/// was active, so a sum read later (the coordinator lags, the run is paused, in grace or
/// finalizing) was reached during the run and still counts; a cancelled, finalized or not yet
/// started run records nothing. The coordinator must make its last decision before it reports
/// finalization done.</item>
/// <item><b>Participants.</b> Once the goal is recorded, each partition grants every player with
/// progress &gt; 0 in that run (<see cref="Participants"/>), and grants a player whose first
/// points in the run arrive later (<see cref="OnProgress"/>). Both produce the same cause
/// (rule and cause id <c>community_goal</c>), so a player granted by both paths gets one grant
/// id, which the ledger keeps once.</item>
/// </list>
/// </summary>
public static class CommunityGoals
{
    /// <summary>A slot after adding <paramref name="added"/> (≥ 0) points; saturates at <see cref="long.MaxValue"/>.</summary>
    public static long Add(long slot, long added)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(slot);
        ArgumentOutOfRangeException.ThrowIfNegative(added);
        long sum = unchecked(slot + added);
        return sum < 0 ? long.MaxValue : sum;
    }

    /// <summary>Global progress: the sum of every partition's slot, saturating at <see cref="long.MaxValue"/>.</summary>
    public static long Sum(ReadOnlySpan<long> slots)
    {
        long sum = 0;
        foreach (long slot in slots)
        {
            sum = Add(sum, slot);
        }
        return sum;
    }

    /// <summary>
    /// What the coordinator records now for run <paramref name="run"/>, or null: the goal is reached
    /// when the event has one, nothing was recorded for the run yet (<paramref name="recorded"/>),
    /// the run has started and is not cancelled or finalized (<paramref name="phase"/> is its
    /// current phase), and the slots sum to at least the target.
    /// </summary>
    public static CommunityGoalReached? Decide(
        EventDefinition definition,
        long run,
        RunPhase phase,
        ReadOnlySpan<long> slots,
        CommunityGoalReached? recorded,
        DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (definition.CommunityGoal is not { } goal || recorded is not null)
        {
            return null;
        }
        if (phase is not (RunPhase.Active or RunPhase.Paused or RunPhase.Grace or RunPhase.Finalizing))
        {
            return null;
        }
        long sum = Sum(slots);
        return sum >= goal.Target ? new CommunityGoalReached(definition.Id, run, now, sum) : null;
    }

    /// <summary>The community-goal grant of one player in one run.</summary>
    public static OwedGrant Cause(EventDefinition definition, long run, string player)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var goal = definition.CommunityGoal ?? throw new ArgumentException($"Event {definition.Id} has no community goal.", nameof(definition));
        return new OwedGrant(definition.Id, run, player, GrantRules.CommunityGoal, GrantRules.CommunityGoal, goal.Reward);
    }

    /// <summary>
    /// The grants a partition makes when it learns the goal of <paramref name="run"/> was reached:
    /// one per player of the partition with progress &gt; 0 in that run, in ordinal order of player id.
    /// </summary>
    public static IReadOnlyList<OwedGrant> Participants(EventDefinition definition, long run, IEnumerable<PlayerRunProgress> progress)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(progress);
        return progress
            .Where(p => p.Run == new RunKey(definition.Id, run) && p.IsParticipant)
            .Select(p => p.Player)
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .Select(player => Cause(definition, run, player))
            .ToList();
    }

    /// <summary>
    /// The grant owed when progress arrives after the goal was recorded (<paramref name="goalReached"/>):
    /// the player's first points in the run make them a participant. Null otherwise.
    /// </summary>
    public static OwedGrant? OnProgress(EventDefinition definition, PlayerRunProgress progress, ProgressResult result, bool goalReached)
    {
        ArgumentNullException.ThrowIfNull(progress);
        ArgumentNullException.ThrowIfNull(result);
        return goalReached && result.BecameParticipant ? Cause(definition, progress.Run.Run, progress.Player) : null;
    }
}
