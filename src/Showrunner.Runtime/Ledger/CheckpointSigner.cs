using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Showrunner.Core.Ledger;
using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.Partitions;
using Showrunner.Storage;

namespace Showrunner.Runtime.Ledger;

/// <summary>
/// Signs checkpoints: statements of every partition's committed ledger (size, Merkle root),
/// numbered 0, 1, 2, …, stored append-only. A new checkpoint is signed when some partition's
/// committed ledger grew since the last one — at most once per call, and the hosted service calls
/// at least every few seconds — so every grant is covered by a signed checkpoint soon after its
/// commit. Receipts ask for one at once when their grant is newer than the latest.
/// </summary>
/// <remarks>
/// A damaged partition (<see cref="LedgerIntegrity"/>) is signed at the head of the latest
/// checkpoint (or empty, before the first): its chain is not trusted, so no new root of it is
/// vouched for, and since sizes only stay or grow every checkpoint still extends the last.
/// Only committed heads are signed: the committer publishes a partition's (size, root) after the
/// transaction holding those entries is durable. Signing and storing run one at a time (a lock),
/// the write itself on the store's writer thread.
/// </remarks>
public sealed partial class CheckpointSigner : IDisposable
{
    private readonly ILedgerStore _store;
    private readonly IngestPipeline _pipeline;
    private readonly LedgerSigningKey _key;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly LedgerIntegrity? _integrity;
    private readonly SemaphoreSlim _signing = new(1, 1);
    private readonly Lock _loading = new();
    private SignedCheckpoint? _latest;
    private bool _loaded;

    internal CheckpointSigner(IActionStore store, IngestPipeline pipeline, LedgerSigningKey key, TimeProvider time, ILogger<CheckpointSigner> logger,
        LedgerIntegrity? integrity = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store.Ledger;
        _pipeline = pipeline;
        _key = key;
        _time = time;
        _logger = logger;
        _integrity = integrity;
        pipeline.Metrics.ObserveCheckpoint(Gauges);
    }

    /// <summary>
    /// The checkpoint gauges: time since the latest checkpoint (null before the first) and the
    /// committed entries it does not cover yet. In memory only; never loads the store.
    /// </summary>
    private Observability.CheckpointGauges? Gauges()
    {
        var latest = _loaded ? Volatile.Read(ref _latest) : null;
        long uncovered = 0;
        var heads = _pipeline.CommittedLedgerHeads();
        for (int p = 0; p < heads.Length; p++)
        {
            long signedSize = latest is not null && p < latest.Checkpoint.Partitions.Count ? latest.Checkpoint.Partitions[p].Size : 0;
            uncovered += Math.Max(0, heads[p].Size - signedSize);
        }
        double? age = latest is null ? null : Math.Max(0, (_time.GetUtcNow().UtcTicks - latest.Checkpoint.TimeTicks) / (double)TimeSpan.TicksPerSecond);
        return new Observability.CheckpointGauges(age, uncovered);
    }

    internal string KeyId => _key.KeyId;

    /// <summary>The latest signed checkpoint (loaded from the store on first use), or null before the first.</summary>
    internal SignedCheckpoint? Latest
    {
        get
        {
            EnsureLoaded();
            return Volatile.Read(ref _latest);
        }
    }

    /// <summary>How long the last signing took (signature and durable write), for metrics and benchmarks.</summary>
    public TimeSpan LastSigningDuration { get; private set; }

    private void EnsureLoaded()
    {
        if (_loaded)
        {
            return;
        }
        lock (_loading)
        {
            if (!_loaded)
            {
                _latest = _store.LatestCheckpoint() is { } stored ? Decode(stored) : null;
                _loaded = true;
            }
        }
    }

    /// <summary>A stored checkpoint as signed; throws <see cref="InvalidDataException"/> when the stored bytes are damaged.</summary>
    internal static SignedCheckpoint Decode(StoredCheckpoint stored)
    {
        var (checkpoint, error) = Checkpoint.Decode(stored.Body);
        return checkpoint is null
            ? throw new InvalidDataException($"Stored checkpoint {stored.Sequence} is damaged: {error}")
            : new SignedCheckpoint(checkpoint, stored.Signature);
    }

    /// <summary>
    /// Signs and stores a checkpoint of the committed heads if any partition grew since the latest
    /// (or none exists yet); returns the latest checkpoint either way. Returns null only while the
    /// runtime is not ready and nothing was ever signed.
    /// </summary>
    public async Task<bool> SignIfChangedAsync() => await SignAsync(force: false).ConfigureAwait(false) is not null;

    internal async Task<SignedCheckpoint?> SignAsync(bool force)
    {
        EnsureLoaded();
        if (_pipeline.State != RuntimeState.Ready)
        {
            return Latest;
        }
        await _signing.WaitAsync().ConfigureAwait(false);
        try
        {
            var latest = _latest;
            var heads = HeadsToSign(latest);
            if (!force && latest is not null && SameSizes(latest.Checkpoint, heads))
            {
                return latest;
            }
            long started = Stopwatch.GetTimestamp();
            long sequence = latest is null ? 0 : latest.Checkpoint.Sequence + 1;
            long time = Math.Max(_time.GetUtcNow().UtcTicks, latest?.Checkpoint.TimeTicks ?? 0);
            var signed = _key.Sign(sequence, time, [.. heads.Select(h => new PartitionHead(h.Size, h.Root))]);
            var row = new StoredCheckpoint(sequence, time, signed.Checkpoint.KeyId, signed.Checkpoint.CanonicalBytes, signed.Signature);
            if (!await _pipeline.RunOnWriterAsync(() => _store.AppendCheckpoint(row)).ConfigureAwait(false))
            {
                throw new InvalidDataException($"Checkpoint {sequence} is already stored: another writer signs this data directory.");
            }
            Volatile.Write(ref _latest, signed);
            LastSigningDuration = Stopwatch.GetElapsedTime(started);
            _pipeline.Metrics.LedgerCheckpoints.Add(1);
            _pipeline.Metrics.LedgerCheckpointDuration.Record(LastSigningDuration.TotalSeconds);
            LogSigned(_logger, sequence, heads.Sum(h => h.Size), LastSigningDuration.TotalMilliseconds);
            return signed;
        }
        finally
        {
            _signing.Release();
        }
    }

    /// <summary>The committed heads, with each damaged partition held at its head in <paramref name="latest"/> (empty before the first checkpoint).</summary>
    private LedgerCommitted[] HeadsToSign(SignedCheckpoint? latest)
    {
        var heads = _pipeline.CommittedLedgerHeads();
        if (_integrity is null)
        {
            return heads;
        }
        foreach (var damage in _integrity.Damaged)
        {
            if (damage.Partition < heads.Length)
            {
                var signed = latest is not null && damage.Partition < latest.Checkpoint.Partitions.Count ? latest.Checkpoint.Partitions[damage.Partition] : null;
                heads[damage.Partition] = signed is null ? new LedgerCommitted(0, MerkleHash.EmptyRoot()) : new LedgerCommitted(signed.Size, signed.Root);
            }
        }
        return heads;
    }

    /// <summary>
    /// A signed checkpoint that covers entry <paramref name="index"/> of <paramref name="partition"/>
    /// (a committed entry): the latest if it does, else a new one signed now.
    /// </summary>
    internal async Task<SignedCheckpoint> CoveringAsync(int partition, long index)
    {
        for (int attempt = 0; ; attempt++)
        {
            var latest = Latest;
            if (latest is not null && latest.Checkpoint.Partitions[partition].Size > index)
            {
                return latest;
            }
            if (_integrity?.DamageOf(partition) is { } damage)
            {
                throw new LedgerDamagedException(damage);
            }
            var signed = await SignAsync(force: false).ConfigureAwait(false);
            if (signed is not null && signed.Checkpoint.Partitions[partition].Size > index)
            {
                return signed;
            }
            // The entry is readable a moment before the committer publishes the head that holds it.
            if (attempt >= 50)
            {
                throw new InvalidOperationException($"Entry {partition}/{index} is stored but no committed head covers it.");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(10)).ConfigureAwait(false);
        }
    }

    private static bool SameSizes(Checkpoint checkpoint, IReadOnlyList<LedgerCommitted> heads)
    {
        if (checkpoint.Partitions.Count != heads.Count)
        {
            return false;
        }
        for (int p = 0; p < heads.Count; p++)
        {
            if (checkpoint.Partitions[p].Size != heads[p].Size)
            {
                return false;
            }
        }
        return true;
    }

    public void Dispose() => _signing.Dispose();

    [LoggerMessage(EventId = 5300, Level = LogLevel.Debug, Message = "Signed checkpoint {Sequence} over {EntryCount} entries in {ElapsedMs:F2} ms")]
    private static partial void LogSigned(ILogger logger, long sequence, long entryCount, double elapsedMs);
}

/// <summary>A read needed a partition whose ledger is damaged (<see cref="LedgerIntegrity"/>).</summary>
public sealed class LedgerDamagedException(PartitionDamage damage)
    : Exception($"Ledger partition {damage.Partition} is damaged ({damage.Check}): {damage.Detail}")
{
    public PartitionDamage Damage { get; } = damage;
}
