using Showrunner.Core.Rules.Evaluation;
using Showrunner.Core.Rules.Model;

namespace Showrunner.Core.LiveEvents;

/// <summary>
/// When a player reached their current points: the ingest time of the action that last added
/// points, then its partition, then its sequence number in that partition's log. A total order
/// over all actions (a partition's log has one action per seq), the same on every replay. Earlier
/// ranks first among equal points on a leaderboard.
/// </summary>
public readonly record struct AchievedAt(long IngestTicks, int Partition, long Seq) : IComparable<AchievedAt>
{
    public int CompareTo(AchievedAt other)
    {
        int byTime = IngestTicks.CompareTo(other.IngestTicks);
        if (byTime != 0)
        {
            return byTime;
        }
        int byPartition = Partition.CompareTo(other.Partition);
        return byPartition != 0 ? byPartition : Seq.CompareTo(other.Seq);
    }

    public static bool operator <(AchievedAt left, AchievedAt right) => left.CompareTo(right) < 0;
    public static bool operator >(AchievedAt left, AchievedAt right) => left.CompareTo(right) > 0;
    public static bool operator <=(AchievedAt left, AchievedAt right) => left.CompareTo(right) <= 0;
    public static bool operator >=(AchievedAt left, AchievedAt right) => left.CompareTo(right) >= 0;
}

/// <summary>The action being applied: its id (the cause of tier grants) and its place in the log.</summary>
/// <param name="IngestTicks">UTC ticks of the time recorded at ingest (not the sender's <c>at</c>).</param>
public readonly record struct ProgressAction(string ActionId, long IngestTicks, int Partition, long Seq)
{
    public AchievedAt AchievedAt => new(IngestTicks, Partition, Seq);

    /// <summary>The start of the action's UTC clock hour, in hours since 0001-01-01: its <c>max_per_hour</c> bucket.</summary>
    public long HourBucket => IngestTicks / TimeSpan.TicksPerHour;
}

/// <summary>
/// One player's progress in one run: points per objective (in declaration order), the total, when
/// the total was reached, the <c>max_per_hour</c> counter per objective, and the tiers already
/// reached. Mutated only by <see cref="ProgressRules.Apply"/>; the total always equals the sum of
/// the objective points (checked again by <see cref="Restore"/>).
/// </summary>
public sealed class PlayerRunProgress
{
    // Per objective i: [3i] points, [3i + 1] max_per_hour bucket, [3i + 2] points in that bucket.
    // One array, not three: this object exists per player per run (millions), so headers count.
    private long[] _counters;
    /// <summary>The objective names the positions stand for (shared with the release's rules; null until aligned).</summary>
    private string[]? _objectiveNames;
    /// <summary>Tier names reached, in ordinal order; a small sorted array (most players reach a few tiers).</summary>
    private string[] _tiersReached = [];

    public PlayerRunProgress(string player, RunKey run, int objectiveCount)
    {
        ArgumentNullException.ThrowIfNull(player);
        ArgumentOutOfRangeException.ThrowIfNegative(objectiveCount);
        Player = player;
        Run = run;
        _counters = new long[3 * objectiveCount];
    }

    public string Player { get; }

    public RunKey Run { get; }

    public long Total { get; private set; }

    /// <summary>When <see cref="Total"/> was reached; null while the player has no points.</summary>
    public AchievedAt? AchievedAt { get; private set; }

    /// <summary>A participant (for community goals) has progress &gt; 0 in the run.</summary>
    public bool IsParticipant => Total > 0;

    /// <summary>How many objective counters there are.</summary>
    public int ObjectiveCount => _counters.Length / 3;

    public IReadOnlyList<long> ObjectivePoints => Column(0);

    /// <summary>Per objective, the hour bucket of <see cref="HourPoints"/> (see <see cref="ProgressAction.HourBucket"/>).</summary>
    public IReadOnlyList<long> HourBuckets => Column(1);

    /// <summary>Per objective, the points it added in the hour <see cref="HourBuckets"/> names.</summary>
    public IReadOnlyList<long> HourPoints => Column(2);

    private long[] Column(int offset)
    {
        var column = new long[ObjectiveCount];
        for (int i = 0; i < column.Length; i++)
        {
            column[i] = _counters[(3 * i) + offset];
        }
        return column;
    }

    /// <summary>Names of the tiers reached, in ordinal order.</summary>
    public IReadOnlyCollection<string> TiersReached => _tiersReached;

    /// <summary>The objective names the positions of <see cref="ObjectivePoints"/> stand for, or null before the first alignment.</summary>
    public IReadOnlyList<string>? ObjectiveNames => _objectiveNames;

    /// <summary>The player's community-goal reward of this run has been granted (or found granted) by this partition.</summary>
    public bool CommunityGoalGranted { get; set; }

    /// <summary>The names of <paramref name="objectives"/>, in order (what <see cref="Align(string[])"/> takes; compute once per definition).</summary>
    public static string[] NamesOf(IReadOnlyList<ObjectiveDefinition> objectives)
    {
        ArgumentNullException.ThrowIfNull(objectives);
        var names = new string[objectives.Count];
        for (int i = 0; i < names.Length; i++)
        {
            names[i] = objectives[i].Name;
        }
        return names;
    }

    /// <summary>Aligns with a definition's objectives (computing their names; prefer the overload with shared names).</summary>
    public void Align(IReadOnlyList<ObjectiveDefinition> objectives) => Align(NamesOf(objectives));

    /// <summary>
    /// Makes the positions of the objective counters those of <paramref name="names"/>, moving
    /// each counter by objective name (a new release may reorder, add or remove objectives: stored
    /// points follow their name, and points of a removed objective stay in the total). Free when
    /// already aligned with the same (shared) array.
    /// </summary>
    public void Align(string[] names)
    {
        ArgumentNullException.ThrowIfNull(names);
        if (ReferenceEquals(names, _objectiveNames))
        {
            return;
        }
        if (_objectiveNames is null)
        {
            EnsureObjectives(names.Length);
            if (ObjectiveCount == names.Length)
            {
                _objectiveNames = names;
                return;
            }
        }
        else if (_objectiveNames.AsSpan().SequenceEqual(names))
        {
            _objectiveNames = names;
            return;
        }
        var counters = new long[3 * names.Length];
        var old = _objectiveNames ?? [];
        for (int i = 0; i < names.Length; i++)
        {
            int from = Array.IndexOf(old, names[i]);
            if (from >= 0 && from < ObjectiveCount)
            {
                Array.Copy(_counters, 3 * from, counters, 3 * i, 3);
            }
        }
        // Points of objectives the new definition no longer has stay in the total (keep_earned),
        // carried in a hidden last counter so that the total still equals the sum of counters.
        long carried = Total;
        for (int i = 0; i < names.Length; i++)
        {
            carried -= counters[3 * i];
        }
        if (carried > 0)
        {
            Array.Resize(ref counters, counters.Length + 3);
            counters[^3] = carried;
            names = [.. names, RetiredObjectives];
        }
        _counters = counters;
        _objectiveNames = names;
    }

    /// <summary>The name under which points of objectives a later release removed are kept.</summary>
    public const string RetiredObjectives = "$retired";

    /// <summary>Progress as stored. Throws when the total is not the sum of the objective points (a broken store).</summary>
    public static PlayerRunProgress Restore(
        string player,
        RunKey run,
        IReadOnlyList<long> objectivePoints,
        long total,
        AchievedAt? achievedAt,
        IReadOnlyList<long> hourBuckets,
        IReadOnlyList<long> hourPoints,
        IEnumerable<string> tiersReached)
    {
        ArgumentNullException.ThrowIfNull(objectivePoints);
        ArgumentNullException.ThrowIfNull(hourBuckets);
        ArgumentNullException.ThrowIfNull(hourPoints);
        ArgumentNullException.ThrowIfNull(tiersReached);
        if (hourBuckets.Count != objectivePoints.Count || hourPoints.Count != objectivePoints.Count)
        {
            throw new ArgumentException("Objective points and hour counters must have one entry per objective.");
        }
        var progress = new PlayerRunProgress(player, run, objectivePoints.Count);
        long sum = 0;
        for (int i = 0; i < objectivePoints.Count; i++)
        {
            if (objectivePoints[i] < 0 || hourPoints[i] < 0)
            {
                throw new InvalidOperationException($"Stored progress of {player} in {run} has negative points.");
            }
            progress._counters[3 * i] = objectivePoints[i];
            progress._counters[(3 * i) + 1] = hourBuckets[i];
            progress._counters[(3 * i) + 2] = hourPoints[i];
            sum = checked(sum + objectivePoints[i]);
        }
        if (sum != total || (total > 0) != achievedAt.HasValue)
        {
            throw new InvalidOperationException($"Stored progress of {player} in {run} is inconsistent: total {total}, sum of objectives {sum}.");
        }
        progress.Total = total;
        progress.AchievedAt = achievedAt;
        foreach (string tier in tiersReached)
        {
            progress.MarkTierReached(tier);
        }
        return progress;
    }

    internal void EnsureObjectives(int count)
    {
        if (3 * count > _counters.Length)
        {
            Array.Resize(ref _counters, 3 * count);
        }
    }

    internal void Add(int objective, long points, long hourBucket)
    {
        int at = 3 * objective;
        _counters[at] = checked(_counters[at] + points);
        if (hourBucket > _counters[at + 1])
        {
            _counters[at + 1] = hourBucket;
            _counters[at + 2] = points;
        }
        else
        {
            _counters[at + 2] = checked(_counters[at + 2] + points);
        }
    }

    /// <summary>Points the objective may still add in <paramref name="hourBucket"/> under <paramref name="maxPerHour"/>.</summary>
    internal long HourRemaining(int objective, long hourBucket, long maxPerHour)
    {
        // A bucket older than the stored one (the ingest clock stepped back) is charged to the
        // stored, later bucket: no hour ever holds more than the cap.
        long used = hourBucket > _counters[(3 * objective) + 1] ? 0 : _counters[(3 * objective) + 2];
        return Math.Max(0, maxPerHour - used);
    }

    internal void SetTotal(long total, AchievedAt achievedAt)
    {
        Total = total;
        AchievedAt = achievedAt;
    }

    internal bool MarkTierReached(string tier)
    {
        int at = Array.BinarySearch(_tiersReached, tier, StringComparer.Ordinal);
        if (at >= 0)
        {
            return false;
        }
        at = ~at;
        var tiers = new string[_tiersReached.Length + 1];
        Array.Copy(_tiersReached, tiers, at);
        tiers[at] = tier;
        Array.Copy(_tiersReached, at, tiers, at + 1, _tiersReached.Length - at);
        _tiersReached = tiers;
        return true;
    }

    /// <summary>Restores the objective names of stored progress (they must match the counters).</summary>
    internal void RestoreObjectiveNames(string[] names)
    {
        if (names.Length != ObjectiveCount)
        {
            throw new InvalidOperationException($"Stored progress of {Player} in {Run} names {names.Length} objectives for {ObjectiveCount} counters.");
        }
        _objectiveNames = names;
    }
}

/// <summary>Whether an action's outcomes were applied to a player's progress.</summary>
public enum ProgressStatus : byte
{
    /// <summary>Applied (possibly adding 0 points after caps).</summary>
    Applied = 0,
    /// <summary>The run is not active at the action's time: nothing counts (not scheduled yet, paused, in grace, over, cancelled).</summary>
    NotActive = 1,
    /// <summary>The points would overflow a 64-bit total; nothing from this action was applied to this event.</summary>
    Overflow = 2,
}

/// <summary>What one action did to one player's progress in one run.</summary>
/// <param name="Added">Points added to the total (after caps).</param>
/// <param name="TiersReached">Tiers newly reached by this action, in <c>at</c> order.</param>
/// <param name="Grants">One owed grant per newly reached tier (cause id <c>tier</c>, the action id recorded beside it).</param>
/// <param name="AchievedAt">When the player reached their (new) total; null while they have no points.</param>
/// <param name="BecameParticipant">The player's first points in the run (community goal participation starts).</param>
public sealed record ProgressResult(
    ProgressStatus Status,
    long Added,
    IReadOnlyList<TierDefinition> TiersReached,
    IReadOnlyList<OwedGrant> Grants,
    AchievedAt? AchievedAt,
    bool BecameParticipant)
{
    public static ProgressResult Nothing(ProgressStatus status, AchievedAt? achievedAt) => new(status, 0, [], [], achievedAt, false);
}

/// <summary>
/// The counting rules of one event: turns the release evaluator's outcomes for one action into
/// progress, under the caps.
/// <list type="bullet">
/// <item>Progress counts only while the run is <see cref="RunPhase.Active"/> at the action's ingest
/// time; the caller passes that phase (<see cref="Transitions.PhaseAt"/>). Any other phase applies
/// nothing.</item>
/// <item>Outcomes that failed, or whose points are ≤ 0, are ignored.</item>
/// <item><c>max_per_hour</c> caps the points one objective adds for one player in one UTC clock hour
/// [hh:00, hh+1:00) of the action's ingest time (the recorded time, so replay agrees; not a sliding
/// window, which would need every action's time kept).</item>
/// <item><c>safety_bounds.max_points_per_action</c> caps what one action adds to one event, summed
/// over its objectives; objectives take from that budget in declaration order (the evaluator's
/// order), each after its own hourly cap.</item>
/// <item>Arithmetic is checked: if the total would pass <see cref="long.MaxValue"/>, the action adds
/// nothing to this event and the status says <see cref="ProgressStatus.Overflow"/>.</item>
/// <item>A tier is reached once per player per run (remembered by name), when the total is at least
/// its <c>at</c>; its owed grant records the action that reached it (not part of the grant id).</item>
/// </list>
/// </summary>
public sealed class ProgressRules
{
    private readonly EventDefinition _definition;
    private readonly int _eventIndex;
    private readonly long? _maxPointsPerAction;
    /// <summary>The objective names, shared by every progress aligned with this definition.</summary>
    private readonly string[] _objectiveNames;

    /// <param name="eventIndex">The event's index in <see cref="ReleaseDefinition.Events"/>, as the evaluator reports it.</param>
    public ProgressRules(EventDefinition definition, int eventIndex, SafetyBounds bounds)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(bounds);
        _definition = definition;
        _eventIndex = eventIndex;
        _maxPointsPerAction = bounds.MaxPointsPerAction;
        _objectiveNames = PlayerRunProgress.NamesOf(definition.Objectives);
        if (_maxPointsPerAction < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(bounds), bounds.MaxPointsPerAction, "max_points_per_action must not be negative.");
        }
    }

    public EventDefinition Definition => _definition;

    /// <summary>
    /// Applies the outcomes of one action (the evaluator's, for any events; only this event's are
    /// read) to <paramref name="progress"/>. <paramref name="phase"/> is the run's phase at the
    /// action's ingest time.
    /// </summary>
    public ProgressResult Apply(PlayerRunProgress progress, RunPhase phase, ProgressAction action, ReadOnlySpan<ObjectiveOutcome> outcomes)
    {
        ArgumentNullException.ThrowIfNull(progress);
        if (!string.Equals(progress.Run.EventId, _definition.Id, StringComparison.Ordinal))
        {
            throw new ArgumentException($"Progress of event {progress.Run.EventId} applied with the rules of {_definition.Id}.", nameof(progress));
        }
        if (phase != RunPhase.Active)
        {
            return ProgressResult.Nothing(ProgressStatus.NotActive, progress.AchievedAt);
        }
        var objectives = _definition.Objectives;
        progress.Align(_objectiveNames);
        long hourBucket = action.HourBucket;
        // Without a bound there is no budget: a sum past long.MaxValue is an overflow, not a silent clamp.
        long? budget = _maxPointsPerAction;
        Span<long> added = stackalloc long[objectives.Count];
        long sum = 0;
        int previous = -1;
        foreach (var outcome in outcomes)
        {
            if (outcome.Event != _eventIndex)
            {
                continue;
            }
            if (outcome.Objective <= previous || outcome.Objective >= objectives.Count)
            {
                throw new ArgumentException($"Outcomes of event {_definition.Id} must name each objective at most once, in declaration order.", nameof(outcomes));
            }
            previous = outcome.Objective;
            if (outcome.Failed || outcome.Points <= 0)
            {
                continue;
            }
            long points = outcome.Points;
            if (objectives[outcome.Objective].MaxPerHour is { } maxPerHour)
            {
                points = Math.Min(points, progress.HourRemaining(outcome.Objective, hourBucket, maxPerHour));
            }
            if (budget is { } left)
            {
                points = Math.Min(points, left);
                budget = left - points;
            }
            added[outcome.Objective] = points;
            if (!TryAdd(sum, points, out sum))
            {
                return ProgressResult.Nothing(ProgressStatus.Overflow, progress.AchievedAt);
            }
        }
        if (!TryAdd(progress.Total, sum, out long total))
        {
            return ProgressResult.Nothing(ProgressStatus.Overflow, progress.AchievedAt);
        }
        // Each objective's points are at most the total, so they cannot overflow once the total does not.
        bool becameParticipant = progress.Total == 0 && total > 0;
        if (sum > 0)
        {
            for (int i = 0; i < added.Length; i++)
            {
                if (added[i] > 0)
                {
                    progress.Add(i, added[i], hourBucket);
                }
            }
            progress.SetTotal(total, action.AchievedAt);
        }
        List<TierDefinition>? tiers = null;
        List<OwedGrant>? grants = null;
        foreach (var tier in _definition.Tiers)
        {
            if (tier.At <= progress.Total && progress.MarkTierReached(tier.Name))
            {
                (tiers ??= []).Add(tier);
                (grants ??= []).Add(new OwedGrant(_definition.Id, progress.Run.Run, progress.Player, GrantRules.Tier(tier.Name), GrantRules.TierCause, tier.Reward, action.ActionId));
            }
        }
        return new ProgressResult(ProgressStatus.Applied, sum, tiers ?? [], grants ?? [], progress.AchievedAt, becameParticipant);
    }

    // Both operands are never negative, so the sum overflowed exactly when it wrapped below zero.
    private static bool TryAdd(long left, long right, out long sum)
    {
        sum = unchecked(left + right);
        return sum >= 0;
    }
}
