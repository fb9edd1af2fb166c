using Showrunner.Core.Ledger;
using Showrunner.Core.LiveEvents;
using Showrunner.Core.Partitioning;
using Showrunner.Core.Reconciliation;
using Showrunner.Core.Rules.Evaluation;
using Showrunner.Core.Rules.Model;
using Showrunner.Core.Rules.Releases;

namespace Showrunner.Core.Simulation;

/// <summary>The actions a simulation projects: those whose recorded ingest time is in [<see cref="FromTicks"/>, <see cref="ToTicks"/>) (UTC ticks).</summary>
public readonly record struct SimulationWindow(long FromTicks, long ToTicks)
{
    public bool Contains(long ingestTicks) => ingestTicks >= FromTicks && ingestTicks < ToTicks;
}

/// <summary>A community goal recorded in the data directory: reached at <paramref name="AtTicks"/>, under the release with ref <paramref name="ReleaseRef"/>.</summary>
public readonly record struct RecordedGoal(string EventId, long Run, long AtTicks, long ReleaseRef);

/// <summary>The simulation cannot go on: the log or the records it reads break an invariant (a stable code and a message naming where).</summary>
public sealed class SimulationException(string code, string message) : Exception(message)
{
    public const string ActionOutOfOrder = "simulate.action_out_of_order";
    public const string ActionMisplaced = "simulate.action_misplaced";
    public const string ReleaseUnknown = "simulate.release_unknown";
    public const string AmountOverflow = "simulate.amount_overflow";

    public string Code { get; } = code;
}

/// <summary>What one side (baseline or candidate) did with one event in the window.</summary>
public sealed class EventTally(string eventId)
{
    public string EventId { get; } = eventId;

    /// <summary>Distinct players whose progress in the event grew in the window (points added after caps).</summary>
    public HashSet<string> Participants { get; } = new(StringComparer.Ordinal);

    /// <summary>Window actions that counted for a run of the event: the run active and not blocked, an objective matched with points &gt; 0 (before caps).</summary>
    public long ActionsMatched { get; internal set; }

    /// <summary>Points the window's actions added to the event, after caps.</summary>
    public long Points { get; internal set; }

    /// <summary>Every grant: tier crossings, community-goal rewards and leaderboard prizes.</summary>
    public long Grants { get; internal set; }

    public long GoalGrants { get; internal set; }

    public long PrizeGrants { get; internal set; }

    /// <summary>The sum of the reward amounts of the grants, per currency or item.</summary>
    public SortedDictionary<string, long> Minted { get; } = new(StringComparer.Ordinal);

    /// <summary>Tier crossings (one grant each) per tier name.</summary>
    public SortedDictionary<string, long> Tiers { get; } = new(StringComparer.Ordinal);

    /// <summary>What was and was not projected for the event's time-based rewards, one sentence each, by run.</summary>
    public List<string> Notes { get; } = [];

    /// <summary>The release whose definition of the event this side ran (the one in force at the window's end).</summary>
    public string ReleaseId { get; internal set; } = "";

    /// <summary>Whether that definition has a community goal (its rewards are projected).</summary>
    public bool HasCommunityGoal { get; internal set; }

    /// <summary>Whether that definition has leaderboard prizes (projected for runs that end in the window).</summary>
    public bool HasPrizes { get; internal set; }

    /// <summary>The runs the window's actions counted for.</summary>
    internal SortedSet<long> RunsCounted { get; } = [];

    internal void Add(PendingGrant grant)
    {
        try
        {
            foreach (var line in grant.Rewards)
            {
                Minted[line.Name] = checked(Minted.GetValueOrDefault(line.Name) + line.Amount);
            }
        }
        catch (OverflowException)
        {
            throw new SimulationException(SimulationException.AmountOverflow,
                $"the amounts {EventId} mints in the window pass {long.MaxValue} of one currency or item");
        }
        Grants++;
        switch (grant.Cause.Kind)
        {
            case CauseKind.CommunityGoal:
                GoalGrants++;
                break;
            case CauseKind.Finalization:
                PrizeGrants++;
                break;
            default:
                if (grant.Cause.Rule.StartsWith("tier:", StringComparison.Ordinal))
                {
                    string tier = grant.Cause.Rule["tier:".Length..];
                    Tiers[tier] = Tiers.GetValueOrDefault(tier) + 1;
                }
                break;
        }
    }
}

/// <summary>What one side did in the window: the events of its release(s), each with its tally, and the totals.</summary>
public sealed class SideResult
{
    /// <summary>The releases whose events this side ran, in the order they came into force.</summary>
    public required IReadOnlyList<string> ReleaseIds { get; init; }

    /// <summary>Every event of those releases, by id (ordinal order), with its tally (zero when nothing happened).</summary>
    public required IReadOnlyDictionary<string, EventTally> Events { get; init; }

    /// <summary>Distinct players whose progress grew in any event.</summary>
    public required long Participants { get; init; }

    /// <summary>Distinct window actions that counted for at least one event.</summary>
    public required long ActionsMatched { get; init; }

    /// <summary>Window actions of a type this side's release declares whose data its schema refuses (a server running it would reject them at ingest).</summary>
    public required long ActionsRefused { get; init; }

    public long Grants => Events.Values.Sum(e => e.Grants);

    /// <summary>Minted amounts per currency or item over every event.</summary>
    public SortedDictionary<string, long> Minted()
    {
        var minted = new SortedDictionary<string, long>(StringComparer.Ordinal);
        try
        {
            foreach (var tally in Events.Values)
            {
                foreach (var (name, amount) in tally.Minted)
                {
                    minted[name] = checked(minted.GetValueOrDefault(name) + amount);
                }
            }
        }
        catch (OverflowException)
        {
            throw new SimulationException(SimulationException.AmountOverflow, $"the amounts minted in the window pass {long.MaxValue} of one currency or item");
        }
        return minted;
    }
}

/// <summary>The outcome of a simulation: the window's counts and both sides.</summary>
public sealed record SimulationResult(SimulationWindow Window, long ActionsBefore, long ActionsInWindow, long ActionsAfter, SideResult Baseline, SideResult Candidate);

/// <summary>
/// <c>showrunner simulate</c>'s engine: replays the action log with the engine's own code and,
/// for one window of ingest time, applies the window's actions twice — once with the baseline
/// (the release recorded on each action, or one release for all) and once with a candidate
/// release — and tallies, per side and event, what the actions did. Pure and deterministic.
/// </summary>
/// <remarks>
/// <para>
/// The state before the window decides what the window's actions do (a player already past a
/// tier is not granted it again), so every action before the window is applied, as
/// <c>reconcile</c> does (<see cref="GrantReplay"/>), to one <see cref="PartitionState"/> per
/// partition with the release recorded on it and the operator's pauses, cancels and event kill
/// switches (<see cref="RunControls"/>). At the first action of the window the state is forked: the
/// community goals recorded before the window are learned (their participants were paid), and
/// every partition is copied through <see cref="StateCodec"/>, its snapshot format. The baseline
/// keeps the original, the candidate runs on the copy, and each window action is applied to both.
/// Progress follows objectives by name (<see cref="PlayerRunProgress.Align(string[])"/>), exactly as
/// when the server activates a release: the candidate sees the state the server would hand it.
/// </para>
/// <para>
/// The log is read once in position order. An action stamped before the window that comes after
/// the fork (batches commit slightly out of stamp order) is applied to both sides with its
/// recorded release and counted for neither; actions stamped at or after the window's end are not
/// applied. Grants that come from time, not from an action, are projected from each side's state
/// at the window's end (<see cref="Finish"/>): a community goal whose sum reaches its target by
/// then and that was not recorded before the window pays every participant not yet paid; a run
/// whose end falls in (from, to] pays its prizes from its merged, final leaderboard. A run that
/// ends after the window has no final ranks yet: its prizes are noted as not projected.
/// </para>
/// <para>
/// Memory: the state twice (both sides) plus the participants of each event in the window; the
/// log streams through.
/// </para>
/// </remarks>
public sealed class LogSimulation
{
    private static readonly ISet<string> NoneGranted = new HashSet<string>();

    private readonly SimulationWindow _window;
    private readonly PartitionRouter _router;
    private readonly RunControls _controls;
    private readonly Func<long, LiveRules> _releaseOf;
    private readonly List<RecordedGoal> _goalsBefore;
    private readonly HashSet<RunKey> _goalKnownBefore = [];
    private readonly Dictionary<RunKey, long> _cancelledAt = [];
    private readonly Dictionary<RunKey, long> _finalizedAt = [];
    private readonly long[] _lastSeq;
    private readonly List<PendingGrant> _discarded = [];
    private PartitionState[] _shared;
    private readonly Side _baseline;
    private readonly Side _candidate;
    private bool _forked;
    private long _lastRefBefore;

    /// <param name="transitions">Every recorded run transition: pauses and cancels apply to both sides.</param>
    /// <param name="eventFlags">Every recorded flip of an event kill switch, in order: they apply to both sides too.</param>
    /// <param name="goals">Every recorded community goal (those before the window are history; the others are projected).</param>
    /// <param name="releaseOf">The rules of a stored release by ref; throws <see cref="SimulationException"/> when there is none.</param>
    /// <param name="baseline">One release for every window action; null to use the release recorded on each.</param>
    public LogSimulation(int partitionCount, SimulationWindow window, IReadOnlyList<RunTransition> transitions, IReadOnlyList<EventFlag> eventFlags,
        IReadOnlyList<RecordedGoal> goals, Func<long, LiveRules> releaseOf, LiveRules? baseline, LiveRules candidate)
    {
        ArgumentNullException.ThrowIfNull(transitions);
        ArgumentNullException.ThrowIfNull(eventFlags);
        ArgumentNullException.ThrowIfNull(goals);
        ArgumentNullException.ThrowIfNull(releaseOf);
        ArgumentNullException.ThrowIfNull(candidate);
        if (window.FromTicks >= window.ToTicks)
        {
            throw new ArgumentException("The window's start must come before its end.", nameof(window));
        }
        _window = window;
        _router = new PartitionRouter(partitionCount);
        _controls = RunControls.From(transitions, eventFlags);
        _releaseOf = releaseOf;
        _goalsBefore = [.. goals.Where(g => g.AtTicks < window.FromTicks)];
        foreach (var goal in _goalsBefore)
        {
            _goalKnownBefore.Add(new RunKey(goal.EventId, goal.Run));
        }
        foreach (var cancel in transitions.Where(t => t.To == RunPhase.Cancelled))
        {
            long at = cancel.At.UtcTicks;
            _cancelledAt[cancel.Key] = Math.Min(at, _cancelledAt.GetValueOrDefault(cancel.Key, long.MaxValue));
        }
        foreach (var finalized in transitions.Where(t => t.To == RunPhase.Finalized))
        {
            _finalizedAt[finalized.Key] = Math.Min(finalized.At.UtcTicks, _finalizedAt.GetValueOrDefault(finalized.Key, long.MaxValue));
        }
        _lastSeq = new long[partitionCount];
        _shared = [.. Enumerable.Range(0, partitionCount).Select(p => new PartitionState(p))];
        _baseline = new Side(baseline);
        _candidate = new Side(candidate);
    }

    public long ActionsBefore { get; private set; }
    public long ActionsInWindow { get; private set; }
    public long ActionsAfter { get; private set; }

    /// <summary>Applies the next logged action, in log position order (each partition's actions in seq order, 1, 2, 3, …).</summary>
    public void Apply(LoggedAction action)
    {
        if (action.Partition < 0 || action.Partition >= _lastSeq.Length || _router.PartitionOf(action.Player) != action.Partition)
        {
            throw new SimulationException(SimulationException.ActionMisplaced,
                $"action '{action.Id}' of player '{action.Player}' is logged in partition {action.Partition}; the player's partition is {_router.PartitionOf(action.Player)}");
        }
        if (action.Seq != _lastSeq[action.Partition] + 1)
        {
            throw new SimulationException(SimulationException.ActionOutOfOrder,
                $"action '{action.Id}' has seq {action.Seq} in partition {action.Partition}; the previous action there has seq {_lastSeq[action.Partition]} (a gap or a reordering of the log)");
        }
        _lastSeq[action.Partition] = action.Seq;
        if (action.IngestTicks >= _window.ToTicks)
        {
            ActionsAfter++;
            return;
        }
        var live = new LiveAction(action.Id, action.Player, action.Type, action.IngestTicks, action.Seq, action.Data);
        var recorded = action.ReleaseRef == 0 ? null : _releaseOf(action.ReleaseRef);
        if (action.IngestTicks < _window.FromTicks)
        {
            ActionsBefore++;
            if (!_forked)
            {
                if (action.ReleaseRef != 0)
                {
                    _lastRefBefore = action.ReleaseRef;
                }
                _discarded.Clear();
                _shared[action.Partition].Apply(live, recorded, null, _controls, _discarded);
                return;
            }
            // Stamped before the window, committed after its first action: history for both sides.
            foreach (var side in new[] { _baseline, _candidate })
            {
                _discarded.Clear();
                side.States[action.Partition].Apply(live, recorded, null, _controls, _discarded);
            }
            return;
        }
        if (!_forked)
        {
            Fork();
        }
        ActionsInWindow++;
        if (_baseline.Fixed is null && action.ReleaseRef != 0)
        {
            _baseline.Adopt(action.ReleaseRef, recorded!);
        }
        _baseline.Apply(action.Partition, live, _baseline.Fixed ?? recorded, _controls);
        _candidate.Apply(action.Partition, live, _candidate.Fixed, _controls);
    }

    /// <summary>Projects the time-based grants of both sides from their state at the window's end, and returns the tallies.</summary>
    public SimulationResult Finish()
    {
        if (!_forked)
        {
            Fork();
        }
        foreach (var side in new[] { _baseline, _candidate })
        {
            foreach (var (eventId, (definition, rules)) in side.Events.OrderBy(e => e.Key, StringComparer.Ordinal))
            {
                var tally = side.Tally(eventId);
                var runs = RunsWithPoints(side, eventId);
                if (definition.CommunityGoal is not null)
                {
                    ProjectGoals(side, definition, rules, tally, runs);
                }
                if (definition.Prizes.Count > 0)
                {
                    ProjectPrizes(side, definition, rules, tally, runs);
                }
            }
        }
        return new SimulationResult(_window, ActionsBefore, ActionsInWindow, ActionsAfter, _baseline.Result(), _candidate.Result());
    }

    /// <summary>The runs of an event with points in some partition (a contribution slot), in index order.</summary>
    private static SortedSet<long> RunsWithPoints(Side side, string eventId)
    {
        var runs = new SortedSet<long>();
        foreach (var state in side.States)
        {
            foreach (var key in state.Slots.Keys)
            {
                if (string.Equals(key.EventId, eventId, StringComparison.Ordinal))
                {
                    runs.Add(key.Run);
                }
            }
        }
        return runs;
    }

    private bool CancelledByWindowEnd(RunKey key) => _cancelledAt.TryGetValue(key, out long at) && at < _window.ToTicks;

    /// <summary>
    /// A goal not recorded before the window, of a run not finalized before it, whose slots sum to its target by the window's end is
    /// reached in the window: every participant not yet paid is owed the reward once (the server
    /// pays them in bulk when it sees the sum, and those who join later as their first points come;
    /// both are among the participants at the window's end).
    /// </summary>
    private void ProjectGoals(Side side, EventDefinition definition, LiveRules rules, EventTally tally, SortedSet<long> runs)
    {
        var goal = definition.CommunityGoal!;
        foreach (long run in runs)
        {
            var key = new RunKey(definition.Id, run);
            if (_goalKnownBefore.Contains(key)
                || (_finalizedAt.TryGetValue(key, out long finalizedAt) && finalizedAt < _window.FromTicks))
            {
                // Paid before the window; or settled for good before it (the server decides no goal
                // for a finalized run, whatever a later release's target).
                continue;
            }
            if (CancelledByWindowEnd(key))
            {
                if (tally.RunsCounted.Contains(run))
                {
                    tally.Notes.Add($"run {run}: cancelled; its community goal is not projected");
                }
                continue;
            }
            long sum = CommunityGoals.Sum([.. side.States.Select(s => s.Slot(key))]);
            if (sum < goal.Target)
            {
                if (tally.RunsCounted.Contains(run))
                {
                    tally.Notes.Add($"run {run}: community goal not reached by the window's end ({sum} of {goal.Target})");
                }
                continue;
            }
            long granted = 0;
            foreach (var state in side.States)
            {
                foreach (var player in state.Players.OrderBy(p => p.Player, StringComparer.Ordinal))
                {
                    if (player.Find(key) is { IsParticipant: true, CommunityGoalGranted: false })
                    {
                        tally.Add(PendingGrant.Of(CommunityGoals.Cause(definition, run, player.Player), rules.ReleaseId, _window.ToTicks, null));
                        granted++;
                    }
                }
            }
            tally.Notes.Add($"run {run}: community goal reached in the window ({sum} of {goal.Target}): {granted} rewards projected");
        }
    }

    /// <summary>A run that ends in (from, to] has its final leaderboard at the window's end: its prizes are projected from it.</summary>
    private void ProjectPrizes(Side side, EventDefinition definition, LiveRules rules, EventTally tally, SortedSet<long> runs)
    {
        foreach (long run in runs)
        {
            if (EventRuns.Run(definition.Schedule, run) is not { } times)
            {
                continue;
            }
            var key = new RunKey(definition.Id, run);
            long end = times.End.UtcTicks;
            if (end <= _window.FromTicks)
            {
                continue;
            }
            if (end > _window.ToTicks)
            {
                if (tally.RunsCounted.Contains(run))
                {
                    tally.Notes.Add($"run {run}: prizes not projected: the run ends at {Format(times.End)}, after the window");
                }
                continue;
            }
            if (CancelledByWindowEnd(key))
            {
                tally.Notes.Add($"run {run}: cancelled; no prizes");
                continue;
            }
            int deepest = Math.Min(Prizes.DeepestRank(definition), PartitionLeaderboard.MaxTop);
            var tops = side.States.Select(s => s.Board(key) is { } board ? board.Top(deepest) : []).ToList();
            var causes = Prizes.Causes(definition, run, Leaderboards.MergeTop(tops, deepest));
            foreach (var cause in causes)
            {
                tally.Add(PendingGrant.Of(cause, rules.ReleaseId, times.GraceEnd.UtcTicks, null));
            }
            tally.Notes.Add($"run {run}: {causes.Count} prizes projected from the final leaderboard (the run ends at {Format(times.End)}; " +
                $"the server pays them after the grace period, from {Format(times.GraceEnd)})");
        }
    }

    private static string Format(DateTimeOffset time) => time.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Learns the goals recorded before the window, then gives the baseline the state and the candidate a copy of it.</summary>
    private void Fork()
    {
        foreach (var goal in _goalsBefore)
        {
            var rules = _releaseOf(goal.ReleaseRef);
            var key = new RunKey(goal.EventId, goal.Run);
            var definition = rules.FindEvent(goal.EventId);
            foreach (var state in _shared)
            {
                if (definition is null)
                {
                    state.LearnGoal(key);
                }
                else
                {
                    // Marks every participant so far as paid (they were, in bulk or as they joined).
                    _ = state.GoalReached(definition, goal.Run, rules.ReleaseId, goal.AtTicks, _ => NoneGranted);
                }
            }
        }
        _baseline.States = _shared;
        _candidate.States = [.. _shared.Select(Copy)];
        _shared = [];
        if (_baseline.Fixed is null && _lastRefBefore != 0)
        {
            // The release in force when the window began.
            _baseline.Adopt(_lastRefBefore, _releaseOf(_lastRefBefore));
        }
        _forked = true;
    }

    /// <summary>A deep copy of a partition's state, through its snapshot format (and the goals it knows, which snapshots do not hold).</summary>
    private PartitionState Copy(PartitionState state)
    {
        var copy = new PartitionState(state.Partition);
        copy.Restore(state.Seq, StateCodec.EncodePartition(state.Slots), state.Players.Select(p => (p.Player, StateCodec.EncodePlayer(p))));
        foreach (var key in _goalKnownBefore)
        {
            copy.LearnGoal(key);
        }
        return copy;
    }

    /// <summary>One side: its partition states, the release(s) it runs, and its tallies.</summary>
    private sealed class Side
    {
        private readonly Dictionary<ActionDecoder, RecordValues> _scratch = [];
        private readonly Dictionary<string, EventTally> _tallies = new(StringComparer.Ordinal);
        private readonly HashSet<string> _participants = new(StringComparer.Ordinal);
        private readonly List<string> _releaseIds = [];
        private readonly List<PendingGrant> _owed = [];
        private readonly Action<RunKey, ProgressResult> _counted;
        private long _adoptedRef = -1;
        private PartitionState? _state;
        private string _player = "";
        private bool _matched;
        private long _actionsMatched;
        private long _actionsRefused;

        public Side(LiveRules? fixedRules)
        {
            Fixed = fixedRules;
            _counted = Counted;
            if (fixedRules is not null)
            {
                Adopt(0, fixedRules);
            }
        }

        /// <summary>The one release of this side; null for a baseline that follows the release recorded on each action.</summary>
        public LiveRules? Fixed { get; }

        public PartitionState[] States { get; set; } = [];

        /// <summary>The event definitions in force, by id: those of the release that last came into force and defines the event.</summary>
        public Dictionary<string, (EventDefinition Definition, LiveRules Rules)> Events { get; } = new(StringComparer.Ordinal);

        /// <summary>Puts a release's events in force (when the recorded release changes; once for a fixed side).</summary>
        public void Adopt(long releaseRef, LiveRules rules)
        {
            if (releaseRef == _adoptedRef)
            {
                return;
            }
            _adoptedRef = releaseRef;
            foreach (var definition in rules.Events)
            {
                Events[definition.Id] = (definition, rules);
            }
            if (!_releaseIds.Contains(rules.ReleaseId))
            {
                _releaseIds.Add(rules.ReleaseId);
            }
        }

        public EventTally Tally(string eventId)
        {
            if (!_tallies.TryGetValue(eventId, out var tally))
            {
                tally = new EventTally(eventId);
                _tallies.Add(eventId, tally);
            }
            return tally;
        }

        /// <summary>
        /// Applies a window action with <paramref name="rules"/> as the partition executor would: an
        /// action of a declared type whose data the schema refuses is rejected (not sequenced);
        /// the others are applied, and what they count and grant is tallied.
        /// </summary>
        public void Apply(int partition, LiveAction action, LiveRules? rules, RunControls controls)
        {
            var state = States[partition];
            RecordValues? decoded = null;
            if (rules?.Release.DecoderFor(action.Type) is { } decoder)
            {
                if (!_scratch.TryGetValue(decoder, out decoded))
                {
                    decoded = new RecordValues(decoder.Layout);
                    _scratch.Add(decoder, decoded);
                }
                if (!decoder.TryDecode(action.Data, decoded, out _))
                {
                    _actionsRefused++;
                    return;
                }
            }
            _state = state;
            _player = action.Player;
            _matched = false;
            _owed.Clear();
            state.Apply(action, rules, decoded, controls, _owed, _counted);
            if (_matched)
            {
                _actionsMatched++;
            }
            foreach (var grant in _owed)
            {
                Tally(grant.Cause.EventId).Add(grant);
            }
        }

        private void Counted(RunKey run, ProgressResult result)
        {
            var tally = Tally(run.EventId);
            tally.ActionsMatched++;
            tally.RunsCounted.Add(run.Run);
            _matched = true;
            if (result.Added > 0)
            {
                tally.Points = result.Added > long.MaxValue - tally.Points
                    ? throw new SimulationException(SimulationException.AmountOverflow, $"the points added to {run.EventId} in the window pass {long.MaxValue}")
                    : tally.Points + result.Added;
                // The state's own string for the player (the log's rows are fresh strings): the sets
                // then cost their entries only.
                string player = _state!.FindPlayer(_player)?.Player ?? _player;
                tally.Participants.Add(player);
                _participants.Add(player);
            }
        }

        public SideResult Result()
        {
            var events = new SortedDictionary<string, EventTally>(StringComparer.Ordinal);
            foreach (var (id, (definition, rules)) in Events)
            {
                var tally = Tally(id);
                tally.ReleaseId = rules.ReleaseId;
                tally.HasCommunityGoal = definition.CommunityGoal is not null;
                tally.HasPrizes = definition.Prizes.Count > 0;
                events[id] = tally;
            }
            return new SideResult
            {
                ReleaseIds = [.. _releaseIds],
                Events = events,
                Participants = _participants.Count,
                ActionsMatched = _actionsMatched,
                ActionsRefused = _actionsRefused,
            };
        }
    }
}
