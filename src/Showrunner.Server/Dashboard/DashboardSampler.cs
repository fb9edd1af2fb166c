using System.Buffers;
using System.Text.Json;
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
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        using (var w = new Utf8JsonWriter(buffer, JsonOutput.WriterOptions))
        {
            w.WriteStartObject();
            w.WriteNumber("sequence", sequence);
            w.WriteString("sampled_at", Rfc3339.Format(now.UtcTicks));
            w.WriteNumber("sample_interval_ms", (long)_options.SampleInterval.TotalMilliseconds);
            WriteServer(w, stats);
            WriteTotals(w, stats, ledgerEntries);
            WriteReleases(w, release);
            WriteRollout(w, now);
            WriteEvents(w, events, now);
            WriteOutbox(w, now);
            WriteLedger(w, heads, now);
            WriteAckLatency(w);
            WriteSeries(w, release);
            w.WriteEndObject();
        }
        return new DashboardSnapshot(sequence, now, buffer.WrittenSpan.ToArray());
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
    private void WriteAckLatency(Utf8JsonWriter w)
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
        w.WriteBoolean("ack_latency_recorded", newest?.AckLatency is { Count: > 0 });
        if (window is null || window.Count == 0)
        {
            w.WriteNull("ack_latency_ms");
            return;
        }
        w.WriteStartObject("ack_latency_ms");
        foreach (var (name, q) in new[] { ("p50", 0.50), ("p95", 0.95), ("p99", 0.99) })
        {
            w.WriteNumber(name, Math.Round(window.Quantile(q)!.Value * 1000, 2));
        }
        w.WriteNumber("batches", window.Count);
        w.WriteNumber("window_seconds", (long)MinuteWindow.TotalSeconds);
        w.WriteEndObject();
    }

    /// <summary>The measurements in <paramref name="end"/> that are not in <paramref name="start"/> (same buckets; a histogram only grows).</summary>
    internal static HistogramValue Minus(HistogramValue end, HistogramValue? start) =>
        start is null || !start.Bounds.SequenceEqual(end.Bounds) ? end
            : new HistogramValue(end.Bounds, [.. end.Counts.Zip(start.Counts, (a, b) => a - b)], end.Count - start.Count, end.Sum - start.Sum);

    private static void WriteServer(Utf8JsonWriter w, IngestStats stats)
    {
        w.WriteStartObject("server");
        w.WriteString("state", stats.State);
        w.WriteString("since", Rfc3339.Format(stats.Since.UtcTicks));
        w.WriteNumber("partitions", stats.PartitionCount);
        w.WriteEndObject();
    }

    private void WriteTotals(Utf8JsonWriter w, IngestStats stats, long ledgerEntries)
    {
        var gauges = _pipeline.GetPipelineGauges();
        w.WriteStartObject("totals");
        w.WriteNumber("accepted", stats.Accepted);
        w.WriteNumber("duplicates", stats.Duplicates);
        w.WriteNumber("rejected", stats.Rejected);
        w.WriteNumber("overloaded_batches", stats.Overloaded);
        w.WriteNumber("queued_actions", gauges.InboxActions);
        w.WriteNumber("ledger_entries", ledgerEntries);
        w.WriteNumber("grants_since_start", _pipeline.CommittedGrants);
        w.WriteStartObject("rejected_by_code");
        foreach (var (code, count) in stats.RejectedByCode)
        {
            w.WriteNumber(code, count);
        }
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private void WriteReleases(Utf8JsonWriter w, RuntimeRelease? release)
    {
        w.WriteStartObject("releases");
        var current = _register.Current;
        if (current is null || release is null)
        {
            w.WriteNull("active");
        }
        else
        {
            w.WriteStartObject("active");
            w.WriteString("id", current.Release.Id);
            w.WriteString("name", current.Release.Name);
            WriteNullable(w, "description", release.Loaded.Bundle.Release.Description);
            w.WriteNumber("version", current.Version);
            w.WriteString("since", Rfc3339.Format(current.AtTicks));
            w.WriteNumber("events", release.Loaded.Bundle.Release.Events.Count);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    private void WriteRollout(Utf8JsonWriter w, DateTimeOffset now)
    {
        var view = _rollouts.View();
        if (view is null)
        {
            w.WriteNull("rollout");
            return;
        }
        var step = view.Plan.Steps[Math.Min(view.Step, view.Plan.Steps.Count - 1)];
        w.WriteStartObject("rollout");
        w.WriteNumber("id", view.Rollout.Id);
        w.WriteString("state", view.State);
        w.WriteStartObject("candidate");
        w.WriteString("id", view.CandidateId);
        w.WriteString("name", view.CandidateName);
        w.WriteEndObject();
        w.WriteStartObject("baseline");
        w.WriteString("id", view.BaselineId);
        w.WriteString("name", view.BaselineName);
        w.WriteEndObject();
        w.WriteNumber("step", view.Step);
        w.WriteNumber("steps", view.Plan.Steps.Count);
        w.WriteString("mode", step.Mode == Core.Rollouts.StepMode.Shadow ? "shadow" : "live");
        w.WriteNumber("percent", step.PercentBasisPoints / 100m);
        w.WriteString("step_started_at", Rfc3339.Format(view.StepStartedAt.UtcTicks));
        w.WriteNumber("step_age_seconds", Math.Max(0, (long)(now - view.StepStartedAt).TotalSeconds));
        w.WriteNumber("soak_remaining_seconds", (long)Math.Ceiling(view.SoakRemaining.TotalSeconds));
        w.WriteBoolean("auto_advance", view.Plan.AutoAdvance);
        w.WriteNumber("assigned_players", view.Assigned);
        w.WriteNumber("candidate_actions", view.CandidateActions);
        w.WriteNumber("baseline_actions", view.BaselineActions);
        w.WriteString("overall", view.Overall.ToString().ToLowerInvariant());
        w.WriteStartArray("gates");
        foreach (var gate in view.Gates)
        {
            w.WriteStartObject();
            w.WriteString("gate", gate.Gate);
            WriteNullable(w, "event", gate.Event);
            WriteNullable(w, "reward", gate.Reward);
            w.WriteString("status", gate.Status.ToString().ToLowerInvariant());
            w.WriteString("candidate", gate.Candidate);
            w.WriteString("baseline", gate.Baseline);
            w.WriteString("threshold", gate.Threshold);
            w.WriteString("detail", gate.Detail);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        var last = view.History.Count > 0 ? view.History[^1] : null;
        if (last is null)
        {
            w.WriteNull("last_change");
        }
        else
        {
            w.WriteStartObject("last_change");
            w.WriteString("kind", last.Kind);
            w.WriteString("at", Rfc3339.Format(last.AtTicks));
            w.WriteString("actor", last.Actor);
            WriteNullable(w, "reason", last.Reason);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    private void WriteEvents(Utf8JsonWriter w, IReadOnlyList<CurrentRun> runs, DateTimeOffset now)
    {
        var live = _live;
        w.WriteStartArray("events");
        foreach (var (definition, run, phase) in runs)
        {
            var key = new RunKey(definition.Id, run.Index);
            w.WriteStartObject();
            w.WriteString("id", definition.Id);
            w.WriteString("title", definition.Title);
            w.WriteNumber("run", run.Index);
            w.WriteString("phase", LifecycleCoordinator.Name(phase));
            w.WriteString("start", Rfc3339.Format(run.Start.UtcTicks));
            w.WriteString("end", Rfc3339.Format(run.End.UtcTicks));
            w.WriteString("grace_end", Rfc3339.Format(run.GraceEnd.UtcTicks));
            // Time left until the next time the clock moves the run: start, end, or the end of grace.
            (string? until, DateTimeOffset? at) = phase switch
            {
                RunPhase.Scheduled => ("start", run.Start),
                RunPhase.Active or RunPhase.Paused when now < run.End => ("end", run.End),
                RunPhase.Active or RunPhase.Paused or RunPhase.Grace when now < run.GraceEnd => ("grace_end", run.GraceEnd),
                _ => ((string?)null, (DateTimeOffset?)null),
            };
            if (until is null)
            {
                w.WriteNull("time_left_until");
                w.WriteNull("time_left_seconds");
            }
            else
            {
                w.WriteString("time_left_until", until);
                w.WriteNumber("time_left_seconds", Math.Max(0, (long)(at!.Value - now).TotalSeconds));
            }
            bool read = live is not null && live.Boards.ContainsKey(key);
            if (read)
            {
                w.WriteString("read_at", Rfc3339.Format(live!.At.UtcTicks));
                w.WriteBoolean("stale", live.At < now);
            }
            if (!read)
            {
                w.WriteNull("leaderboard");
            }
            else
            {
                var (top, players) = live!.Boards[key];
                w.WriteStartObject("leaderboard");
                w.WriteNumber("players", players);
                w.WriteStartArray("top");
                for (int i = 0; i < top.Count; i++)
                {
                    w.WriteStartObject();
                    w.WriteNumber("rank", i + 1);
                    w.WriteString("player", top[i].Player);
                    w.WriteNumber("points", top[i].Points);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            if (definition.CommunityGoal is not { } goal || !read)
            {
                w.WriteNull("community");
            }
            else
            {
                long progress = live!.Community[key];
                var reached = _coordinator.GoalOf(definition.Id, run.Index);
                w.WriteStartObject("community");
                w.WriteNumber("target", goal.Target);
                w.WriteNumber("progress", progress);
                w.WriteNumber("percent", goal.Target <= 0 ? 100m : Math.Min(100m, decimal.Round(progress * 100m / goal.Target, 2)));
                w.WriteBoolean("reached", reached is not null);
                if (reached is null)
                {
                    w.WriteNull("reached_at");
                }
                else
                {
                    w.WriteString("reached_at", Rfc3339.Format(reached.AtTicks));
                }
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private void WriteOutbox(Utf8JsonWriter w, DateTimeOffset now)
    {
        var (counts, at) = _outboxCounts!.Value;
        w.WriteStartObject("outbox");
        w.WriteBoolean("webhook_configured", _outbox.WebhookConfigured);
        w.WriteNumber("pending", counts.Pending);
        w.WriteNumber("delivered", counts.Delivered);
        w.WriteNumber("dead_lettered", counts.DeadLettered);
        if (counts.OldestPendingEnqueuedAt is { } oldest)
        {
            w.WriteNumber("oldest_pending_age_seconds", Math.Max(0, (long)(now - oldest).TotalSeconds));
        }
        else
        {
            w.WriteNull("oldest_pending_age_seconds");
        }
        w.WriteString("counted_at", Rfc3339.Format(at.UtcTicks));
        if (_outbox.Worker?.GetStats() is { } stats)
        {
            w.WriteString("circuit", stats.Circuit.State switch
            {
                Runtime.Outbox.CircuitState.Closed => "closed",
                Runtime.Outbox.CircuitState.Open => "open",
                _ => "half_open",
            });
            w.WriteNumber("failed_attempts", stats.FailedAttempts);
        }
        else
        {
            w.WriteNull("circuit");
            w.WriteNull("failed_attempts");
        }
        w.WriteEndObject();
    }

    private void WriteLedger(Utf8JsonWriter w, LedgerCommitted[] heads, DateTimeOffset now)
    {
        var latest = _signer.Latest;
        w.WriteStartObject("ledger");
        w.WriteNumber("entries", heads.Sum(h => h.Size));
        if (latest is null)
        {
            w.WriteNull("latest_checkpoint");
            w.WriteNull("checkpoint_age_seconds");
        }
        else
        {
            var checkpoint = latest.Checkpoint;
            w.WriteStartObject("latest_checkpoint");
            w.WriteNumber("sequence", checkpoint.Sequence);
            w.WriteString("time", Rfc3339.Format(checkpoint.TimeTicks));
            w.WriteNumber("entries", checkpoint.Partitions.Sum(p => p.Size));
            w.WriteString("key_id", checkpoint.KeyId);
            w.WriteEndObject();
            w.WriteNumber("checkpoint_age_seconds", Math.Max(0, decimal.Round((decimal)(now - new DateTimeOffset(checkpoint.TimeTicks, TimeSpan.Zero)).TotalSeconds, 1)));
        }
        w.WriteNumber("uncheckpointed_entries", heads.Select((h, p) => h.Size - (latest?.Checkpoint.Partitions[p].Size ?? 0)).Sum());
        // Live, not as of the last self-check: a read that finds a damaged entry shows here at the next sample.
        w.WriteStartArray("damaged_partitions");
        foreach (var damage in _ledgerCheck.Damaged)
        {
            w.WriteStartObject();
            w.WriteNumber("partition", damage.Partition);
            w.WriteString("check", damage.Check);
            if (damage.FirstBadIndex is { } index)
            {
                w.WriteNumber("first_bad_index", index);
            }
            else
            {
                w.WriteNull("first_bad_index");
            }
            w.WriteString("found_by", damage.FoundBy);
            w.WriteString("found_at", Rfc3339.Format(damage.FoundAt.UtcTicks));
            w.WriteString("detail", damage.Detail);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        if (_ledgerCheck.Last is not { } check)
        {
            w.WriteNull("verification");
        }
        else
        {
            w.WriteStartObject("verification");
            w.WriteString("result", check.Code);
            w.WriteBoolean("ok", check.Ok);
            w.WriteString("detail", check.Detail);
            w.WriteString("checked_at", Rfc3339.Format(check.CheckedAt.UtcTicks));
            w.WriteNumber("age_seconds", Math.Max(0, (long)(now - check.CheckedAt).TotalSeconds));
            if (check.Sequence is { } sequence)
            {
                w.WriteNumber("checkpoint", sequence);
            }
            else
            {
                w.WriteNull("checkpoint");
            }
            if (check.FromSequence is { } from)
            {
                w.WriteNumber("from_checkpoint", from);
            }
            else
            {
                w.WriteNull("from_checkpoint");
            }
            w.WriteNumber("duration_ms", decimal.Round((decimal)check.DurationMs, 2));
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    /// <summary>The charts: one point per sample of the history, each a rate over the trailing window ending at that sample.</summary>
    private void WriteSeries(Utf8JsonWriter w, RuntimeRelease? release)
    {
        int n = _historyCount;
        var samples = new DashboardSample[n];
        for (int i = 0; i < n; i++)
        {
            samples[i] = At(i);
        }
        var currencies = new HashSet<string>(release?.Loaded.Bundle.Release.Currencies ?? [], StringComparer.Ordinal);
        w.WriteStartObject("series");
        w.WriteNumber("actions_window_seconds", (long)ActionsWindow.TotalSeconds);
        w.WriteNumber("minute_window_seconds", (long)MinuteWindow.TotalSeconds);
        w.WriteStartArray("t");
        foreach (var sample in samples)
        {
            w.WriteNumberValue((sample.AtTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerMillisecond);
        }
        w.WriteEndArray();
        WriteRates(w, "actions_per_second", samples, ActionsWindow, 1, s => s.Accepted);
        WriteRates(w, "ledger_entries_per_minute", samples, MinuteWindow, 60, s => s.LedgerEntries);
        var latest = n > 0 ? samples[^1] : null;
        var charted = latest?.Events.OrderByDescending(e => e.Value.Grants).ThenBy(e => e.Key, StringComparer.Ordinal).Take(MaxChartedEvents)
            .Select(e => e.Key).Order(StringComparer.Ordinal).ToList() ?? [];
        w.WriteStartObject("grants_per_minute");
        foreach (string eventId in charted)
        {
            WriteRates(w, eventId, samples, MinuteWindow, 60, s => s.Events.GetValueOrDefault(eventId)?.Grants ?? 0);
        }
        w.WriteEndObject();
        w.WriteStartObject("rewards_per_minute");
        foreach (string eventId in charted)
        {
            w.WriteStartObject(eventId);
            foreach (string name in latest!.Events[eventId].Amounts.OrderByDescending(a => Math.Abs(a.Value)).Take(MaxChartedRewards).Select(a => a.Key).Order(StringComparer.Ordinal))
            {
                w.WriteStartObject(name);
                w.WriteString("kind", currencies.Contains(name) ? "currency" : "item");
                WriteRates(w, "per_minute", samples, MinuteWindow, 60, s => s.Events.GetValueOrDefault(eventId)?.Amounts.GetValueOrDefault(name) ?? 0);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        w.WriteEndObject();
        if (latest?.Cohorts is not { } cohort)
        {
            w.WriteNull("cohorts");
        }
        else
        {
            // Only the samples of the current rollout step: the gate meters start again at each step.
            bool Same(DashboardSample s) => s.Cohorts is { } c && c.RolloutId == cohort.RolloutId && c.Step == cohort.Step;
            w.WriteStartObject("cohorts");
            w.WriteNumber("rollout", cohort.RolloutId);
            w.WriteNumber("step", cohort.Step);
            var names = cohort.BaselineCurrency.Keys.Union(cohort.CandidateCurrency.Keys, StringComparer.Ordinal).Order(StringComparer.Ordinal)
                .Take(MaxChartedRewards).ToList();
            w.WriteStartObject("baseline");
            WriteRates(w, "actions_per_second", samples, ActionsWindow, 1, s => Same(s) ? s.Cohorts!.BaselineActions : null);
            WriteRates(w, "grants_per_minute", samples, MinuteWindow, 60, s => Same(s) ? s.Cohorts!.BaselineGrants : null);
            w.WriteStartObject("currency_per_minute");
            foreach (string name in names)
            {
                WriteRates(w, name, samples, MinuteWindow, 60, s => Same(s) ? s.Cohorts!.BaselineCurrency.GetValueOrDefault(name) : null);
            }
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteStartObject("candidate");
            WriteRates(w, "actions_per_second", samples, ActionsWindow, 1, s => Same(s) ? s.Cohorts!.CandidateActions : null);
            WriteRates(w, "grants_per_minute", samples, MinuteWindow, 60, s => Same(s) ? s.Cohorts!.CandidateGrants : null);
            w.WriteStartObject("currency_per_minute");
            foreach (string name in names)
            {
                WriteRates(w, name, samples, MinuteWindow, 60, s => Same(s) ? s.Cohorts!.CandidateCurrency.GetValueOrDefault(name) : null);
            }
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    /// <summary>
    /// Writes <paramref name="name"/> as an array with one rate per sample: (value now − value at
    /// the window's start) per second × <paramref name="perSeconds"/>. The window's start is the
    /// newest earlier sample at least <paramref name="window"/> older (the oldest one while the
    /// history is shorter), skipping samples without a value (a rollout's cohort counters exist
    /// only during its step); null where there is no such sample.
    /// </summary>
    internal static void WriteRates(Utf8JsonWriter w, string name, IReadOnlyList<DashboardSample> samples, TimeSpan window, double perSeconds,
        Func<DashboardSample, long?> value)
    {
        w.WriteStartArray(name);
        for (int i = 0; i < samples.Count; i++)
        {
            if (Rate(samples, i, window, perSeconds, value) is { } rate)
            {
                w.WriteNumberValue(Math.Round(rate, 2));
            }
            else
            {
                w.WriteNullValue();
            }
        }
        w.WriteEndArray();
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

    private static void WriteNullable(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    public void Dispose() => _sampling.Dispose();

    [LoggerMessage(EventId = 8102, Level = LogLevel.Warning, Message = "Dashboard: reading the partitions' live state took longer than {TimeoutMs} ms; showing the previous read")]
    private static partial void LogLiveReadSlow(ILogger logger, long timeoutMs);
}
