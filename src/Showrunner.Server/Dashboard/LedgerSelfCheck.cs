using System.Diagnostics;
using Showrunner.Core.Ledger;
using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.Ledger;

namespace Showrunner.Server.Dashboard;

/// <summary>The outcome of one ledger self-check, as the dashboard shows it.</summary>
/// <param name="Code"><c>ok</c>, <c>no_checkpoint</c>, or the failing check's stable code (<c>ledger_damaged</c>, <c>consistency.*</c>, <c>heads_differ</c>, <c>check_failed</c>).</param>
/// <param name="FromSequence">The checkpoint the latest was proved consistent with (null on the first check of a single checkpoint).</param>
/// <param name="Damaged">The damaged partitions (<see cref="LedgerIntegrity"/>), by partition; empty unless the code is <c>ledger_damaged</c>.</param>
internal sealed record LedgerCheckResult(string Code, string Detail, DateTimeOffset CheckedAt, long? Sequence, long? FromSequence, long Entries, double DurationMs)
{
    public const string LedgerDamaged = "ledger_damaged";

    public IReadOnlyList<PartitionDamage> Damaged { get; init; } = [];

    public bool Ok => Code is "ok" or "no_checkpoint";
}

/// <summary>
/// A cheap, periodic verification of the ledger inside the server, so the dashboard can show a
/// "last verified" result without anybody running <c>showrunner ledger verify</c>: the latest
/// checkpoint's signature verifies with this server's public key; every partition's log in it
/// extends the log in the last checkpoint that passed (RFC 9162 consistency proofs read from the
/// stored Merkle nodes, O(log n) per partition that grew); and where a partition's committed head
/// has the checkpoint's size, its root is the checkpoint's root.
/// </summary>
/// <remarks>
/// It reports first what the server already knows to be wrong: any partition found damaged by the
/// start-up tail check or by a read (<see cref="LedgerIntegrity"/>) makes the result
/// <c>ledger_damaged</c>, naming each partition and its first bad entry, whatever the checkpoints say.
/// What it does not do: re-hash every entry and chain link (that is linear in the ledger; the
/// offline <c>ledger verify</c> does it). A pass says the signed history only grew and is signed by
/// this key; a failure is logged as an error (event 8101) and shown on the dashboard.
/// </remarks>
internal sealed partial class LedgerSelfCheck(CheckpointSigner signer, LedgerReader reader, IngestPipeline pipeline, LedgerIntegrity integrity, LedgerKeyHolder keys,
    TimeProvider time, ILogger<LedgerSelfCheck> logger) : IDisposable
{
    private LedgerPublicKey? _publicKey;
    private SignedCheckpoint? _verified;
    private LedgerCheckResult? _last;

    /// <summary>The damaged partitions known now (live: not as of the last check).</summary>
    public IReadOnlyList<PartitionDamage> Damaged => integrity.Damaged;

    /// <summary>The latest result, or null before the first check.</summary>
    public LedgerCheckResult? Last => Volatile.Read(ref _last);

    /// <summary>Runs one check (single caller: the dashboard's hosted service, or a test).</summary>
    public LedgerCheckResult Run()
    {
        long started = Stopwatch.GetTimestamp();
        var now = time.GetUtcNow();
        LedgerCheckResult result;
        try
        {
            result = Check(now, started);
        }
        catch (Exception exception) when (exception is InvalidDataException or KeyNotFoundException or IOException or InvalidOperationException
            or System.Data.Common.DbException)
        {
            result = new LedgerCheckResult("check_failed", "The check could not read the ledger: " + exception.Message, now, null, null, 0, Elapsed(started));
        }
        if (!result.Ok)
        {
            LogFailed(logger, result.Code, result.Detail);
        }
        Volatile.Write(ref _last, result);
        return result;
    }

    /// <summary>At most this many damaged partitions are named in the detail (all are in <see cref="LedgerCheckResult.Damaged"/>).</summary>
    public const int DamagedNamedMax = 5;

    private LedgerCheckResult Check(DateTimeOffset now, long started)
    {
        var damaged = integrity.Damaged;
        if (damaged.Count > 0)
        {
            var named = damaged.Take(DamagedNamedMax).Select(d =>
                $"partition {d.Partition} ({d.Check}, first bad entry {(d.FirstBadIndex is { } i ? i.ToString(System.Globalization.CultureInfo.InvariantCulture) : "not named")})");
            string more = damaged.Count > DamagedNamedMax ? $" and {damaged.Count - DamagedNamedMax} more" : "";
            return new LedgerCheckResult(LedgerCheckResult.LedgerDamaged,
                $"{damaged.Count} damaged: {string.Join("; ", named)}{more}. Their receipts and reward reads are refused; see docs/operations.md.",
                now, signer.Latest?.Checkpoint.Sequence, null, 0, Elapsed(started))
            {
                Damaged = damaged,
            };
        }
        if (signer.Latest is not { } latest)
        {
            return new LedgerCheckResult("no_checkpoint", "No checkpoint has been signed yet.", now, null, null, 0, Elapsed(started));
        }
        _publicKey ??= LedgerPublicKey.FromPem(keys.Key.ExportPublicKeyPem()).Key
            ?? throw new InvalidOperationException("The ledger's own public key does not read back.");
        var checkpoint = latest.Checkpoint;
        long entries = checkpoint.Partitions.Sum(p => p.Size);
        var older = _verified ?? (checkpoint.Sequence > 0 ? reader.Checkpoint(checkpoint.Sequence - 1) : null) ?? latest;
        if (older.Checkpoint.Sequence > checkpoint.Sequence)
        {
            older = latest;
        }
        var proofs = reader.ConsistencyProofs(older.Checkpoint, checkpoint);
        var verification = CheckpointConsistency.Verify(older, latest, proofs, _publicKey);
        long? from = older.Checkpoint.Sequence == checkpoint.Sequence ? null : older.Checkpoint.Sequence;
        if (!verification.IsValid)
        {
            return new LedgerCheckResult(verification.Code, verification.Detail, now, checkpoint.Sequence, from, entries, Elapsed(started));
        }
        var heads = pipeline.CommittedLedgerHeads();
        for (int p = 0; p < heads.Length && p < checkpoint.Partitions.Count; p++)
        {
            if (heads[p].Size == checkpoint.Partitions[p].Size && !heads[p].Root.AsSpan().SequenceEqual(checkpoint.Partitions[p].Root))
            {
                return new LedgerCheckResult("heads_differ",
                    $"Partition {p}: the committed head at {heads[p].Size} entries has another root than checkpoint {checkpoint.Sequence}.", now,
                    checkpoint.Sequence, from, entries, Elapsed(started));
            }
        }
        _verified = latest;
        string detail = from is null
            ? $"Checkpoint {checkpoint.Sequence} is signed by key {checkpoint.KeyId[..12]}…"
            : $"Checkpoint {checkpoint.Sequence} is signed by key {checkpoint.KeyId[..12]}… and extends checkpoint {from} on every partition.";
        if (integrity.Startup is { } startup)
        {
            detail += $" At start, {startup.Entries} recent entries of {startup.Partitions} partitions verified against checkpoint " +
                (startup.Checkpoint is { } s ? s.ToString(System.Globalization.CultureInfo.InvariantCulture) : "none") + ".";
        }
        return new LedgerCheckResult("ok", detail, now, checkpoint.Sequence, from, entries, Elapsed(started));
    }

    private static double Elapsed(long started) => Stopwatch.GetElapsedTime(started).TotalMilliseconds;

    public void Dispose() => _publicKey?.Dispose();

    [LoggerMessage(EventId = 8101, Level = LogLevel.Error, Message = "Ledger self-check failed: {Code}: {Detail} (run 'showrunner ledger verify')")]
    private static partial void LogFailed(ILogger logger, string code, string detail);
}
