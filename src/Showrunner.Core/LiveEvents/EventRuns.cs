using Showrunner.Core.Rules.Model;

namespace Showrunner.Core.LiveEvents;

/// <summary>One run of an event: the event id and the run's index (0 for a one-off event).</summary>
public readonly record struct RunKey(string EventId, long Run);

/// <summary>
/// The times of one run: it is active in [<see cref="Start"/>, <see cref="End"/>), in grace in
/// [<see cref="End"/>, <see cref="GraceEnd"/>), and due for finalization from
/// <see cref="GraceEnd"/> on. All times are UTC.
/// </summary>
public readonly record struct EventRun(long Index, DateTimeOffset Start, DateTimeOffset End, DateTimeOffset GraceEnd)
{
    /// <summary>The phase the clock alone dictates at <paramref name="now"/> (never paused, cancelled or finalized).</summary>
    public RunPhase TimePhase(DateTimeOffset now) =>
        now < Start ? RunPhase.Scheduled
        : now < End ? RunPhase.Active
        : now < GraceEnd ? RunPhase.Grace
        : RunPhase.Finalizing;

    /// <summary>When the clock moves a run into <paramref name="phase"/>; only for the three time-driven phases.</summary>
    public DateTimeOffset DueAt(RunPhase phase) => phase switch
    {
        RunPhase.Active => Start,
        RunPhase.Grace => End,
        RunPhase.Finalizing => GraceEnd,
        _ => throw new ArgumentOutOfRangeException(nameof(phase), phase, "Only active, grace and finalizing are driven by the clock."),
    };
}

/// <summary>
/// The runs of an event's schedule. A one-off event has run 0; a recurring one (<c>every</c>) has
/// run <c>i</c> starting at <c>start + i × every</c>. Enumeration is bounded by the clock: the runs
/// that have started by <c>now</c> plus the next scheduled one, never an unbounded future. A run
/// whose times would not fit in <see cref="DateTimeOffset"/> (past year 9999) does not exist.
/// </summary>
public static class EventRuns
{
    /// <summary>Run <paramref name="index"/>, or null when the schedule has no such run.</summary>
    public static EventRun? Run(ScheduleDefinition schedule, long index)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        if (index < 0 || (schedule.Every is null && index > 0))
        {
            return null;
        }
        try
        {
            long startTicks = checked(schedule.Start.UtcTicks + (index * (schedule.Every?.Ticks ?? 0)));
            long endTicks = checked(startTicks + schedule.Duration.Ticks);
            long graceEndTicks = checked(endTicks + schedule.Grace.Ticks);
            if (graceEndTicks > DateTimeOffset.MaxValue.UtcTicks)
            {
                return null;
            }
            return new EventRun(index, Utc(startTicks), Utc(endTicks), Utc(graceEndTicks));
        }
        catch (OverflowException)
        {
            return null;
        }
    }

    /// <summary>The index of the last run that has started by <paramref name="now"/> (start ≤ now), or -1.</summary>
    public static long LastStarted(ScheduleDefinition schedule, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        if (now < schedule.Start)
        {
            return -1;
        }
        long index = schedule.Every is { } every ? (now.UtcTicks - schedule.Start.UtcTicks) / every.Ticks : 0;
        // The last started run may not be representable (its grace would pass year 9999): step back.
        while (index >= 0 && Run(schedule, index) is null)
        {
            index--;
        }
        return index;
    }

    /// <summary>
    /// The runs visible at <paramref name="now"/>, in index order: every run with start ≤ now, then
    /// the next scheduled one if the schedule has one. For a recurring event the count grows with
    /// time (one per interval), never with the future.
    /// </summary>
    public static IEnumerable<EventRun> Visible(ScheduleDefinition schedule, DateTimeOffset now)
    {
        long last = LastStarted(schedule, now);
        for (long index = 0; index <= last; index++)
        {
            yield return Run(schedule, index)!.Value;
        }
        if (Run(schedule, last + 1) is { } next)
        {
            yield return next;
        }
    }

    /// <summary>Whether run <paramref name="index"/> is visible at <paramref name="now"/> (started, or the next one).</summary>
    public static bool IsVisible(ScheduleDefinition schedule, long index, DateTimeOffset now) =>
        index >= 0 && index <= LastStarted(schedule, now) + 1 && Run(schedule, index) is not null;

    private static DateTimeOffset Utc(long ticks) => new(ticks, TimeSpan.Zero);
}
