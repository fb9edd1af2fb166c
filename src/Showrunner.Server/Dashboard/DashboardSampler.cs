using System.Text.Json;
using Showrunner.Contracts;
using Showrunner.Contracts.Dashboard;
using Showrunner.Contracts.Rollouts;
using Showrunner.Core.Actions;
using Showrunner.Core.LiveEvents;
using Showrunner.Core.Rules.Model;
using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.Ledger;
using Showrunner.Runtime.LiveEvents;
using Showrunner.Runtime.Observability;
using Showrunner.Runtime.Releases;
using Showrunner.Runtime.Rollouts;
using Showrunner.Server.Api;
using Showrunner.Server.Hosting;
using Showrunner.Server.Observability;
using Showrunner.Storage;
using Showrunner.Storage.Outbox;

namespace Showrunner.Server.Dashboard;

/// <summary>The cumulative counters of one sample, kept for the charts.</summary>
internal sealed record DashboardSample(long Sequence, long AtTicks, long Accepted, long LedgerEntries, IReadOnlyDictionary<string, EventRewards> Events,
    CohortSample? Cohorts, HistogramValue? AckLatency);

/// <summary>The two cohorts of a running rollout's current step (their counts start again at each step).</summary>
internal sealed record CohortSample(long RolloutId, int Step, long BaselineActions, long CandidateActions, long BaselineGrants, long CandidateGrants,
    IReadOnlyDictionary<string, long> BaselineCurrency, IReadOnlyDictionary<string, long> CandidateCurrency);

/// <summary>One published snapshot: its number and its JSON document (shared by every viewer).</summary>
internal sealed record DashboardSnapshot(long Sequence, DateTimeOffset SampledAt, byte[] Json);

/// <summary>
/// The dashboard's one source of data: every sample interval it reads the server's state once —
/// pipeline counts, the live events of the active release with their leaderboards and community
/// goals (one read per executor), the rollout and its gates, the ledger's checkpoint and
/// self-check, the outbox counts (less often) — adds the cumulative counters to a bounded history,
/// and writes one JSON document that <c>GET /v1/dashboard</c> and every stream send as they are.
/// Viewers therefore cost one serialized copy each, not one read of the server each.
/// </summary>
/// <remarks>
/// Rates are differences of cumulative counters over a trailing window of the history
/// (<see cref="ActionsWindow"/> for actions per second, <see cref="MinuteWindow"/> for grants and
/// rewards per minute), so they never depend on how often a page polls. Grants per event come from
/// the committed ledger (<see cref="LedgerTail"/>), cohort counts from the running rollout's gate
/// meters. Reads of live state skip a server that is not ready and give up after
/// <see cref="LiveReadTimeout"/>, keeping the previous values marked stale.
/// </remarks>
internal sealed partial class DashboardSampler : IDisposable
{
    public static readonly TimeSpan ActionsWindow = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan MinuteWindow = TimeSpan.FromSeconds(60);
    public static readonly TimeSpan LiveReadTimeout = TimeSpan.FromSeconds(2);
    /// <summary>Most events listed; most of them (live ones first) with leaderboard and community reads.</summary>
    public const int MaxEventsListed = 50;
    public const int MaxLiveEventsRead = 10;
    public const int LeaderboardTop = 10;
    /// <summary>Most events and reward names charted (the largest by grants), so a document stays small.</summary>
    public const int MaxChartedEvents = 12;
    public const int MaxChartedRewards = 8;

    private readonly IngestPipeline _pipeline;
    private readonly IActionStore _store;
    private readonly ReleaseRegister _register;
    private readonly LifecycleCoordinator _coordinator;
    private readonly RolloutController _rollouts;
    private readonly CheckpointSigner _signer;
    private readonly LedgerSelfCheck _ledgerCheck;
    private readonly OutboxHostedService _outbox;
    private readonly MetricsCollector _metrics;
    private readonly DashboardOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly LedgerTail _tail;
    private readonly DashboardSample?[] _history;
    private readonly SemaphoreSlim _sampling = new(1, 1);
    private readonly Lock _publishLock = new();
    private int _historyStart;
    private int _historyCount;
    private long _sequence;
    private DashboardSnapshot? _latest;
    private TaskCompletionSource _published = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private (OutboxCounts Counts, DateTimeOffset At)? _outboxCounts;
    private LiveRead? _live;

    /// <summary>What one read of the partitions found for the live events.</summary>
    private sealed record LiveRead(DateTimeOffset At, IReadOnlyDictionary<RunKey, (IReadOnlyList<LeaderboardEntry> Top, long Players)> Boards,
        IReadOnlyDictionary<RunKey, long> Community);

    public DashboardSampler(IngestPipeline pipeline, IActionStore store, ReleaseRegister register, LifecycleCoordinator coordinator, RolloutController rollouts,
        CheckpointSigner signer, LedgerSelfCheck ledgerCheck, OutboxHostedService outbox, MetricsCollector metrics, ServerOptions options, TimeProvider time,
        ILogger<DashboardSampler> logger)
    {
        _pipeline = pipeline;
        _store = store;
        _register = register;
        _coordinator = coordinator;
        _rollouts = rollouts;
        _signer = signer;
        _ledgerCheck = ledgerCheck;
        _outbox = outbox;
        _metrics = metrics;
        _options = options.Dashboard;
        _time = time;
        _logger = logger;
        _tail = new LedgerTail(pipeline, store.Ledger);
        _history = new DashboardSample?[_options.HistorySamples];
    }

    /// <summary>The latest snapshot, or null before the first sample.</summary>
    public DashboardSnapshot? Latest => Volatile.Read(ref _latest);

    /// <summary>Completes when a snapshot newer than <paramref name="sequence"/> is published (at once if one is).</summary>
    public Task WaitForNewerAsync(long sequence, CancellationToken cancellationToken)
    {
        Task published;
        lock (_publishLock)
        {
            if (_latest is { } latest && latest.Sequence > sequence)
            {
                return Task.CompletedTask;
            }
            published = _published.Task;
        }
        return published.WaitAsync(cancellationToken);
    }

    /// <summary>Takes a sample and publishes its snapshot (one at a time; a caller arriving during a sample waits for it and takes the next).</summary>
    public async Task<DashboardSnapshot> SampleAsync(CancellationToken cancellationToken = default)
    {
        await _sampling.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var snapshot = await SampleLockedAsync().ConfigureAwait(false);
            TaskCompletionSource done;
            lock (_publishLock)
            {
                _latest = snapshot;
                done = _published;
                _published = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            done.TrySetResult();
            return snapshot;
        }
        finally
        {
            _sampling.Release();
        }
    }

    private async Task<DashboardSnapshot> SampleLockedAsync()
    {
        var now = _time.GetUtcNow();
        bool ready = _pipeline.State == RuntimeState.Ready;
        var stats = _pipeline.GetStats();
        var heads = _pipeline.CommittedLedgerHeads();
        long ledgerEntries = heads.Sum(h => h.Size);
        if (ready)
        {
            _tail.Advance(_options.MaxLedgerEntriesPerSample);
        }
        var currencies = new HashSet<string>(_pipeline.ActiveRelease?.Loaded.Bundle.Release.Currencies ?? [], StringComparer.Ordinal);
        var cohorts = _rollouts.CohortCounts() is { } counts
            ? new CohortSample(counts.RolloutId, counts.Step, counts.Baseline.Actions, counts.Candidate.Actions,
                counts.Baseline.Events.Values.Sum(e => e.Grants), counts.Candidate.Events.Values.Sum(e => e.Grants),
                CurrencyTotals(counts.Baseline, currencies), CurrencyTotals(counts.Candidate, currencies))
            : null;
        long sequence = ++_sequence;
        var ackLatency = _metrics.Snapshot().Histogram(ShowrunnerMetrics.Names.AckLatency);
        var sample = new DashboardSample(sequence, now.UtcTicks, stats.Accepted, ledgerEntries,
            _tail.Events.ToDictionary(e => e.Key, e => e.Value.Copy(), StringComparer.Ordinal), cohorts, ackLatency);
        Remember(sample);

        var release = _pipeline.ActiveRelease;
        var events = CurrentRuns(release, now);
        if (ready)
        {
            await ReadLiveAsync(events.Where(e => IsLive(e.Phase)).Take(MaxLiveEventsRead).ToList(), now).ConfigureAwait(false);
        }
        if (_outboxCounts is not { } outbox || now - outbox.At >= _options.OutboxSampleInterval || now < outbox.At)
        {
            _outboxCounts = (await _store.Outbox.CountsAsync().ConfigureAwait(false), now);
        }
        var (ackLatencyRecorded, ackLatencyMs) = AckLatency();
        var snapshot = new DashboardSnapshotContract(sequence, Rfc3339.Format(now.UtcTicks), (long)_options.SampleInterval.TotalMilliseconds,
            new DashboardServer(stats.State, Rfc3339.Format(stats.Since.UtcTicks), stats.PartitionCount), Totals(stats, ledgerEntries), Releases(release),
            Rollout(now), Events(events, now), Outbox(now), Ledger(heads, now), ackLatencyRecorded, ackLatencyMs, Series(release));
        // Written without line breaks, so one data line of the stream carries it.
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(snapshot, ContractsJson.Wire<DashboardSnapshotContract>());
        return new DashboardSnapshot(sequence, now, json);
    }

    /// <summary>A cohort's granted amount per currency, over every event (items are left out: they are not a rate anyone budgets).</summary>
    private static Dictionary<string, long> CurrencyTotals(Core.Rollouts.CohortTotals totals, HashSet<string> currencies)
    {
        var sums = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var counters in totals.Events.Values)
        {
            foreach (var (name, amount) in counters.Amounts)
            {
                if (currencies.Contains(name))
                {
                    sums[name] = sums.GetValueOrDefault(name) + amount;
                }
            }
        }
        return sums;
    }

    private void Remember(DashboardSample sample)
    {
        // A sample at the same clock reading as the last replaces it (a rate needs time to pass).
        if (_historyCount > 0 && At(_historyCount - 1).AtTicks >= sample.AtTicks)
        {
            _history[(_historyStart + _historyCount - 1) % _history.Length] = sample;
            return;
        }
        if (_historyCount < _history.Length)
        {
            _history[(_historyStart + _historyCount) % _history.Length] = sample;
            _historyCount++;
            return;
        }
        _history[_historyStart] = sample;
        _historyStart = (_historyStart + 1) % _history.Length;
    }

    private DashboardSample At(int index) => _history[(_historyStart + index) % _history.Length]!;

    private sealed record CurrentRun(EventDefinition Definition, EventRun Run, RunPhase Phase);

    private static bool IsLive(RunPhase phase) => phase is RunPhase.Active or RunPhase.Paused or RunPhase.Grace or RunPhase.Finalizing;

    /// <summary>Per event of the active release, the run that matters now: the last started one unless it is over and another is scheduled. Live ones first.</summary>
    private List<CurrentRun> CurrentRuns(RuntimeRelease? release, DateTimeOffset now)
    {
        var runs = new List<CurrentRun>();
        foreach (var definition in release?.Loaded.Bundle.Release.Events ?? [])
        {
            var recorded = _coordinator.RecordedFor(definition.Id);
            long last = EventRuns.LastStarted(definition.Schedule, now);
            long index = Math.Max(0, last);
            var phase = Transitions.RecordedPhase(definition, index, recorded.Where(t => t.Run == index));
            if (phase is RunPhase.Finalized or RunPhase.Cancelled && EventRuns.Run(definition.Schedule, last + 1) is not null)
            {
                index = last + 1;
                phase = Transitions.RecordedPhase(definition, index, recorded.Where(t => t.Run == index));
            }
            if (EventRuns.Run(definition.Schedule, index) is { } run)
            {
                runs.Add(new CurrentRun(definition, run, phase));
            }
        }
        return [.. runs.OrderBy(r => Order(r.Phase)).ThenBy(r => r.Run.End).ThenBy(r => r.Definition.Id, StringComparer.Ordinal).Take(MaxEventsListed)];
    }

    private static int Order(RunPhase phase) => phase switch
    {
        RunPhase.Active => 0,
        RunPhase.Paused => 1,
        RunPhase.Grace => 2,
        RunPhase.Finalizing => 3,
        RunPhase.Scheduled => 4,
        _ => 5,
    };

    private async Task ReadLiveAsync(IReadOnlyList<CurrentRun> live, DateTimeOffset now)
    {
        var keys = live.Select(r => new RunKey(r.Definition.Id, r.Run.Index)).ToArray();
        if (keys.Length == 0)
        {
            _live = new LiveRead(now, new Dictionary<RunKey, (IReadOnlyList<LeaderboardEntry>, long)>(), new Dictionary<RunKey, long>());
            return;
        }
        try
        {
            var perPartition = await _pipeline.ReadAllAsync(p => keys.Select(key =>
                    p.Live.Board(key) is { } board ? (board.Top(LeaderboardTop), (long)board.Count, p.Live.Slot(key)) : ([], 0L, p.Live.Slot(key)))
                .ToArray()).WaitAsync(LiveReadTimeout).ConfigureAwait(false);
            var boards = new Dictionary<RunKey, (IReadOnlyList<LeaderboardEntry>, long)>();
            var community = new Dictionary<RunKey, long>();
            for (int k = 0; k < keys.Length; k++)
            {
                var tops = perPartition.Select(reads => reads[k].Item1).ToList();
                boards[keys[k]] = (Leaderboards.MergeTop(tops, LeaderboardTop), perPartition.Sum(reads => reads[k].Item2));
                community[keys[k]] = CommunityGoals.Sum([.. perPartition.Select(reads => reads[k].Item3)]);
            }
            _live = new LiveRead(now, boards, community);
        }
        catch (TimeoutException)
        {
            // The executors are busy: keep the previous read (shown as stale); the read item still runs later.
            LogLiveReadSlow(_logger, (long)LiveReadTimeout.TotalMilliseconds);
        }
    }

    /// <summary>
    /// Ack latency quantiles over the last <see cref="MinuteWindow"/>: the difference of the
    /// <c>showrunner.ack.latency</c> histogram between the newest sample and the window's start, so
    /// a slow minute shows at once instead of disappearing into the process's whole history.
    /// </summary>
    private (bool Recorded, DashboardAckLatency? Window) AckLatency()
    {
        var newest = _historyCount > 0 ? At(_historyCount - 1) : null;
        // The window starts at the newest sample at least a minute older (the oldest while the history is shorter), as the rates do.
        DashboardSample? oldest = null;
        for (int i = _historyCount - 2; i >= 0; i--)
        {
            oldest = At(i);
            if (newest!.AtTicks - oldest.AtTicks >= MinuteWindow.Ticks)
            {
                break;
            }
        }
        var window = newest?.AckLatency is { } end ? Minus(end, oldest?.AckLatency) : null;
        // Whether the histogram ever had a measurement: "nothing in the last minute" and "not measured" read differently.
        bool recorded = newest?.AckLatency is { Count: > 0 };
        if (window is null || window.Count == 0)
        {
            return (recorded, null);
        }
        double Ms(double q) => Math.Round(window.Quantile(q)!.Value * 1000, 2);
        return (recorded, new DashboardAckLatency(Ms(0.50), Ms(0.95), Ms(0.99), window.Count, (long)MinuteWindow.TotalSeconds));
    }

    /// <summary>The measurements in <paramref name="end"/> that are not in <paramref name="start"/> (same buckets; a histogram only grows).</summary>
    internal static HistogramValue Minus(HistogramValue end, HistogramValue? start) =>
        start is null || !start.Bounds.SequenceEqual(end.Bounds) ? end
            : new HistogramValue(end.Bounds, [.. end.Counts.Zip(start.Counts, (a, b) => a - b)], end.Count - start.Count, end.Sum - start.Sum);

    private DashboardTotals Totals(IngestStats stats, long ledgerEntries)
    {
        var gauges = _pipeline.GetPipelineGauges();
        var rejected = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (code, count) in stats.RejectedByCode)
        {
            rejected[code] = count;
        }
        return new DashboardTotals(stats.Accepted, stats.Duplicates, stats.Rejected, stats.Overloaded, gauges.InboxActions, ledgerEntries,
            _pipeline.CommittedGrants, rejected);
    }

    private DashboardReleases Releases(RuntimeRelease? release)
    {
        var current = _register.Current;
        return new DashboardReleases(current is null || release is null ? null : new DashboardActiveRelease(current.Release.Id, current.Release.Name,
            release.Loaded.Bundle.Release.Description, current.Version, Rfc3339.Format(current.AtTicks), release.Loaded.Bundle.Release.Events.Count));
    }

    private DashboardRollout? Rollout(DateTimeOffset now)
    {
        var view = _rollouts.View();
        if (view is null)
        {
            return null;
        }
        var step = view.Plan.Steps[Math.Min(view.Step, view.Plan.Steps.Count - 1)];
        var last = view.History.Count > 0 ? view.History[^1] : null;
        return new DashboardRollout(view.Rollout.Id, view.State, new RolloutReleaseRef(view.CandidateId, view.CandidateName),
            new RolloutReleaseRef(view.BaselineId, view.BaselineName), view.Step, view.Plan.Steps.Count,
            step.Mode == Core.Rollouts.StepMode.Shadow ? "shadow" : "live", step.PercentBasisPoints / 100m, Rfc3339.Format(view.StepStartedAt.UtcTicks),
            Math.Max(0, (long)(now - view.StepStartedAt).TotalSeconds), (long)Math.Ceiling(view.SoakRemaining.TotalSeconds), view.Plan.AutoAdvance,
            view.Assigned, view.CandidateActions, view.BaselineActions, view.Overall.ToString().ToLowerInvariant(),
            [.. view.Gates.Select(gate => new DashboardGate(gate.Gate, gate.Event, gate.Reward, gate.Status.ToString().ToLowerInvariant(), gate.Candidate,
                gate.Baseline, gate.Threshold, gate.Detail))],
            last is null ? null : new DashboardChange(last.Kind, Rfc3339.Format(last.AtTicks), last.Actor, last.Reason));
    }

    private List<DashboardEvent> Events(IReadOnlyList<CurrentRun> runs, DateTimeOffset now)
    {
        var live = _live;
        var events = new List<DashboardEvent>(runs.Count);
        foreach (var (definition, run, phase) in runs)
        {
            var key = new RunKey(definition.Id, run.Index);
            // Time left until the next time the clock moves the run: start, end, or the end of grace.
            (string? until, DateTimeOffset? at) = phase switch
            {
                RunPhase.Scheduled => ("start", run.Start),
                RunPhase.Active or RunPhase.Paused when now < run.End => ("end", run.End),
                RunPhase.Active or RunPhase.Paused or RunPhase.Grace when now < run.GraceEnd => ("grace_end", run.GraceEnd),
                _ => ((string?)null, (DateTimeOffset?)null),
            };
            bool read = live is not null && live.Boards.ContainsKey(key);
            DashboardLeaderboard? leaderboard = null;
            if (read)
            {
                var (top, players) = live!.Boards[key];
                leaderboard = new DashboardLeaderboard(players, [.. top.Select((entry, i) => new DashboardRank(i + 1, entry.Player, entry.Points))]);
            }
            DashboardCommunity? community = null;
            if (definition.CommunityGoal is { } goal && read)
            {
                long progress = live!.Community[key];
                var reached = _coordinator.GoalOf(definition.Id, run.Index);
                community = new DashboardCommunity(goal.Target, progress, goal.Target <= 0 ? 100m : Math.Min(100m, decimal.Round(progress * 100m / goal.Target, 2)),
                    reached is not null, reached is null ? null : Rfc3339.Format(reached.AtTicks));
            }
            events.Add(new DashboardEvent(definition.Id, definition.Title, run.Index, LifecycleCoordinator.Name(phase), Rfc3339.Format(run.Start.UtcTicks),
                Rfc3339.Format(run.End.UtcTicks), Rfc3339.Format(run.GraceEnd.UtcTicks), until,
                until is null ? null : Math.Max(0, (long)(at!.Value - now).TotalSeconds),
                read ? Rfc3339.Format(live!.At.UtcTicks) : null, read ? live!.At < now : null, leaderboard, community));
        }
        return events;
    }

    private DashboardOutbox Outbox(DateTimeOffset now)
    {
        var (counts, at) = _outboxCounts!.Value;
        var stats = _outbox.Worker?.GetStats();
        return new DashboardOutbox(_outbox.WebhookConfigured, counts.Pending, counts.Delivered, counts.DeadLettered,
            counts.OldestPendingEnqueuedAt is { } oldest ? Math.Max(0, (long)(now - oldest).TotalSeconds) : null, Rfc3339.Format(at.UtcTicks),
            stats is null ? null : stats.Circuit.State switch
            {
                Runtime.Outbox.CircuitState.Closed => "closed",
                Runtime.Outbox.CircuitState.Open => "open",
                _ => "half_open",
            },
            stats?.FailedAttempts);
    }

    private DashboardLedger Ledger(LedgerCommitted[] heads, DateTimeOffset now)
    {
        var latest = _signer.Latest;
        var checkpoint = latest?.Checkpoint;
        // Damage is live, not as of the last self-check: a read that finds a damaged entry shows here at the next sample.
        var damaged = _ledgerCheck.Damaged.Select(damage => new DashboardDamage(damage.Partition, damage.Check, damage.FirstBadIndex, damage.FoundBy,
            Rfc3339.Format(damage.FoundAt.UtcTicks), damage.Detail));
        var check = _ledgerCheck.Last;
        return new DashboardLedger(heads.Sum(h => h.Size),
            checkpoint is null ? null : new DashboardCheckpoint(checkpoint.Sequence, Rfc3339.Format(checkpoint.TimeTicks), checkpoint.Partitions.Sum(p => p.Size),
                checkpoint.KeyId),
            checkpoint is null ? null : Math.Max(0, decimal.Round((decimal)(now - new DateTimeOffset(checkpoint.TimeTicks, TimeSpan.Zero)).TotalSeconds, 1)),
            heads.Select((h, p) => h.Size - (checkpoint?.Partitions[p].Size ?? 0)).Sum(),
            [.. damaged],
            check is null ? null : new DashboardVerification(check.Code, check.Ok, check.Detail, Rfc3339.Format(check.CheckedAt.UtcTicks),
                Math.Max(0, (long)(now - check.CheckedAt).TotalSeconds), check.Sequence, check.FromSequence, decimal.Round((decimal)check.DurationMs, 2)));
    }

    /// <summary>The charts: one point per sample of the history, each a rate over the trailing window ending at that sample.</summary>
    private DashboardSeries Series(RuntimeRelease? release)
    {
        int n = _historyCount;
        var samples = new DashboardSample[n];
        for (int i = 0; i < n; i++)
        {
            samples[i] = At(i);
        }
        var currencies = new HashSet<string>(release?.Loaded.Bundle.Release.Currencies ?? [], StringComparer.Ordinal);
        var latest = n > 0 ? samples[^1] : null;
        var charted = latest?.Events.OrderByDescending(e => e.Value.Grants).ThenBy(e => e.Key, StringComparer.Ordinal).Take(MaxChartedEvents)
            .Select(e => e.Key).Order(StringComparer.Ordinal).ToList() ?? [];
        var grants = new Dictionary<string, IReadOnlyList<double?>>(StringComparer.Ordinal);
        var rewards = new Dictionary<string, IReadOnlyDictionary<string, DashboardRewardSeries>>(StringComparer.Ordinal);
        foreach (string eventId in charted)
        {
            grants[eventId] = Rates(samples, MinuteWindow, 60, s => s.Events.GetValueOrDefault(eventId)?.Grants ?? 0);
            var perReward = new Dictionary<string, DashboardRewardSeries>(StringComparer.Ordinal);
            foreach (string name in latest!.Events[eventId].Amounts.OrderByDescending(a => Math.Abs(a.Value)).Take(MaxChartedRewards).Select(a => a.Key).Order(StringComparer.Ordinal))
            {
                perReward[name] = new DashboardRewardSeries(currencies.Contains(name) ? "currency" : "item",
                    Rates(samples, MinuteWindow, 60, s => s.Events.GetValueOrDefault(eventId)?.Amounts.GetValueOrDefault(name) ?? 0));
            }
            rewards[eventId] = perReward;
        }
        DashboardCohortSeries? cohorts = null;
        if (latest?.Cohorts is { } cohort)
        {
            // Only the samples of the current rollout step: the gate meters start again at each step.
            bool Same(DashboardSample s) => s.Cohorts is { } c && c.RolloutId == cohort.RolloutId && c.Step == cohort.Step;
            var names = cohort.BaselineCurrency.Keys.Union(cohort.CandidateCurrency.Keys, StringComparer.Ordinal).Order(StringComparer.Ordinal)
                .Take(MaxChartedRewards).ToList();
            DashboardCohortRates Cohort(Func<CohortSample, long> actions, Func<CohortSample, long> grants, Func<CohortSample, IReadOnlyDictionary<string, long>> currency)
            {
                var perCurrency = new Dictionary<string, IReadOnlyList<double?>>(StringComparer.Ordinal);
                foreach (string name in names)
                {
                    perCurrency[name] = Rates(samples, MinuteWindow, 60, s => Same(s) ? currency(s.Cohorts!).GetValueOrDefault(name) : null);
                }
                return new DashboardCohortRates(Rates(samples, ActionsWindow, 1, s => Same(s) ? actions(s.Cohorts!) : null),
                    Rates(samples, MinuteWindow, 60, s => Same(s) ? grants(s.Cohorts!) : null), perCurrency);
            }
            cohorts = new DashboardCohortSeries(cohort.RolloutId, cohort.Step,
                Cohort(c => c.BaselineActions, c => c.BaselineGrants, c => c.BaselineCurrency),
                Cohort(c => c.CandidateActions, c => c.CandidateGrants, c => c.CandidateCurrency));
        }
        return new DashboardSeries((long)ActionsWindow.TotalSeconds, (long)MinuteWindow.TotalSeconds,
            [.. samples.Select(sample => (sample.AtTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerMillisecond)],
            Rates(samples, ActionsWindow, 1, s => s.Accepted), Rates(samples, MinuteWindow, 60, s => s.LedgerEntries), grants, rewards, cohorts);
    }

    /// <summary>
    /// One rate per sample: (value now − value at the window's start) per second ×
    /// <paramref name="perSeconds"/>, rounded to 2 decimals. The window's start is the newest earlier
    /// sample at least <paramref name="window"/> older (the oldest one while the history is shorter),
    /// skipping samples without a value (a rollout's cohort counters exist only during its step);
    /// null where there is no such sample.
    /// </summary>
    internal static double?[] Rates(IReadOnlyList<DashboardSample> samples, TimeSpan window, double perSeconds, Func<DashboardSample, long?> value)
    {
        var rates = new double?[samples.Count];
        for (int i = 0; i < samples.Count; i++)
        {
            rates[i] = Rate(samples, i, window, perSeconds, value) is { } rate ? Math.Round(rate, 2) : null;
        }
        return rates;
    }

    internal static double? Rate(IReadOnlyList<DashboardSample> samples, int to, TimeSpan window, double perSeconds, Func<DashboardSample, long?> value)
    {
        if (value(samples[to]) is not { } end)
        {
            return null;
        }
        int? start = null;
        for (int i = to - 1; i >= 0; i--)
        {
            if (value(samples[i]) is null)
            {
                break;
            }
            start = i;
            if (samples[to].AtTicks - samples[i].AtTicks >= window.Ticks)
            {
                break;
            }
        }
        if (start is not { } from)
        {
            return null;
        }
        double seconds = (samples[to].AtTicks - samples[from].AtTicks) / (double)TimeSpan.TicksPerSecond;
        return seconds <= 0 ? null : (end - value(samples[from])!.Value) / seconds * perSeconds;
    }

    public void Dispose() => _sampling.Dispose();

    [LoggerMessage(EventId = 8102, Level = LogLevel.Warning, Message = "Dashboard: reading the partitions' live state took longer than {TimeoutMs} ms; showing the previous read")]
    private static partial void LogLiveReadSlow(ILogger logger, long timeoutMs);
}
