using Showrunner.Core.Ledger;
using Showrunner.Core.Rules.Model;
using Showrunner.Core.Rules.Releases;

namespace Showrunner.Core.LiveEvents;

/// <summary>
/// What a release needs at run time to count progress: its evaluator and decoders (the loaded
/// release) and one <see cref="ProgressRules"/> per event, by the evaluator's event index. Built
/// once per release (<see cref="LoadedRelease.Live"/>), immutable, shared by every partition.
/// </summary>
public sealed class LiveRules
{
    public LiveRules(LoadedRelease release)
    {
        ArgumentNullException.ThrowIfNull(release);
        Release = release;
        var definition = release.Bundle.Release;
        Events = definition.Events;
        Progress = [.. definition.Events.Select((e, i) => new ProgressRules(e, i, definition.Bounds))];
        EventIndex = definition.Events.Select((e, i) => (e.Id, i)).ToDictionary(p => p.Id, p => p.i, StringComparer.Ordinal);
    }

    public LoadedRelease Release { get; }
    public string ReleaseId => Release.Id;
    public IReadOnlyList<EventDefinition> Events { get; }
    public ProgressRules[] Progress { get; }
    public IReadOnlyDictionary<string, int> EventIndex { get; }

    public EventDefinition? FindEvent(string id) => EventIndex.TryGetValue(id, out int index) ? Events[index] : null;

    /// <summary>The ledger's reward lines for a release's reward.</summary>
    public static IReadOnlyList<Ledger.RewardLine> Lines(Reward reward) => [.. reward.Lines.Select(l => new Ledger.RewardLine(l.Name, l.Amount))];

    /// <summary>The ledger cause kind of an owed grant (by its fixed cause id).</summary>
    public static CauseKind KindOf(OwedGrant owed) => owed.CauseId switch
    {
        GrantRules.TierCause => CauseKind.Action,
        GrantRules.Finalization => CauseKind.Finalization,
        GrantRules.CommunityGoal => CauseKind.CommunityGoal,
        _ => throw new ArgumentException($"Unknown cause id '{owed.CauseId}'.", nameof(owed)),
    };

    /// <summary>The ledger cause of an owed grant.</summary>
    public static GrantCause CauseOf(OwedGrant owed) => new(owed.EventId, owed.Run, owed.Player, owed.Rule, KindOf(owed), owed.CauseId);
}

/// <summary>A grant to append to the partition's ledger: the cause, what it pays, and what the entry records beside it.</summary>
public sealed record PendingGrant(GrantCause Cause, IReadOnlyList<Ledger.RewardLine> Rewards, string ReleaseId, long TimeTicks,
    string? ActionId = null, string? Author = null, string? Reason = null)
{
    public static PendingGrant Of(OwedGrant owed, string releaseId, long timeTicks, string? actionId) =>
        new(LiveRules.CauseOf(owed), LiveRules.Lines(owed.Reward), releaseId, timeTicks, actionId);
}

/// <summary>
/// Operator decisions in force on runs, as blocked time intervals: a pause blocks [pause, resume),
/// a cancel blocks [cancel, ∞). An action counts for a run when the schedule has the run active at
/// the action's ingest time and no interval blocks that time — the same decision
/// <see cref="Transitions.PhaseAt"/> makes from the recorded transitions, in O(1) for runs nobody
/// touched. Immutable; the coordinator publishes a new one with each operator action.
/// </summary>
public sealed class RunControls
{
    public static readonly RunControls None = new(new Dictionary<RunKey, long[]>(), new Dictionary<string, long[]>(StringComparer.Ordinal));

    private readonly Dictionary<RunKey, long[]> _blocked;
    private readonly Dictionary<string, long[]> _events;

    private RunControls(Dictionary<RunKey, long[]> blocked, Dictionary<string, long[]> events)
    {
        _blocked = blocked;
        _events = events;
    }

    public int Count => _blocked.Count + _events.Count;

    /// <summary>Whether an action ingested at <paramref name="ticks"/> is kept out of <paramref name="run"/> by a pause or a cancel.</summary>
    public bool Blocks(RunKey run, long ticks)
    {
        if (_events.Count > 0 && _events.TryGetValue(run.EventId, out long[]? killed) && Within(killed, ticks))
        {
            return true;
        }
        return _blocked.Count > 0 && _blocked.TryGetValue(run, out long[]? intervals) && Within(intervals, ticks);
    }

    private static bool Within(long[] intervals, long ticks)
    {
        for (int i = 0; i < intervals.Length; i += 2)
        {
            if (ticks >= intervals[i] && ticks < intervals[i + 1])
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The controls of every run with an operator pause or cancel among <paramref name="transitions"/> (any runs, any order).</summary>
    public static RunControls From(IEnumerable<RunTransition> transitions) => From(transitions, []);

    /// <summary>
    /// The controls of <paramref name="transitions"/> and of event kill switches: each flag flip
    /// (in order) kills an event from its ingest stamp (every run, also future ones) or revives it.
    /// </summary>
    public static RunControls From(IEnumerable<RunTransition> transitions, IEnumerable<EventFlag> eventFlags)
    {
        ArgumentNullException.ThrowIfNull(transitions);
        ArgumentNullException.ThrowIfNull(eventFlags);
        var events = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var flags in eventFlags.GroupBy(f => f.EventId, StringComparer.Ordinal))
        {
            var intervals = new List<long>();
            long? killedAt = null;
            foreach (var flag in flags)
            {
                if (!flag.Enabled && killedAt is null)
                {
                    killedAt = flag.AtTicks;
                }
                else if (flag.Enabled && killedAt is { } start)
                {
                    intervals.Add(start);
                    intervals.Add(flag.AtTicks);
                    killedAt = null;
                }
            }
            if (killedAt is { } open)
            {
                intervals.Add(open);
                intervals.Add(long.MaxValue);
            }
            if (intervals.Count > 0)
            {
                events[flags.Key] = [.. intervals];
            }
        }
        var blocked = new Dictionary<RunKey, long[]>();
        foreach (var run in transitions.GroupBy(t => t.Key))
        {
            var intervals = new List<long>();
            long? pausedAt = null;
            foreach (var transition in run.OrderBy(t => t.Sequence))
            {
                if (transition.To == RunPhase.Paused)
                {
                    pausedAt = transition.At.UtcTicks;
                }
                else if (transition.From == RunPhase.Paused && pausedAt is { } start)
                {
                    intervals.Add(start);
                    intervals.Add(transition.At.UtcTicks);
                    pausedAt = null;
                }
                if (transition.To == RunPhase.Cancelled)
                {
                    intervals.Add(transition.At.UtcTicks);
                    intervals.Add(long.MaxValue);
                }
            }
            if (pausedAt is { } open)
            {
                intervals.Add(open);
                intervals.Add(long.MaxValue);
            }
            if (intervals.Count > 0)
            {
                blocked[run.Key] = [.. intervals];
            }
        }
        return new RunControls(blocked, events);
    }
}

/// <summary>One flip of an event's kill switch, in force from an ingest stamp (<paramref name="Enabled"/> false: the event counts nothing and grants nothing).</summary>
public sealed record EventFlag(string EventId, bool Enabled, long AtTicks);
