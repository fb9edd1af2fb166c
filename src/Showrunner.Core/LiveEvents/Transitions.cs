using Showrunner.Core.Rules.Model;

namespace Showrunner.Core.LiveEvents;

/// <summary>
/// The phases of a run. The clock drives <see cref="Scheduled"/> → <see cref="Active"/> →
/// <see cref="Grace"/> → <see cref="Finalizing"/>; the caller reports <see cref="Finalized"/> once
/// prizes are granted; operators move a run to <see cref="Paused"/> and back, or to
/// <see cref="Cancelled"/> (terminal; what was granted stays granted). The numeric order of the
/// clock-driven phases is their order in time.
/// </summary>
public enum RunPhase : byte
{
    Scheduled = 0,
    Active = 1,
    Grace = 2,
    Finalizing = 3,
    Finalized = 4,
    Paused = 5,
    Cancelled = 6,
}

/// <summary>Why a transition happened.</summary>
public enum TransitionCause : byte
{
    /// <summary>The clock reached the phase's time (the transition's time is when it was due, not when it was recorded).</summary>
    Schedule = 0,
    /// <summary>An operator paused, resumed or cancelled the run.</summary>
    Operator = 1,
    /// <summary>The caller reported that finalization (prize grants) is done.</summary>
    Finalization = 2,
}

/// <summary>
/// One recorded change of a run's phase. A run's transitions form an append-only chain:
/// <see cref="Sequence"/> counts 0, 1, 2, … and each <see cref="From"/> is the previous
/// <see cref="To"/> (the first starts from <see cref="RunPhase.Scheduled"/>). A store that keys
/// transitions by (event, run, sequence) refuses a second writer of the same step.
/// </summary>
public sealed record RunTransition(
    string EventId,
    long Run,
    int Sequence,
    RunPhase From,
    RunPhase To,
    DateTimeOffset At,
    TransitionCause Cause)
{
    public RunKey Key => new(EventId, Run);
}

/// <summary>Stable codes for refused operator actions and finalization reports.</summary>
public static class LifecycleErrors
{
    /// <summary>The run does not exist or has not become visible yet (only started runs and the next one are).</summary>
    public const string UnknownRun = "run.unknown";
    /// <summary>Pause is allowed only while scheduled, active or in grace.</summary>
    public const string NotPausable = "run.not_pausable";
    /// <summary>Resume is allowed only while paused.</summary>
    public const string NotPaused = "run.not_paused";
    /// <summary>Cancel is refused once finalization has begun (prizes are being granted) and after the end.</summary>
    public const string NotCancellable = "run.not_cancellable";
    /// <summary>Finalization can be reported done only while the run is finalizing.</summary>
    public const string NotFinalizing = "run.not_finalizing";
}

/// <summary>The transitions to record for an operator action or a finalization report, or a stable error code.</summary>
public sealed record LifecycleResult(IReadOnlyList<RunTransition> Transitions, string? Error)
{
    public bool Succeeded => Error is null;

    public static LifecycleResult Refused(string error) => new([], error);
}

/// <summary>
/// A run's recorded history, replayed and checked. A broken chain (a gap in sequence numbers, a
/// <c>From</c> that is not the previous <c>To</c>, a transition out of a terminal phase) is a broken
/// invariant of the store and throws.
/// </summary>
internal sealed class RunHistory
{
    private readonly List<RunTransition> _transitions = [];

    public RunHistory(RunKey key) => Key = key;

    public RunKey Key { get; }

    /// <summary>The phase after the last recorded transition (<see cref="RunPhase.Scheduled"/> when none).</summary>
    public RunPhase Phase { get; private set; } = RunPhase.Scheduled;

    public IReadOnlyList<RunTransition> Transitions => _transitions;

    /// <summary>The sequence number the next transition of this run gets.</summary>
    public int NextSequence => _transitions.Count;

    public void Append(RunTransition transition)
    {
        ArgumentNullException.ThrowIfNull(transition);
        if (transition.Key != Key || transition.Sequence != _transitions.Count || transition.From != Phase)
        {
            throw new InvalidOperationException(
                $"Broken transition chain for {Key.EventId} run {Key.Run}: expected sequence {_transitions.Count} from {Phase}, got {transition.Sequence} {transition.From}→{transition.To}.");
        }
        if (!IsAllowed(transition.From, transition.To, transition.Cause))
        {
            throw new InvalidOperationException(
                $"Transition {transition.From}→{transition.To} ({transition.Cause}) is not allowed for {Key.EventId} run {Key.Run}.");
        }
        _transitions.Add(transition);
        Phase = transition.To;
    }

    /// <summary>
    /// Groups an event's recorded transitions (any runs, any order) by run and replays each run's
    /// chain in sequence order.
    /// </summary>
    public static Dictionary<long, RunHistory> Of(string eventId, IEnumerable<RunTransition> recorded)
    {
        ArgumentNullException.ThrowIfNull(recorded);
        var histories = new Dictionary<long, RunHistory>();
        foreach (var transition in recorded.OrderBy(t => t.Run).ThenBy(t => t.Sequence))
        {
            if (!string.Equals(transition.EventId, eventId, StringComparison.Ordinal))
            {
                throw new ArgumentException($"A transition of event {transition.EventId} was passed for event {eventId}.", nameof(recorded));
            }
            if (!histories.TryGetValue(transition.Run, out var history))
            {
                history = new RunHistory(transition.Key);
                histories.Add(transition.Run, history);
            }
            history.Append(transition);
        }
        return histories;
    }

    // The transition rules, in one place.
    private static bool IsAllowed(RunPhase from, RunPhase to, TransitionCause cause) => cause switch
    {
        TransitionCause.Schedule => from is RunPhase.Scheduled or RunPhase.Active or RunPhase.Grace
            && to is RunPhase.Active or RunPhase.Grace or RunPhase.Finalizing
            && to > from,
        TransitionCause.Operator => (to == RunPhase.Paused && from is RunPhase.Scheduled or RunPhase.Active or RunPhase.Grace)
            || (from == RunPhase.Paused && to is RunPhase.Scheduled or RunPhase.Active or RunPhase.Grace or RunPhase.Finalizing)
            || (to == RunPhase.Cancelled && from is RunPhase.Scheduled or RunPhase.Active or RunPhase.Grace or RunPhase.Paused),
        TransitionCause.Finalization => from == RunPhase.Finalizing && to == RunPhase.Finalized,
        _ => false,
    };
}

/// <summary>
/// The lifecycle of an event's runs as a pure function of the definition, the recorded
/// transitions and the time the caller passes in.
/// <para>
/// Contract for exactly once: the caller (one coordinator per event at a time) records the
/// transitions <see cref="Due"/> returns, in order, durably; a prefix is fine. Calling again with
/// the recorded list returns only what is still missing, so a crash between computing and
/// recording, or after recording part of the list, neither repeats nor skips a phase. The store
/// should key transitions by (event, run, sequence) so that two writers cannot both append the
/// same step.
/// </para>
/// <para>
/// Phases never go back: if an allowed schedule change (a longer duration) moves a run's end after
/// its recorded grace, the run stays in grace. A pause holds the run where it is: the clock does
/// not move a paused run, and resume goes to the phase the clock dictates at that moment, skipping
/// the phases passed while paused (a run paused through its whole active window never becomes
/// active, and progress never counted while paused).
/// </para>
/// </summary>
public static class Transitions
{
    /// <summary>The most transitions one call of <see cref="Due"/> returns; the caller records them and calls again for the rest.</summary>
    public const int MaxTransitionsPerCall = 1_000;

    /// <summary>
    /// The transitions that must be recorded at <paramref name="now"/> for every visible run of
    /// <paramref name="definition"/> (runs started by now, plus the next scheduled one), ordered by
    /// due time, then run index, then sequence; at most <see cref="MaxTransitionsPerCall"/>.
    /// Paused, finalizing, finalized and cancelled runs have nothing due: finalizing waits for
    /// <see cref="FinalizationDone"/>.
    /// </summary>
    public static IReadOnlyList<RunTransition> Due(EventDefinition definition, IEnumerable<RunTransition> recorded, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var histories = RunHistory.Of(definition.Id, recorded);
        var due = new List<RunTransition>();
        long last = EventRuns.LastStarted(definition.Schedule, now);
        for (long index = 0; index <= last; index++)
        {
            histories.TryGetValue(index, out var history);
            due.AddRange(DueFor(definition, EventRuns.Run(definition.Schedule, index)!.Value, history, now));
        }
        // The next scheduled run has nothing due (its start is after now); it is visible, not recorded.
        return due
            .OrderBy(t => t.At)
            .ThenBy(t => t.Run)
            .ThenBy(t => t.Sequence)
            .Take(MaxTransitionsPerCall)
            .ToList();
    }

    /// <summary>
    /// The phase of run <paramref name="run"/> at time <paramref name="at"/> for deciding whether an
    /// action counts: cancelled from the cancel's time on, finalized from the finalization's time on,
    /// paused between a pause and the following resume (at or after the pause's time, before the
    /// resume's), else the phase the clock dictates. Clock phases come from the schedule, not from
    /// the recorded times, so the answer does not depend on how late the coordinator recorded them.
    /// </summary>
    public static RunPhase PhaseAt(EventDefinition definition, long run, IEnumerable<RunTransition> recorded, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var times = EventRuns.Run(definition.Schedule, run)
            ?? throw new ArgumentOutOfRangeException(nameof(run), run, $"Event {definition.Id} has no run {run}.");
        var histories = RunHistory.Of(definition.Id, recorded);
        bool paused = false;
        if (histories.TryGetValue(run, out var history))
        {
            foreach (var transition in history.Transitions)
            {
                if (transition.At > at)
                {
                    break;
                }
                switch (transition.To)
                {
                    case RunPhase.Cancelled:
                        return RunPhase.Cancelled;
                    case RunPhase.Finalized:
                        return RunPhase.Finalized;
                    case RunPhase.Paused:
                        paused = true;
                        break;
                    default:
                        if (transition.From == RunPhase.Paused)
                        {
                            paused = false;
                        }
                        break;
                }
            }
        }
        return paused ? RunPhase.Paused : times.TimePhase(at);
    }

    /// <summary>The recorded phase of a run (after catching up with the clock is the caller's business: see <see cref="Due"/>).</summary>
    public static RunPhase RecordedPhase(EventDefinition definition, long run, IEnumerable<RunTransition> recorded)
    {
        ArgumentNullException.ThrowIfNull(definition);
        return RunHistory.Of(definition.Id, recorded).TryGetValue(run, out var history) ? history.Phase : RunPhase.Scheduled;
    }

    /// <summary>
    /// Pause run <paramref name="run"/> at <paramref name="now"/>. Allowed while scheduled, active or
    /// in grace (after catching up with the clock); the result lists the catch-up transitions of that
    /// run first, then the pause.
    /// </summary>
    public static LifecycleResult Pause(EventDefinition definition, IEnumerable<RunTransition> recorded, long run, DateTimeOffset now) =>
        Operate(definition, recorded, run, now, (phase, _) =>
            phase is RunPhase.Scheduled or RunPhase.Active or RunPhase.Grace ? (RunPhase.Paused, null) : (phase, LifecycleErrors.NotPausable));

    /// <summary>Resume a paused run at <paramref name="now"/>, into the phase the clock dictates then.</summary>
    public static LifecycleResult Resume(EventDefinition definition, IEnumerable<RunTransition> recorded, long run, DateTimeOffset now) =>
        Operate(definition, recorded, run, now, (phase, times) =>
            phase == RunPhase.Paused ? (times.TimePhase(now), null) : (phase, LifecycleErrors.NotPaused));

    /// <summary>
    /// Cancel a run at <paramref name="now"/>: allowed while scheduled, active, in grace or paused.
    /// Refused once finalizing (prizes are being granted; cancelling then would leave a partial set)
    /// and after finalized. Cancelled is terminal; nothing granted is taken back.
    /// </summary>
    public static LifecycleResult Cancel(EventDefinition definition, IEnumerable<RunTransition> recorded, long run, DateTimeOffset now) =>
        Operate(definition, recorded, run, now, (phase, _) =>
            phase is RunPhase.Scheduled or RunPhase.Active or RunPhase.Grace or RunPhase.Paused
                ? (RunPhase.Cancelled, null)
                : (phase, LifecycleErrors.NotCancellable));

    /// <summary>
    /// The caller has granted every prize of run <paramref name="run"/>: finalizing → finalized at
    /// <paramref name="now"/>. Refused unless the recorded phase is finalizing.
    /// </summary>
    public static LifecycleResult FinalizationDone(EventDefinition definition, IEnumerable<RunTransition> recorded, long run, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (EventRuns.Run(definition.Schedule, run) is null || !EventRuns.IsVisible(definition.Schedule, run, now))
        {
            return LifecycleResult.Refused(LifecycleErrors.UnknownRun);
        }
        var histories = RunHistory.Of(definition.Id, recorded);
        if (!histories.TryGetValue(run, out var history) || history.Phase != RunPhase.Finalizing)
        {
            return LifecycleResult.Refused(LifecycleErrors.NotFinalizing);
        }
        return new LifecycleResult(
            [new RunTransition(definition.Id, run, history.NextSequence, RunPhase.Finalizing, RunPhase.Finalized, now, TransitionCause.Finalization)],
            null);
    }

    private static LifecycleResult Operate(
        EventDefinition definition,
        IEnumerable<RunTransition> recorded,
        long run,
        DateTimeOffset now,
        Func<RunPhase, EventRun, (RunPhase To, string? Error)> decide)
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (!EventRuns.IsVisible(definition.Schedule, run, now))
        {
            return LifecycleResult.Refused(LifecycleErrors.UnknownRun);
        }
        var times = EventRuns.Run(definition.Schedule, run)!.Value;
        var histories = RunHistory.Of(definition.Id, recorded);
        histories.TryGetValue(run, out var history);
        var catchUp = DueFor(definition, times, history, now);
        var phase = catchUp.Count > 0 ? catchUp[^1].To : history?.Phase ?? RunPhase.Scheduled;
        var (to, error) = decide(phase, times);
        if (error is not null)
        {
            return LifecycleResult.Refused(error);
        }
        int sequence = (history?.NextSequence ?? 0) + catchUp.Count;
        return new LifecycleResult([.. catchUp, new RunTransition(definition.Id, run, sequence, phase, to, now, TransitionCause.Operator)], null);
    }

    /// <summary>The clock-driven transitions one run still needs at <paramref name="now"/>, in order.</summary>
    private static List<RunTransition> DueFor(EventDefinition definition, EventRun times, RunHistory? history, DateTimeOffset now)
    {
        var due = new List<RunTransition>();
        var phase = history?.Phase ?? RunPhase.Scheduled;
        if (phase is not (RunPhase.Scheduled or RunPhase.Active or RunPhase.Grace))
        {
            return due;
        }
        var target = times.TimePhase(now);
        int sequence = history?.NextSequence ?? 0;
        for (var next = phase + 1; next <= target; next++)
        {
            due.Add(new RunTransition(definition.Id, times.Index, sequence++, next - 1, next, times.DueAt(next), TransitionCause.Schedule));
        }
        return due;
    }
}
