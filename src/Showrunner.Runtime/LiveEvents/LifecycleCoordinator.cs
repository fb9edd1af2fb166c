using Microsoft.Extensions.Logging;
using Showrunner.Core.LiveEvents;
using Showrunner.Core.Rules.Model;
using Showrunner.Runtime.Ingest;
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
/// Records the lifecycle of every run of the active release's events, exactly once: on each tick it
/// asks <see cref="Transitions.Due"/> what the clock has made due, writes it durably (on the
/// store's writer thread), and only then shows it. Operators pause, resume and cancel runs through
/// it. All changes are serialized, so the recorded chain of a run never forks.
/// </summary>
/// <remarks>
/// Finalization: a run whose event has no leaderboard and no community goal owes nothing at its end
/// (tiers are paid during the run), so it is finalized as soon as it is finalizing. Runs of events
/// with prizes or a community goal stay <c>finalizing</c> until prize granting exists (issue 4,
/// docs/internals/live-events.md). Progress is not counted yet either: the lifecycle is durable and
/// visible, and nothing depends on it so far.
/// </remarks>
public sealed partial class LifecycleCoordinator : IDisposable
{
    /// <summary>Most rounds of <see cref="Transitions.Due"/> one tick runs per event (each returns at most 1,000).</summary>
    public const int MaxRoundsPerTick = 100;

    private readonly IRunStore _store;
    private readonly IngestPipeline _pipeline;
    private readonly ReleaseRegister _register;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _changes = new(1, 1);
    private readonly Lock _gate = new();
    private Dictionary<string, List<RunTransition>>? _recorded;

    public LifecycleCoordinator(IActionStore store, IngestPipeline pipeline, ReleaseRegister register, TimeProvider time, ILogger<LifecycleCoordinator> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store.Runs;
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

    /// <summary>Records whatever the clock has made due for the active release's events; returns how many transitions were written.</summary>
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
            }
            return written;
        }
        finally
        {
            _changes.Release();
        }
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
            var now = _time.GetUtcNow();
            var result = operation switch
            {
                RunOperation.Pause => Transitions.Pause(definition, recorded, run, now),
                RunOperation.Resume => Transitions.Resume(definition, recorded, run, now),
                _ => Transitions.Cancel(definition, recorded, run, now),
            };
            if (result.Error is not null)
            {
                return new RunOperationResult(true, result.Error, []);
            }
            await RecordAsync([.. result.Transitions], entry.Release.Ref).ConfigureAwait(false);
            LogOperated(_logger, operation.ToString().ToLowerInvariant(), eventId, run);
            return new RunOperationResult(true, null, [.. result.Transitions.Select(t => ToStored(t, now.UtcTicks, entry.Release.Ref))]);
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
        lock (_gate)
        {
            if (!written)
            {
                // Someone recorded one of these steps first (only possible with two processes on one
                // store): forget the cache and take the store's word.
                _recorded = null;
                return 0;
            }
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
        return transitions.Count;
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

    internal static string Name(RunPhase phase) => phase.ToString().ToLowerInvariant();

    private static StoredTransition ToStored(RunTransition t, long recordedAt, long releaseRef) =>
        new(t.EventId, t.Run, t.Sequence, Name(t.From), Name(t.To), t.At.UtcTicks, t.Cause.ToString().ToLowerInvariant(), recordedAt, releaseRef);

    private static RunTransition FromStored(StoredTransition row) =>
        new(row.EventId, row.Run, row.Sequence, Enum.Parse<RunPhase>(row.From, ignoreCase: true), Enum.Parse<RunPhase>(row.To, ignoreCase: true),
            new DateTimeOffset(row.AtTicks, TimeSpan.Zero), Enum.Parse<TransitionCause>(row.Cause, ignoreCase: true));

    public void Dispose() => _changes.Dispose();

    [LoggerMessage(EventId = 4000, Level = LogLevel.Information, Message = "Event {EventId} run {Run}: {From} -> {To} (due {At:O})")]
    private static partial void LogTransition(ILogger logger, string eventId, long run, string from, string to, DateTimeOffset at);

    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "Operator {Operation} of event {EventId} run {Run}")]
    private static partial void LogOperated(ILogger logger, string operation, string eventId, long run);
}
