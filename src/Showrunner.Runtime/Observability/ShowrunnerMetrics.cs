using System.Diagnostics.Metrics;

namespace Showrunner.Runtime.Observability;

/// <summary>
/// Every metric Showrunner records: one <see cref="Meter"/> named <see cref="MeterName"/> and its
/// instruments, with their names as constants in <see cref="Names"/> (docs/observability.md lists
/// each with its unit, labels and meaning). The server's /metrics, the dashboard and the OTLP
/// exporter all read these instruments; nothing else defines a Showrunner metric.
/// </summary>
/// <remarks>
/// One instance per host (a singleton in the server's container; a fresh one for a pipeline built
/// without one). The instruments are instance fields, not statics, so that two servers in one
/// process (the in-process tests) never mix their counts: a listener subscribes to the instruments
/// of its own host's <see cref="Meter"/> object. Recording costs a few nanoseconds when nobody
/// listens and one lock-free update per measurement when the server's collector does; callers
/// record per batch or per commit where they can, per action only where the label needs it.
/// Observable instruments (gauges) read their values through sources that components register
/// once they exist (<see cref="ObserveQueue"/> and the other <c>Observe…</c> methods); a gauge
/// whose source is not registered reports nothing.
/// </remarks>
public sealed class ShowrunnerMetrics : IDisposable
{
    /// <summary>The meter's name (what an OpenTelemetry <c>AddMeter</c> subscribes to).</summary>
    public const string MeterName = "Showrunner";

    /// <summary>Instrument names. Stable: dashboards and alert rules depend on them; add, never rename.</summary>
    public static class Names
    {
        /// <summary>Counter: actions in batches that were parsed (valid or not), before admission.</summary>
        public const string ActionsReceived = "showrunner.actions.received";

        /// <summary>Counter: actions accepted (durably committed and acknowledged as new).</summary>
        public const string ActionsAccepted = "showrunner.actions.accepted";

        /// <summary>Counter: actions answered "duplicate" (the id was already stored with the same content).</summary>
        public const string ActionsDuplicates = "showrunner.actions.duplicates";

        /// <summary>Counter, label <c>code</c>: actions answered "rejected", by rejection code.</summary>
        public const string ActionsRejected = "showrunner.actions.rejected";

        /// <summary>Counter, label <c>code</c>: whole batches refused before any action was looked at (overloaded, not_ready, body_too_large, invalid JSON, …).</summary>
        public const string BatchesRefused = "showrunner.batches.refused";

        /// <summary>Histogram, seconds: from the start of a <c>POST /v1/actions</c> request to its answer, for batches answered 200 (acknowledged).</summary>
        public const string AckLatency = "showrunner.ack.latency";

        /// <summary>Histogram, seconds: how long a work unit waited in its partition's inbox before its executor ran it.</summary>
        public const string QueueWait = "showrunner.queue.wait";

        /// <summary>Gauge: actions admitted to partition inboxes and not yet committed, summed over all partitions.</summary>
        public const string PartitionQueueDepth = "showrunner.partition.queue_depth";

        /// <summary>Gauge: the fullest partition inbox (actions).</summary>
        public const string PartitionQueueDepthMax = "showrunner.partition.queue_depth_max";

        /// <summary>Histogram, actions: actions written per durable group commit.</summary>
        public const string CommitBatchSize = "showrunner.commit.batch_size";

        /// <summary>Histogram, seconds: how long one durable group commit took (write and sync).</summary>
        public const string CommitLatency = "showrunner.commit.latency";

        /// <summary>Counter: group commits that failed (each one stops the pipeline and reloads it from the store).</summary>
        public const string CommitFailures = "showrunner.commit.failures";

        /// <summary>Counter, label <c>worker</c>: unexpected failures caught by supervision (executor, committer, or a hosted loop by name); an executor or committer failure stops and reloads the runtime.</summary>
        public const string WorkerFaults = "showrunner.worker.faults";

        /// <summary>Gauge, seconds: how long the oldest piece of work in any partition executor has waited (0 when all are idle); readiness fails past <c>Showrunner:StallAfterSeconds</c>.</summary>
        public const string PartitionOldestWait = "showrunner.partition.oldest_wait";

        /// <summary>Counter, labels <c>event</c>, <c>kind</c>: grants durably committed to the ledger.</summary>
        public const string Grants = "showrunner.grants";

        /// <summary>Counter, labels <c>event</c>, <c>currency</c>: the positive reward amounts of committed grants.</summary>
        public const string CurrencyGranted = "showrunner.currency.granted";

        /// <summary>Counter, labels <c>event</c>, <c>currency</c>: the magnitude of negative reward amounts (correction entries that reverse grants).</summary>
        public const string CurrencyReversed = "showrunner.currency.reversed";

        /// <summary>Gauge: outbox deliveries pending (not yet delivered, not dead-lettered).</summary>
        public const string OutboxBacklog = "showrunner.outbox.backlog";

        /// <summary>Gauge, seconds: age of the oldest pending outbox delivery (0 when none is pending).</summary>
        public const string OutboxOldestPendingAge = "showrunner.outbox.oldest_pending_age";

        /// <summary>Counter, label <c>outcome</c> (delivered, failed, dead_lettered, deferred): outbox delivery attempts.</summary>
        public const string OutboxAttempts = "showrunner.outbox.attempts";

        /// <summary>Gauge: deliveries currently in the dead-letter state (an operator must look).</summary>
        public const string OutboxDeadLetters = "showrunner.outbox.dead_letters";

        /// <summary>Gauge, seconds: time since the latest ledger checkpoint was signed.</summary>
        public const string LedgerCheckpointAge = "showrunner.ledger.checkpoint_age";

        /// <summary>Gauge: committed ledger entries not yet covered by the latest signed checkpoint.</summary>
        public const string LedgerUncoveredEntries = "showrunner.ledger.uncovered_entries";

        /// <summary>Counter: checkpoints signed and stored.</summary>
        public const string LedgerCheckpoints = "showrunner.ledger.checkpoints";

        /// <summary>Histogram, seconds: how long signing and storing one checkpoint took.</summary>
        public const string LedgerCheckpointDuration = "showrunner.ledger.checkpoint.duration";

        /// <summary>Gauge: partitions whose ledger failed a check (at start or on a read); their receipts and reward reads answer <c>ledger_damaged</c>.</summary>
        public const string LedgerDamagedPartitions = "showrunner.ledger.damaged_partitions";

        /// <summary>Gauge: 1 while a rollout is running (or held), else 0.</summary>
        public const string RolloutActive = "showrunner.rollout.active";

        /// <summary>Gauge: the running rollout's step index.</summary>
        public const string RolloutStep = "showrunner.rollout.step";

        /// <summary>Gauge, labels <c>gate</c>, <c>event</c>, <c>reward</c>, <c>side</c> (candidate, baseline, threshold): the running rollout's gate values.</summary>
        public const string RolloutGateValue = "showrunner.rollout.gate.value";

        /// <summary>Gauge, labels <c>gate</c>, <c>event</c>, <c>reward</c>: the running rollout's gate verdicts (0 pass, 1 inconclusive, 2 fail).</summary>
        public const string RolloutGateStatus = "showrunner.rollout.gate.status";

        /// <summary>Counter, label <c>trigger</c> (gate, operator): rollouts rolled back.</summary>
        public const string RolloutRollbacks = "showrunner.rollout.rollbacks";
    }

    /// <summary>Bucket upper bounds (seconds) of the latency histograms: fine below 10 ms, where acknowledgements live.</summary>
    public static readonly IReadOnlyList<double> LatencyBucketsSeconds =
        [0.00025, 0.0005, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>Bucket upper bounds of <see cref="Names.CommitBatchSize"/> (actions).</summary>
    public static readonly IReadOnlyList<long> BatchSizeBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192];

    private Func<(int Total, int Max)>? _queue;
    private Func<OutboxGauges?>? _outbox;
    private Func<CheckpointGauges?>? _checkpoint;
    private Func<RolloutGauges?>? _rollout;
    private Func<int>? _ledgerDamage;

    /// <summary>Creates the meter from <paramref name="meterFactory"/> (the host's, which disposes it) or on its own.</summary>
    public ShowrunnerMetrics(IMeterFactory? meterFactory = null)
    {
        Meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        var latency = new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBucketsSeconds };
        ActionsReceived = Meter.CreateCounter<long>(Names.ActionsReceived, "{action}", "Actions in parsed batches (valid or not), before admission.");
        ActionsAccepted = Meter.CreateCounter<long>(Names.ActionsAccepted, "{action}", "Actions durably committed and acknowledged as new.");
        ActionsDuplicates = Meter.CreateCounter<long>(Names.ActionsDuplicates, "{action}", "Actions answered duplicate: the id was already stored with the same content.");
        ActionsRejected = Meter.CreateCounter<long>(Names.ActionsRejected, "{action}", "Actions answered rejected, by rejection code.");
        BatchesRefused = Meter.CreateCounter<long>(Names.BatchesRefused, "{batch}", "Whole batches refused before admission (nothing applied), by problem code.");
        AckLatency = Meter.CreateHistogram(Names.AckLatency, "s", "From the start of POST /v1/actions to its answer, for acknowledged (200) batches.", advice: latency);
        QueueWait = Meter.CreateHistogram(Names.QueueWait, "s", "Time a work unit waited in its partition inbox before its executor ran it.", advice: latency);
        CommitBatchSize = Meter.CreateHistogram(Names.CommitBatchSize, "{action}", "Actions written per durable group commit.",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = BatchSizeBuckets });
        CommitLatency = Meter.CreateHistogram(Names.CommitLatency, "s", "Duration of one durable group commit (write and sync).", advice: latency);
        CommitFailures = Meter.CreateCounter<long>(Names.CommitFailures, "{commit}", "Group commits that failed; each stops the pipeline and reloads it from the store.");
        WorkerFaults = Meter.CreateCounter<long>(Names.WorkerFaults, "{fault}", "Unexpected failures caught by supervision, by worker; an executor or committer failure stops and reloads the runtime.");
        Meter.CreateObservableGauge(Names.PartitionOldestWait, () => _oldestWait is { } read ? [new Measurement<double>(read().TotalSeconds)] : Array.Empty<Measurement<double>>(),
            "s", "How long the oldest work in any partition executor has waited; 0 when idle.");
        Grants = Meter.CreateCounter<long>(Names.Grants, "{grant}", "Grants durably committed to the ledger, by event and cause kind.");
        CurrencyGranted = Meter.CreateCounter<long>(Names.CurrencyGranted, "{unit}", "Positive reward amounts of committed grants, by event and currency.");
        CurrencyReversed = Meter.CreateCounter<long>(Names.CurrencyReversed, "{unit}", "Magnitude of negative reward amounts (corrections reversing grants), by event and currency.");
        OutboxAttempts = Meter.CreateCounter<long>(Names.OutboxAttempts, "{attempt}", "Outbox delivery attempts, by outcome.");
        LedgerCheckpoints = Meter.CreateCounter<long>(Names.LedgerCheckpoints, "{checkpoint}", "Ledger checkpoints signed and stored.");
        LedgerCheckpointDuration = Meter.CreateHistogram(Names.LedgerCheckpointDuration, "s", "Duration of signing and storing one ledger checkpoint.", advice: latency);
        RolloutRollbacks = Meter.CreateCounter<long>(Names.RolloutRollbacks, "{rollout}", "Rollouts rolled back, by trigger (gate or operator).");

        Meter.CreateObservableGauge(Names.PartitionQueueDepth, () => _queue is { } read ? [new Measurement<long>(read().Total)] : Array.Empty<Measurement<long>>(),
            "{action}", "Actions admitted to partition inboxes and not yet committed, over all partitions.");
        Meter.CreateObservableGauge(Names.PartitionQueueDepthMax, () => _queue is { } read ? [new Measurement<long>(read().Max)] : Array.Empty<Measurement<long>>(),
            "{action}", "Actions in the fullest partition inbox.");
        Meter.CreateObservableGauge(Names.OutboxBacklog, () => _outbox?.Invoke() is { } o ? [new Measurement<long>(o.Pending)] : Array.Empty<Measurement<long>>(),
            "{delivery}", "Outbox deliveries pending (not delivered, not dead-lettered).");
        Meter.CreateObservableGauge(Names.OutboxOldestPendingAge, () => _outbox?.Invoke() is { } o ? [new Measurement<double>(o.OldestPendingAgeSeconds)] : Array.Empty<Measurement<double>>(),
            "s", "Age of the oldest pending outbox delivery; 0 when none is pending.");
        Meter.CreateObservableGauge(Names.OutboxDeadLetters, () => _outbox?.Invoke() is { } o ? [new Measurement<long>(o.DeadLettered)] : Array.Empty<Measurement<long>>(),
            "{delivery}", "Outbox deliveries in the dead-letter state.");
        Meter.CreateObservableGauge(Names.LedgerCheckpointAge, () => _checkpoint?.Invoke() is { AgeSeconds: { } age } ? [new Measurement<double>(age)] : Array.Empty<Measurement<double>>(),
            "s", "Time since the latest ledger checkpoint was signed.");
        Meter.CreateObservableGauge(Names.LedgerUncoveredEntries, () => _checkpoint?.Invoke() is { } c ? [new Measurement<long>(c.UncoveredEntries)] : Array.Empty<Measurement<long>>(),
            "{entry}", "Committed ledger entries not yet covered by the latest signed checkpoint.");
        Meter.CreateObservableGauge(Names.LedgerDamagedPartitions, () => _ledgerDamage is { } read ? [new Measurement<long>(read())] : Array.Empty<Measurement<long>>(),
            "{partition}", "Partitions whose ledger failed a check; their receipts and reward reads are refused.");
        Meter.CreateObservableGauge(Names.RolloutActive, () => _rollout is { } read ? [new Measurement<long>(read() is { Running: true } ? 1 : 0)] : Array.Empty<Measurement<long>>(),
            "{rollout}", "1 while a rollout is running or held, else 0.");
        Meter.CreateObservableGauge(Names.RolloutStep, () => _rollout?.Invoke() is { Running: true } r ? [new Measurement<long>(r.Step)] : Array.Empty<Measurement<long>>(),
            "{step}", "The running rollout's step index.");
        Meter.CreateObservableGauge(Names.RolloutGateValue, () => _rollout?.Invoke() is { Running: true } r ? r.Values : Array.Empty<Measurement<double>>(),
            "1", "The running rollout's gate values: the candidate's, the baseline's and the allowed threshold.");
        Meter.CreateObservableGauge(Names.RolloutGateStatus, () => _rollout?.Invoke() is { Running: true } r ? r.Statuses : Array.Empty<Measurement<long>>(),
            "1", "The running rollout's gate verdicts: 0 pass, 1 inconclusive, 2 fail.");
    }

    public Meter Meter { get; }

    public Counter<long> ActionsReceived { get; }
    public Counter<long> ActionsAccepted { get; }
    public Counter<long> ActionsDuplicates { get; }
    public Counter<long> ActionsRejected { get; }
    public Counter<long> BatchesRefused { get; }
    public Histogram<double> AckLatency { get; }
    public Histogram<double> QueueWait { get; }
    public Histogram<long> CommitBatchSize { get; }
    public Histogram<double> CommitLatency { get; }
    public Counter<long> CommitFailures { get; }
    public Counter<long> WorkerFaults { get; }
    public Counter<long> Grants { get; }
    public Counter<long> CurrencyGranted { get; }
    public Counter<long> CurrencyReversed { get; }
    public Counter<long> OutboxAttempts { get; }
    public Counter<long> LedgerCheckpoints { get; }
    public Histogram<double> LedgerCheckpointDuration { get; }
    public Counter<long> RolloutRollbacks { get; }

    /// <summary>Registers the source of the queue gauges (the pipeline's inbox counts: total and the fullest).</summary>
    public void ObserveQueue(Func<(int Total, int Max)> read) => _queue = read;

    private Func<TimeSpan>? _oldestWait;

    /// <summary>Registers the source of <see cref="Names.PartitionOldestWait"/> (the pipeline).</summary>
    public void ObserveOldestWait(Func<TimeSpan> read) => _oldestWait = read;

    /// <summary>Registers the source of the outbox gauges; it must answer from memory (a cached count), never block on the store.</summary>
    public void ObserveOutbox(Func<OutboxGauges?> read) => _outbox = read;

    /// <summary>Registers the source of the checkpoint gauges.</summary>
    public void ObserveCheckpoint(Func<CheckpointGauges?> read) => _checkpoint = read;

    /// <summary>Registers the source of the damaged-partitions gauge (an in-memory count).</summary>
    public void ObserveLedgerDamage(Func<int> read) => _ledgerDamage = read;

    /// <summary>Registers the source of the rollout gauges.</summary>
    public void ObserveRollout(Func<RolloutGauges?> read) => _rollout = read;

    public void Dispose() => Meter.Dispose();
}

/// <summary>What the outbox gauges report (from the store's counts, refreshed in the background).</summary>
public sealed record OutboxGauges(long Pending, long DeadLettered, double OldestPendingAgeSeconds);

/// <summary>What the checkpoint gauges report; <see cref="AgeSeconds"/> is null before the first checkpoint.</summary>
public sealed record CheckpointGauges(double? AgeSeconds, long UncoveredEntries);

/// <summary>What the rollout gauges report: gate values and verdicts already labelled.</summary>
public sealed record RolloutGauges(bool Running, int Step, Measurement<double>[] Values, Measurement<long>[] Statuses);
