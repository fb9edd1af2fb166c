using Microsoft.Extensions.Logging;
using Showrunner.Core.Ledger;
using Showrunner.Core.LiveEvents;
using Showrunner.Core.Rules.Model;
using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.Partitions;
using Showrunner.Runtime.Releases;
using Showrunner.Storage;

namespace Showrunner.Runtime.LiveEvents;

public enum RunOperation
{
    Pause,
    Resume,
    Cancel,
}

/// <summary>What an operator action on a run did: the transitions recorded, or a stable error code.</summary>
public sealed record RunOperationResult(bool EventFound, string? Error, IReadOnlyList<StoredTransition> Recorded);

/// <summary>
/// Drives the lifecycle of every run of the active release's events, exactly once: on each tick it
/// records what the clock has made due (<see cref="Transitions.Due"/>), decides community goals from
/// the partitions' slots, and finalizes runs — prizes granted through the partitions, then
/// <c>finalized</c> recorded. Operators pause, resume and cancel runs through it. All changes are
/// serialized, so the recorded chain of a run never forks.
/// </summary>
/// <remarks>
/// <para>
/// <b>Operator actions</b> are decided at an ingest stamp (<see cref="IngestPipeline.DecideAtStamp"/>):
/// the new run controls are in force for every batch stamped after the decision, and their record
/// is durable before any such batch commits. So whether an action counted is a function of its
/// logged stamp and the recorded transitions — the same live, after a restart and in reconcile.
/// </para>
/// <para>
/// <b>Finalization</b> waits until no batch stamped before the run's end is in flight (the stamp
/// clock's low-watermark), so the leaderboard it reads is final. A crash anywhere in it repeats the
/// whole step on the next tick: prize grant ids are fixed by the cause, and the partitions skip the
/// ones the ledger already holds, so no prize is paid twice; <c>finalized</c> is recorded last.
/// </para>
/// <para>
/// <b>Community goals</b>: the coordinator sums the partitions' slots and records the goal once per
/// run (in <c>community_goals</c>), then each partition grants its participants; partitions grant
/// later participants themselves as their first points arrive. After a restart the bulk step is
/// repeated for every recorded goal of a run not yet finalized (idempotent, as above).
/// </para>
/// </remarks>
public sealed partial class LifecycleCoordinator : IDisposable
{
    /// <summary>Most rounds of <see cref="Transitions.Due"/> one tick runs per event (each returns at most 1,000).</summary>
    public const int MaxRoundsPerTick = 100;

    /// <summary>Most finalizations of runs that owe nothing one write records (a fresh data directory may have hundreds of past runs).</summary>
    public const int MaxFinalizationsPerWrite = 1_000;

    private readonly IRunStore _store;
    private readonly IRolloutStore _flags;
    private readonly ILedgerStore _ledger;
    private readonly IngestPipeline _pipeline;
    private readonly ReleaseRegister _register;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _changes = new(1, 1);
    private readonly Lock _gate = new();
    private Dictionary<string, List<RunTransition>>? _recorded;
    private Dictionary<RunKey, StoredGoal>? _goals;
    /// <summary>Runs whose recorded goal every partition has granted since this process started.</summary>
    private readonly HashSet<RunKey> _goalsGranted = [];

    public LifecycleCoordinator(IActionStore store, IngestPipeline pipeline, ReleaseRegister register, TimeProvider time, ILogger<LifecycleCoordinator> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store.Runs;
        _flags = store.Rollouts;
        _ledger = store.Ledger;
        _pipeline = pipeline;
        _register = register;
        _time = time;
        _logger = logger;
    }

    /// <summary>The recorded transitions of one event's runs, in (run, sequence) order.</summary>
    internal IReadOnlyList<RunTransition> RecordedFor(string eventId)
    {
        lock (_gate)
        {
            return Recorded().TryGetValue(eventId, out var list) ? [.. list] : [];
        }
    }

    /// <summary>The recorded community goal of a run, or null.</summary>
    public StoredGoal? GoalOf(string eventId, long run)
    {
        lock (_gate)
        {
            return Goals().GetValueOrDefault(new RunKey(eventId, run));
        }
    }

    /// <summary>
    /// Records whatever the clock has made due for the active release's events, decides community
    /// goals and finalizes runs that are due; returns how many transitions were written.
    /// </summary>
    public async Task<int> TickAsync()
    {
        var active = _pipeline.ActiveRelease;
        var entry = _register.Current;
        if (active is null || entry is null || _pipeline.State != RuntimeState.Ready)
        {
            return 0;
        }
        await _changes.WaitAsync().ConfigureAwait(false);
        try
        {
            int written = 0;
            foreach (var definition in active.Loaded.Bundle.Release.Events)
            {
                bool finalizesAtOnce = definition.Prizes.Count == 0 && definition.CommunityGoal is null;
                for (int round = 0; round < MaxRoundsPerTick; round++)
                {
                    var now = _time.GetUtcNow();
                    var recorded = RecordedFor(definition.Id);
                    var due = new List<RunTransition>(Transitions.Due(definition, recorded, now));
                    if (finalizesAtOnce)
                    {
                        due.AddRange(FinalizationsDue(definition, recorded, due, now));
                    }
                    if (due.Count == 0)
                    {
                        break;
                    }
                    written += await RecordAsync(due, entry.Release.Ref).ConfigureAwait(false);
                }
                if (!finalizesAtOnce)
                {
                    written += await SettleAsync(definition, active, entry.Release.Ref).ConfigureAwait(false);
                }
            }
            return written;
        }
        finally
        {
            _changes.Release();
        }
    }

    /// <summary>Community goals and finalization of the runs of one event with prizes or a goal.</summary>
    /// <remarks>
    /// A run that no partition holds points for has no participant, an empty leaderboard and a goal
    /// sum of 0: it owes nothing, so it needs no read of the partitions, and its finalization is
    /// recorded together with every other such run's, up to <see cref="MaxFinalizationsPerWrite"/>
    /// per write. One read of every partition's slots per tick decides which runs those are. On a
    /// fresh data directory an always-live daily event has hundreds of past runs to finalize;
    /// settled one by one (a goal read, a leaderboard read and a write each) they held the current
    /// run's goal back for minutes under load (issue 12, item 8).
    /// </remarks>
    private async Task<int> SettleAsync(EventDefinition definition, RuntimeRelease release, long releaseRef)
    {
        int written = 0;
        var recorded = RecordedFor(definition.Id);
        var open = recorded.GroupBy(t => t.Run)
            .Where(g => g.Last().To is not (RunPhase.Finalized or RunPhase.Cancelled or RunPhase.Scheduled))
            .Select(g => (Run: g.Key, Phase: g.Last().To))
            .OrderBy(r => r.Run)
            .ToList();
        if (open.Count == 0)
        {
            return 0;
        }
        var scored = await RunsWithPointsAsync(definition.Id).ConfigureAwait(false);
        var owingNothing = new List<RunTransition>();
        foreach (var (run, phase) in open)
        {
            var key = new RunKey(definition.Id, run);
            var times = EventRuns.Run(definition.Schedule, run);
            if (times is null)
            {
                continue;
            }
            bool final = phase == RunPhase.Finalizing;
            if (final && !LeaderboardIsFinal(times.Value))
            {
                continue;
            }
            if (!scored.Contains(run) && GoalOf(definition.Id, run) is null)
            {
                if (final)
                {
                    var quiet = Transitions.FinalizationDone(definition, recorded, run, _time.GetUtcNow());
                    if (quiet.Error is null)
                    {
                        owingNothing.AddRange(quiet.Transitions);
                    }
                }
                continue;
            }
            if (definition.CommunityGoal is not null)
            {
                await DecideGoalAsync(definition, key, phase, release, releaseRef).ConfigureAwait(false);
            }
            if (!final)
            {
                continue;
            }
            if (definition.Prizes.Count > 0)
            {
                await GrantPrizesAsync(definition, key, release).ConfigureAwait(false);
            }
            var now = _time.GetUtcNow();
            var done = Transitions.FinalizationDone(definition, RecordedFor(definition.Id), run, now);
            if (done.Error is null)
            {
                written += await RecordAsync([.. done.Transitions], releaseRef).ConfigureAwait(false);
            }
        }
        foreach (var chunk in owingNothing.Chunk(MaxFinalizationsPerWrite))
        {
            written += await RecordAsync([.. chunk], releaseRef).ConfigureAwait(false);
        }
        if (owingNothing.Count > 0)
        {
            LogQuietRunsFinalized(_logger, definition.Id, owingNothing.Count);
        }
        return written;
    }

    /// <summary>The runs of an event that some partition holds points for (a slot above 0), read from every partition at once.</summary>
    private async Task<HashSet<long>> RunsWithPointsAsync(string eventId)
    {
        var perPartition = await _pipeline.ReadAllAsync(p =>
        {
            var runs = new List<long>();
            foreach (var (key, slot) in p.Live.Slots)
            {
                if (slot > 0 && key.EventId == eventId)
                {
                    runs.Add(key.Run);
                }
            }
            return runs;
        }).ConfigureAwait(false);
        return [.. perPartition.SelectMany(r => r)];
    }

    /// <summary>Whether every action that can count for the run (stamped before its end) has been processed.</summary>
    private bool LeaderboardIsFinal(EventRun times)
    {
        long end = times.End.UtcTicks;
        return _pipeline.StampNow >= end && (_pipeline.OldestInFlightStamp is not { } oldest || oldest >= end);
    }

    private async Task DecideGoalAsync(EventDefinition definition, RunKey key, RunPhase phase, RuntimeRelease release, long releaseRef)
    {
        StoredGoal? goal;
        lock (_gate)
        {
            goal = Goals().GetValueOrDefault(key);
        }
        if (goal is null)
        {
            // The slots are read from live state, which includes actions not committed yet. A goal
            // must not be recorded on points whose commit then fails (a full disk): the participants
            // the store holds would fall short of it. So the decision is taken only when the
            // pipeline is ready, then everything sequenced before the read is flushed, and the
            // decision stands only if no write failed meanwhile (a failed write starts a new
            // recovery; a flush behind it fails).
            var recovery = _pipeline.RecoveryTask;
            if (_pipeline.State != RuntimeState.Ready)
            {
                return;
            }
            long[] slots = await _pipeline.ReadAllAsync(p => p.Live.Slot(key)).ConfigureAwait(false);
            var now = _time.GetUtcNow();
            var reached = CommunityGoals.Decide(definition, key.Run, phase, slots, null, now);
            if (reached is null)
            {
                return;
            }
            await _pipeline.FlushAsync().ConfigureAwait(false);
            if (!ReferenceEquals(recovery, _pipeline.RecoveryTask) || _pipeline.State != RuntimeState.Ready)
            {
                LogGoalDeferred(_logger, key.EventId, key.Run);
                return;
            }
            var record = new StoredGoal(key.EventId, key.Run, reached.At.UtcTicks, reached.Sum, releaseRef);
            if (!await _pipeline.RunOnWriterAsync(() => _ledger.AppendGoal(record)).ConfigureAwait(false))
            {
                // Recorded before (a crash after recording, before granting): take the store's word.
                lock (_gate)
                {
                    _goals = null;
                }
            }
            lock (_gate)
            {
                goal = Goals().GetValueOrDefault(key) ?? record;
                Goals()[key] = goal;
            }
            LogGoalReached(_logger, key.EventId, key.Run, reached.Sum, definition.CommunityGoal!.Target);
        }
        if (_goalsGranted.Contains(key))
        {
            return;
        }
        var at = goal.AtTicks;
        var grants = new List<Task<int>>();
        for (int p = 0; p < _pipeline.PartitionCount; p++)
        {
            grants.Add(_pipeline.OnPartitionAsync(p, partition =>
            {
                var owed = partition.Live.GoalReached(definition, key.Run, release.Id, at, AlreadyGranted);
                return (owed.Count, owed);
            }));
        }
        int granted = (await Task.WhenAll(grants).ConfigureAwait(false)).Sum();
        _goalsGranted.Add(key);
        LogGoalGranted(_logger, key.EventId, key.Run, granted);
    }

    private async Task GrantPrizesAsync(EventDefinition definition, RunKey key, RuntimeRelease release)
    {
        int deepest = Math.Min(Prizes.DeepestRank(definition), PartitionLeaderboard.MaxTop);
        var tops = await _pipeline.ReadAllAsync(p => p.Live.Board(key) is { } board ? board.Top(deepest) : [])
            .ConfigureAwait(false);
        var merged = Leaderboards.MergeTop(tops, deepest);
        var causes = Prizes.Causes(definition, key.Run, merged);
        long at = _time.GetUtcNow().UtcTicks;
        var grants = new List<Task<int>>();
        foreach (var group in causes.GroupBy(c => _pipeline.Router.PartitionOf(c.Player)))
        {
            var owed = group.ToList();
            grants.Add(_pipeline.OnPartitionAsync(group.Key, _ =>
            {
                var pending = PartitionState.Owed(owed, release.Id, at, AlreadyGranted);
                return (pending.Count, pending);
            }));
        }
        int granted = (await Task.WhenAll(grants).ConfigureAwait(false)).Sum();
        LogPrizesGranted(_logger, key.EventId, key.Run, granted, causes.Count);
    }

    /// <summary>The grant ids (hex) among <paramref name="causes"/> that the ledger holds (runs on an executor).</summary>
    private ISet<string> AlreadyGranted(IReadOnlyList<GrantCause> causes)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        _ledger.FindGrants([.. causes.Select(c => Convert.FromHexString(c.GrantId))], found);
        return found;
    }

    /// <summary>Finalization of the runs that are (or are about to be) finalizing, for an event that owes nothing at the end.</summary>
    private static IEnumerable<RunTransition> FinalizationsDue(EventDefinition definition, IReadOnlyList<RunTransition> recorded, List<RunTransition> due, DateTimeOffset now)
    {
        var after = recorded.Concat(due).ToList();
        foreach (var run in due.Where(t => t.To == RunPhase.Finalizing).Select(t => t.Run)
            .Concat(recorded.GroupBy(t => t.Run).Where(g => g.Last().To == RunPhase.Finalizing).Select(g => g.Key))
            .Distinct().Order())
        {
            var done = Transitions.FinalizationDone(definition, after, run, now);
            if (done.Error is null)
            {
                foreach (var transition in done.Transitions)
                {
                    yield return transition;
                }
            }
        }
    }

    /// <summary>Pauses, resumes or cancels one run of an event of the active release.</summary>
    public async Task<RunOperationResult> OperateAsync(string eventId, long run, RunOperation operation)
    {
        var definition = _pipeline.ActiveRelease?.Loaded.Bundle.Release.Events.FirstOrDefault(e => e.Id == eventId);
        var entry = _register.Current;
        if (definition is null || entry is null)
        {
            return new RunOperationResult(false, null, []);
        }
        await _changes.WaitAsync().ConfigureAwait(false);
        try
        {
            var recorded = RecordedFor(eventId);
            long releaseRef = entry.Release.Ref;
            // Decided at an ingest stamp: in force for every batch stamped later, and durable before any of them commits.
            var (result, rows, written) = _pipeline.DecideAtStamp(stamp =>
            {
                var now = new DateTimeOffset(stamp, TimeSpan.Zero);
                var result = operation switch
                {
                    RunOperation.Pause => Transitions.Pause(definition, recorded, run, now),
                    RunOperation.Resume => Transitions.Resume(definition, recorded, run, now),
                    _ => Transitions.Cancel(definition, recorded, run, now),
                };
                if (result.Error is not null)
                {
                    return (result, (List<StoredTransition>?)null, (Task<bool>?)null);
                }
                var rows = result.Transitions.Select(t => ToStored(t, stamp, releaseRef)).ToList();
                List<RunTransition> all;
                lock (_gate)
                {
                    all = [.. Recorded().Values.SelectMany(l => l), .. result.Transitions];
                }
                _pipeline.PublishControls(RunControls.From(all, _pipeline.EventFlags));
                return (result, rows, _pipeline.RunOnWriterOrFailStopAsync(() => _store.Append(rows)));
            });
            if (result.Error is not null)
            {
                return new RunOperationResult(true, result.Error, []);
            }
            if (!await written!.ConfigureAwait(false))
            {
                // Another writer recorded this step first (two processes on one data directory): the
                // pipeline is reloading from the store; so is this view.
                lock (_gate)
                {
                    _recorded = null;
                }
                throw new InvalidOperationException($"The transition of {eventId} run {run} was recorded by another writer.");
            }
            Remember(result.Transitions);
            LogOperated(_logger, operation.ToString().ToLowerInvariant(), eventId, run);
            return new RunOperationResult(true, null, rows!);
        }
        finally
        {
            _changes.Release();
        }
    }

    /// <summary>
    /// Flips an event's kill switch, decided at an ingest stamp like a pause: in force for every
    /// batch stamped later (on every partition before this returns) and durable before any of them
    /// commits. A killed event counts no points and grants no tiers in any run until it is enabled again.
    /// </summary>
    public async Task<StoredFlag> SetEventFlagAsync(string eventId, bool enabled, string actor, string? reason)
    {
        await _changes.WaitAsync().ConfigureAwait(false);
        try
        {
            var (flag, written) = _pipeline.DecideAtStamp(stamp =>
            {
                var flags = new List<EventFlag>(_pipeline.EventFlags) { new(eventId, enabled, stamp) };
                List<RunTransition> all;
                lock (_gate)
                {
                    all = [.. Recorded().Values.SelectMany(l => l)];
                }
                _pipeline.EventFlags = flags;
                _pipeline.PublishControls(RunControls.From(all, flags));
                StoredFlag? stored = null;
                var task = _pipeline.RunOnWriterOrFailStopAsync(() =>
                {
                    stored = _flags.AppendFlag("event", eventId, enabled, stamp, actor, reason);
                    return true;
                });
                return (new Func<StoredFlag>(() => stored!), task);
            });
            await written.ConfigureAwait(false);
            LogFlag(_logger, eventId, enabled ? "enabled" : "killed", actor);
            return flag();
        }
        finally
        {
            _changes.Release();
        }
    }

    private async Task<int> RecordAsync(List<RunTransition> transitions, long releaseRef)
    {
        long recordedAt = _time.GetUtcNow().UtcTicks;
        var rows = transitions.Select(t => ToStored(t, recordedAt, releaseRef)).ToList();
        bool written = await _pipeline.RunOnWriterAsync(() => _store.Append(rows)).ConfigureAwait(false);
        if (!written)
        {
            // Someone recorded one of these steps first (only possible with two processes on one
            // store): forget the cache and take the store's word.
            lock (_gate)
            {
                _recorded = null;
            }
            return 0;
        }
        Remember(transitions);
        return transitions.Count;
    }

    private void Remember(IReadOnlyList<RunTransition> transitions)
    {
        lock (_gate)
        {
            var recorded = Recorded();
            foreach (var transition in transitions)
            {
                if (!recorded.TryGetValue(transition.EventId, out var list))
                {
                    list = [];
                    recorded[transition.EventId] = list;
                }
                list.Add(transition);
            }
        }
        foreach (var transition in transitions)
        {
            LogTransition(_logger, transition.EventId, transition.Run, Name(transition.From), Name(transition.To), transition.At);
        }
    }

    private Dictionary<string, List<RunTransition>> Recorded()
    {
        if (_recorded is null)
        {
            _recorded = new Dictionary<string, List<RunTransition>>(StringComparer.Ordinal);
            foreach (var row in _store.Load())
            {
                if (!_recorded.TryGetValue(row.EventId, out var list))
                {
                    list = [];
                    _recorded[row.EventId] = list;
                }
                list.Add(FromStored(row));
            }
        }
        return _recorded;
    }

    private Dictionary<RunKey, StoredGoal> Goals() =>
        _goals ??= _ledger.LoadGoals().ToDictionary(g => new RunKey(g.EventId, g.Run));

    internal static string Name(RunPhase phase) => phase.ToString().ToLowerInvariant();

    private static StoredTransition ToStored(RunTransition t, long recordedAt, long releaseRef) =>
        new(t.EventId, t.Run, t.Sequence, Name(t.From), Name(t.To), t.At.UtcTicks, t.Cause.ToString().ToLowerInvariant(), recordedAt, releaseRef);

    internal static RunTransition FromStored(StoredTransition row) =>
        new(row.EventId, row.Run, row.Sequence, Enum.Parse<RunPhase>(row.From, ignoreCase: true), Enum.Parse<RunPhase>(row.To, ignoreCase: true),
            new DateTimeOffset(row.AtTicks, TimeSpan.Zero), Enum.Parse<TransitionCause>(row.Cause, ignoreCase: true));

    public void Dispose() => _changes.Dispose();

    [LoggerMessage(EventId = 4000, Level = LogLevel.Information, Message = "Event {EventId} run {Run}: {From} -> {To} (due {At:O})")]
    private static partial void LogTransition(ILogger logger, string eventId, long run, string from, string to, DateTimeOffset at);

    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "Operator {Operation} of event {EventId} run {Run}")]
    private static partial void LogOperated(ILogger logger, string operation, string eventId, long run);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Event {EventId} run {Run}: community goal reached ({Sum} of {Target})")]
    private static partial void LogGoalReached(ILogger logger, string eventId, long run, long sum, long target);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Information, Message = "Event {EventId} run {Run}: community goal reward granted to {Granted} participants")]
    private static partial void LogGoalGranted(ILogger logger, string eventId, long run, int granted);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Information, Message = "Event {EventId} run {Run}: {Granted} of {Prizes} prizes newly granted")]
    private static partial void LogPrizesGranted(ILogger logger, string eventId, long run, int granted, int prizes);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Information, Message = "Event {EventId}: {Count} runs with no points finalized together (nothing owed)")]
    private static partial void LogQuietRunsFinalized(ILogger logger, string eventId, int count);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Warning,
        Message = "Event {EventId} run {Run}: community goal not recorded; the points it was decided on did not all commit (a failed write), deciding again on the next tick")]
    private static partial void LogGoalDeferred(ILogger logger, string eventId, long run);

    [LoggerMessage(EventId = 4010, Level = LogLevel.Warning, Message = "Event {EventId} {State} by kill switch ({Actor})")]
    private static partial void LogFlag(ILogger logger, string eventId, string state, string actor);
}
