using Showrunner.Core.LiveEvents;
using Showrunner.Core.Rules.Model;
using Xunit.Abstractions;
using static Showrunner.Core.Tests.LiveEvents.LiveEventFixtures;

namespace Showrunner.Core.Tests.LiveEvents;

/// <summary>
/// Run lifecycle: the clock moves each run through scheduled → active → grace → finalizing exactly
/// once, whatever the caller's timing (late, repeated, crashing between computing and recording);
/// finalized only when reported; operators pause, resume and cancel within the rules.
/// </summary>
[Trait("Category", "Unit")]
public sealed class TransitionsTests(ITestOutputHelper output)
{
    private static void Record(List<RunTransition> recorded, IEnumerable<RunTransition> transitions) => recorded.AddRange(transitions);

    [Fact]
    public void One_off_event_moves_through_its_phases_once_at_the_times_they_were_due()
    {
        var definition = OneOff();
        var recorded = new List<RunTransition>();

        Assert.Empty(Transitions.Due(definition, recorded, At(-1)));

        var atStart = Transitions.Due(definition, recorded, At(0));
        Assert.Equal([new RunTransition("ev", 0, 0, RunPhase.Scheduled, RunPhase.Active, At(0), TransitionCause.Schedule)], atStart);
        Record(recorded, atStart);
        Assert.Empty(Transitions.Due(definition, recorded, At(0)));
        Assert.Empty(Transitions.Due(definition, recorded, At(1.5)));

        var atEnd = Transitions.Due(definition, recorded, At(2.5));
        Assert.Equal([new RunTransition("ev", 0, 1, RunPhase.Active, RunPhase.Grace, At(2), TransitionCause.Schedule)], atEnd);
        Record(recorded, atEnd);

        var afterGrace = Transitions.Due(definition, recorded, At(3));
        Assert.Equal([new RunTransition("ev", 0, 2, RunPhase.Grace, RunPhase.Finalizing, At(3), TransitionCause.Schedule)], afterGrace);
        Record(recorded, afterGrace);

        // Finalizing waits for the caller, however long.
        Assert.Empty(Transitions.Due(definition, recorded, At(1000)));
        Assert.Equal(RunPhase.Finalizing, Transitions.RecordedPhase(definition, 0, recorded));

        var done = Transitions.FinalizationDone(definition, recorded, 0, At(3.1));
        Assert.True(done.Succeeded);
        Assert.Equal([new RunTransition("ev", 0, 3, RunPhase.Finalizing, RunPhase.Finalized, At(3.1), TransitionCause.Finalization)], done.Transitions);
        Record(recorded, done.Transitions);

        Assert.Equal(LifecycleErrors.NotFinalizing, Transitions.FinalizationDone(definition, recorded, 0, At(3.2)).Error);
        Assert.Empty(Transitions.Due(definition, recorded, At(5000)));
        Assert.Equal(RunPhase.Finalized, Transitions.RecordedPhase(definition, 0, recorded));
    }

    [Fact]
    public void After_a_long_downtime_the_whole_missed_sequence_is_due_in_order()
    {
        var definition = OneOff();
        var due = Transitions.Due(definition, [], At(24 * 30));
        Assert.Equal(
            [
                new RunTransition("ev", 0, 0, RunPhase.Scheduled, RunPhase.Active, At(0), TransitionCause.Schedule),
                new RunTransition("ev", 0, 1, RunPhase.Active, RunPhase.Grace, At(2), TransitionCause.Schedule),
                new RunTransition("ev", 0, 2, RunPhase.Grace, RunPhase.Finalizing, At(3), TransitionCause.Schedule),
            ],
            due);
        // Recording only a prefix (a crash) leaves exactly the rest due.
        var rest = Transitions.Due(definition, due.Take(1), At(24 * 30));
        Assert.Equal(due.Skip(1), rest);
    }

    [Fact]
    public void Finalization_cannot_be_reported_before_the_run_is_finalizing()
    {
        var definition = OneOff();
        Assert.Equal(LifecycleErrors.NotFinalizing, Transitions.FinalizationDone(definition, [], 0, At(10)).Error);
        var recorded = Transitions.Due(definition, [], At(2.5)).ToList();
        Assert.Equal(LifecycleErrors.NotFinalizing, Transitions.FinalizationDone(definition, recorded, 0, At(2.5)).Error);
        Assert.Equal(LifecycleErrors.UnknownRun, Transitions.FinalizationDone(definition, recorded, 1, At(2.5)).Error);
    }

    [Fact]
    public void Recurring_event_shows_started_runs_and_only_the_next_one()
    {
        var definition = Daily();
        Assert.Equal([0L], EventRuns.Visible(definition.Schedule, At(-100)).Select(r => r.Index));
        Assert.Equal([0L, 1L], EventRuns.Visible(definition.Schedule, At(0)).Select(r => r.Index));
        Assert.Equal([0L, 1L, 2L, 3L], EventRuns.Visible(definition.Schedule, At(24 * 2 + 5)).Select(r => r.Index));

        var run2 = EventRuns.Run(definition.Schedule, 2)!.Value;
        Assert.Equal(new EventRun(2, At(48), At(50), At(51)), run2);
        Assert.Equal(RunPhase.Scheduled, run2.TimePhase(At(47.9)));
        Assert.Equal(RunPhase.Active, run2.TimePhase(At(48)));
        Assert.Equal(RunPhase.Grace, run2.TimePhase(At(50)));
        Assert.Equal(RunPhase.Finalizing, run2.TimePhase(At(51)));

        // A one-off event has run 0 only, and nothing past year 9999 exists.
        Assert.Null(EventRuns.Run(OneOff().Schedule, 1));
        Assert.Equal([0L], EventRuns.Visible(OneOff().Schedule, At(1e6)).Select(r => r.Index));
        Assert.Null(EventRuns.Run(definition.Schedule, long.MaxValue / 2));
    }

    [Fact]
    public void Recurring_event_after_downtime_gets_every_missed_runs_transitions_ordered_by_time()
    {
        var definition = Daily();
        // Day 2, 16:30: runs 0 and 1 are over (finalizing), run 2 is active, run 3 is next.
        var due = Transitions.Due(definition, [], At(48.5));
        Assert.Equal(
            [
                (0L, RunPhase.Active, At(0)), (0L, RunPhase.Grace, At(2)), (0L, RunPhase.Finalizing, At(3)),
                (1L, RunPhase.Active, At(24)), (1L, RunPhase.Grace, At(26)), (1L, RunPhase.Finalizing, At(27)),
                (2L, RunPhase.Active, At(48)),
            ],
            due.Select(t => (t.Run, t.To, t.At)));
        Assert.Empty(Transitions.Due(definition, due, At(48.5)));
        Assert.Equal(RunPhase.Scheduled, Transitions.RecordedPhase(definition, 3, due));
    }

    [Fact]
    public void A_call_returns_at_most_the_limit_and_the_rest_on_the_next_call()
    {
        var definition = Release("""
            start    = "2025-07-24T16:00:00Z"
            duration = "1m"
            every    = "1m"
            """, OneObjective).Events[0];
        var now = Start + TimeSpan.FromMinutes(600);
        var recorded = new List<RunTransition>();
        int calls = 0;
        while (Transitions.Due(definition, recorded, now) is { Count: > 0 } due)
        {
            Assert.True(due.Count <= Transitions.MaxTransitionsPerCall);
            Record(recorded, due);
            calls++;
        }
        Assert.Equal(2, calls);
        // Runs 0..599 reach finalizing (grace 0s), run 600 is active: 600 × 3 + 1.
        Assert.Equal((600 * 3) + 1, recorded.Count);
        Assert.Equal(recorded.Count, recorded.Select(t => (t.Run, t.To)).Distinct().Count());
    }

    [Fact]
    public void Seeded_crashy_coordinator_reaches_every_phase_exactly_once_in_order()
    {
        int seed = Environment.GetEnvironmentVariable("SHOWRUNNER_LIFECYCLE_SEED") is { } s ? int.Parse(s, System.Globalization.CultureInfo.InvariantCulture) : 4711;
        output.WriteLine($"seed={seed} (replay with SHOWRUNNER_LIFECYCLE_SEED={seed})");
        var random = new Random(seed);
        var definition = Daily();
        for (int trial = 0; trial < 50; trial++)
        {
            var recorded = new List<RunTransition>();
            var now = At(-5);
            var end = At(24 * 6);
            while (now < end)
            {
                // Sometimes a long downtime, sometimes the same instant again.
                now += TimeSpan.FromMinutes(random.Next(4) switch { 0 => 0, 1 => random.Next(1, 30), 2 => random.Next(30, 600), _ => random.Next(600, 3000) });
                var due = Transitions.Due(definition, recorded, now);
                // A crash may record only a prefix of what was due.
                int keep = random.Next(3) == 0 ? random.Next(due.Count + 1) : due.Count;
                Record(recorded, due.Take(keep));
                foreach (var run in recorded.Select(t => t.Run).Distinct().ToList())
                {
                    if (random.Next(2) == 0 && Transitions.RecordedPhase(definition, run, recorded) == RunPhase.Finalizing)
                    {
                        Record(recorded, Transitions.FinalizationDone(definition, recorded, run, now).Transitions);
                    }
                }
            }
            // The last step may have gone past the planned end: check at the time reached.
            end = now;
            Record(recorded, Transitions.Due(definition, recorded, end));
            foreach (var run in EventRuns.Visible(definition.Schedule, end))
            {
                var phases = recorded.Where(t => t.Run == run.Index).OrderBy(t => t.Sequence).ToList();
                // Every clock phase up to the one the clock dictates, each once, in order; then finalized if reported.
                var expected = new[] { RunPhase.Active, RunPhase.Grace, RunPhase.Finalizing }.Where(p => p <= run.TimePhase(end)).ToList();
                var actual = phases.Select(t => t.To).ToList();
                if (actual.LastOrDefault() == RunPhase.Finalized)
                {
                    expected.Add(RunPhase.Finalized);
                }
                Assert.True(expected.SequenceEqual(actual), $"trial {trial} run {run.Index} at {end:O}: {string.Join(",", actual)}, expected {string.Join(",", expected)}");
                foreach (var transition in phases.Where(t => t.Cause == TransitionCause.Schedule))
                {
                    Assert.Equal(run.DueAt(transition.To), transition.At);
                }
            }
        }
    }

    [Fact]
    public void Pause_holds_the_run_and_resume_goes_to_the_phase_the_clock_dictates()
    {
        var definition = OneOff();
        // Pausing catches up first: scheduled → active, then the pause.
        var pause = Transitions.Pause(definition, [], 0, At(0.5));
        Assert.True(pause.Succeeded);
        Assert.Equal(
            [
                new RunTransition("ev", 0, 0, RunPhase.Scheduled, RunPhase.Active, At(0), TransitionCause.Schedule),
                new RunTransition("ev", 0, 1, RunPhase.Active, RunPhase.Paused, At(0.5), TransitionCause.Operator),
            ],
            pause.Transitions);
        var recorded = pause.Transitions.ToList();

        Assert.Equal(LifecycleErrors.NotPausable, Transitions.Pause(definition, recorded, 0, At(0.6)).Error);
        // The clock does not move a paused run, even past its end and grace.
        Assert.Empty(Transitions.Due(definition, recorded, At(10)));

        // Actions count only outside the pause.
        Assert.Equal(RunPhase.Active, Transitions.PhaseAt(definition, 0, recorded, At(0.49)));
        Assert.Equal(RunPhase.Paused, Transitions.PhaseAt(definition, 0, recorded, At(0.5)));
        Assert.Equal(RunPhase.Paused, Transitions.PhaseAt(definition, 0, recorded, At(1.9)));

        var resume = Transitions.Resume(definition, recorded, 0, At(1));
        Assert.Equal([new RunTransition("ev", 0, 2, RunPhase.Paused, RunPhase.Active, At(1), TransitionCause.Operator)], resume.Transitions);
        recorded.AddRange(resume.Transitions);
        Assert.Equal(RunPhase.Active, Transitions.PhaseAt(definition, 0, recorded, At(1)));
        Assert.Equal(RunPhase.Paused, Transitions.PhaseAt(definition, 0, recorded, At(0.99)));
        Assert.Equal(LifecycleErrors.NotPaused, Transitions.Resume(definition, recorded, 0, At(1.1)).Error);

        // Paused again through the end: resume lands in grace, active→grace is never recorded.
        recorded.AddRange(Transitions.Pause(definition, recorded, 0, At(1.5)).Transitions);
        var late = Transitions.Resume(definition, recorded, 0, At(2.5));
        Assert.Equal([new RunTransition("ev", 0, 4, RunPhase.Paused, RunPhase.Grace, At(2.5), TransitionCause.Operator)], late.Transitions);
        recorded.AddRange(late.Transitions);
        Assert.Equal([new RunTransition("ev", 0, 5, RunPhase.Grace, RunPhase.Finalizing, At(3), TransitionCause.Schedule)], Transitions.Due(definition, recorded, At(3)));
    }

    [Fact]
    public void Paused_before_the_start_and_resumed_after_the_grace_goes_straight_to_finalizing()
    {
        var definition = OneOff();
        var recorded = Transitions.Pause(definition, [], 0, At(-1)).Transitions.ToList();
        Assert.Equal([RunPhase.Paused], recorded.Select(t => t.To));
        var resume = Transitions.Resume(definition, recorded, 0, At(5));
        Assert.Equal([RunPhase.Finalizing], resume.Transitions.Select(t => t.To));
        recorded.AddRange(resume.Transitions);
        Assert.Equal(RunPhase.Paused, Transitions.PhaseAt(definition, 0, recorded, At(1)));
        Assert.Empty(Transitions.Due(definition, recorded, At(6)));
    }

    [Fact]
    public void Cancel_is_terminal_and_refused_once_finalization_began()
    {
        var definition = Daily();
        // Run 1 is the next scheduled one and can be cancelled ahead; run 2 is not visible yet.
        Assert.Equal(LifecycleErrors.UnknownRun, Transitions.Cancel(definition, [], 2, At(1)).Error);
        Assert.Equal(LifecycleErrors.UnknownRun, Transitions.Pause(definition, [], -1, At(1)).Error);
        var cancelNext = Transitions.Cancel(definition, [], 1, At(1));
        Assert.Equal([new RunTransition("ev", 1, 0, RunPhase.Scheduled, RunPhase.Cancelled, At(1), TransitionCause.Operator)], cancelNext.Transitions);

        var recorded = Transitions.Due(definition, [], At(1)).Concat(cancelNext.Transitions).ToList();
        // Cancel run 0 while paused.
        recorded.AddRange(Transitions.Pause(definition, recorded, 0, At(1.5)).Transitions);
        recorded.AddRange(Transitions.Cancel(definition, recorded, 0, At(1.6)).Transitions);
        Assert.Equal(RunPhase.Cancelled, Transitions.RecordedPhase(definition, 0, recorded));
        Assert.Equal(RunPhase.Active, Transitions.PhaseAt(definition, 0, recorded, At(1.4)));
        Assert.Equal(RunPhase.Cancelled, Transitions.PhaseAt(definition, 0, recorded, At(1.6)));
        Assert.Equal(LifecycleErrors.NotCancellable, Transitions.Cancel(definition, recorded, 0, At(1.7)).Error);
        Assert.Equal(LifecycleErrors.NotPausable, Transitions.Pause(definition, recorded, 0, At(1.7)).Error);
        Assert.Equal(LifecycleErrors.NotPaused, Transitions.Resume(definition, recorded, 0, At(1.7)).Error);

        // Cancelled runs get nothing from the clock; run 2 proceeds normally.
        var due = Transitions.Due(definition, recorded, At(48.5));
        Assert.Equal([(2L, RunPhase.Active)], due.Select(t => (t.Run, t.To)));

        // Once a run is finalizing, cancel is refused.
        var daily = Transitions.Due(definition, [], At(3)).ToList();
        Assert.Equal(RunPhase.Finalizing, Transitions.RecordedPhase(definition, 0, daily));
        Assert.Equal(LifecycleErrors.NotCancellable, Transitions.Cancel(definition, daily, 0, At(3)).Error);
        // ... and cancel from a stale recorded phase catches up first: at 3h run 0 is finalizing.
        Assert.Equal(LifecycleErrors.NotCancellable, Transitions.Cancel(definition, [], 0, At(3)).Error);
    }

    [Fact]
    public void A_broken_transition_chain_is_refused()
    {
        var definition = OneOff();
        var gap = new RunTransition("ev", 0, 1, RunPhase.Scheduled, RunPhase.Active, At(0), TransitionCause.Schedule);
        Assert.Throws<InvalidOperationException>(() => Transitions.Due(definition, [gap], At(1)));
        var wrongFrom = new RunTransition("ev", 0, 0, RunPhase.Active, RunPhase.Grace, At(0), TransitionCause.Schedule);
        Assert.Throws<InvalidOperationException>(() => Transitions.Due(definition, [wrongFrom], At(1)));
        var backwards = new RunTransition("ev", 0, 0, RunPhase.Scheduled, RunPhase.Finalized, At(0), TransitionCause.Schedule);
        Assert.Throws<InvalidOperationException>(() => Transitions.Due(definition, [backwards], At(1)));
        var otherEvent = new RunTransition("other", 0, 0, RunPhase.Scheduled, RunPhase.Active, At(0), TransitionCause.Schedule);
        Assert.Throws<ArgumentException>(() => Transitions.Due(definition, [otherEvent], At(1)));
    }

    [Fact]
    public void A_run_with_no_grace_passes_through_grace_at_its_end()
    {
        var definition = Release("""
            start    = "2025-07-24T16:00:00Z"
            duration = "2h"
            """, OneObjective).Events[0];
        Assert.Equal(
            [(RunPhase.Active, At(0)), (RunPhase.Grace, At(2)), (RunPhase.Finalizing, At(2))],
            Transitions.Due(definition, [], At(2)).Select(t => (t.To, t.At)));
    }
}
