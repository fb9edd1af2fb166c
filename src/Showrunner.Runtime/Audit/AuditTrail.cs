using System.Text.Json;
using Microsoft.Extensions.Logging;
using Showrunner.Core.Audit;
using Showrunner.Storage.Audit;

namespace Showrunner.Runtime.Audit;

/// <summary>
/// The audit log's writer: numbers, dates and hash-chains each <see cref="AuditRecord"/> and
/// appends it to the store. Appends are serialized (one at a time, in call order), so concurrent
/// callers get distinct, consecutive sequence numbers and one chain.
/// </summary>
/// <remarks>
/// <para>
/// Recording an act: <c>await audit.RecordAsync(new AuditRecord(actor, "flag.set", flag, before,
/// after, reason, AuditDetails.Of(w => w.WriteString("scope", scope))))</c> after the act took
/// effect and before answering the caller. It returns once the entry is durable (the store's
/// synchronous=FULL), so an act whose answer a caller saw always has its entry.
/// </para>
/// <para>
/// An entry's time is the clock's, but never earlier than the previous entry's, so the log reads
/// in time order even if the clock is set back. If the store refuses or fails an append, the
/// in-memory head is dropped and read again from the store on the next append: the trail never
/// continues from a head the store does not hold.
/// </para>
/// </remarks>
public sealed partial class AuditTrail : IAuditTrail, IDisposable
{
    private readonly IAuditStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _appends = new(1, 1);
    private (long Seq, long AtTicks, byte[] Hash)? _head;

    public AuditTrail(IAuditStore store, TimeProvider time, ILogger<AuditTrail> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _time = time;
        _logger = logger;
    }

    /// <remarks>An empty reason is recorded as no reason (null).</remarks>
    /// <exception cref="ArgumentException">A field of the record breaks a rule of the audit entry (docs/audit.md); nothing was written.</exception>
    public Task<long> RecordAsync(AuditRecord record, CancellationToken cancellationToken = default) => AppendAsync(record, null, cancellationToken);

    /// <summary>
    /// Records <paramref name="record"/> unless the log already has an entry for the same act: one
    /// of the latest <see cref="RecordOnceScanMax"/> entries with the same action and target for
    /// which <paramref name="sameAct"/> is true (its seq is returned then). Checked and appended
    /// under the append lock, so two callers never both record it.
    /// </summary>
    /// <remarks>
    /// For an idempotent repeat of an act (a grant requested again, a release published or
    /// activated again): if the server stopped after the act committed and before its entry did,
    /// the repeat — which tells its caller the act happened — writes the missing entry.
    /// </remarks>
    public Task<long> RecordOnceAsync(AuditRecord record, Func<StoredAuditEntry, bool> sameAct, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sameAct);
        return AppendAsync(record, sameAct, cancellationToken);
    }

    /// <summary>How many entries of one action and target <see cref="RecordOnceAsync"/> looks back through.</summary>
    public const int RecordOnceScanMax = 500;

    private async Task<long> AppendAsync(AuditRecord record, Func<StoredAuditEntry, bool>? sameAct, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        await _appends.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (sameAct is not null && _store.Query(new AuditQuery(RecordOnceScanMax, Action: record.Action, Target: record.Target))
                .FirstOrDefault(sameAct) is { } existing)
            {
                return existing.Seq;
            }
            var (seq, atTicks, hash) = _head ??= ReadHead();
            var entry = AuditEntry.Create(seq + 1, hash, Math.Max(_time.GetUtcNow().UtcTicks, atTicks), record.Actor, record.Action, record.Target,
                record.Before, record.After, string.IsNullOrEmpty(record.Reason) ? null : record.Reason, record.Details);
            try
            {
                _store.Append(new StoredAuditEntry(entry.Seq, entry.AtTicks, entry.Actor, entry.Action, entry.Target, entry.Before, entry.After,
                    entry.Reason, entry.Details, entry.PrevHash, entry.Hash));
            }
            catch (Exception exception)
            {
                // Whether or not the row landed, the next append reads the head from the store again.
                _head = null;
                LogAppendFailed(_logger, exception, entry.Action, entry.Target);
                throw;
            }
            _head = (entry.Seq, entry.AtTicks, entry.Hash);
            LogRecorded(_logger, entry.Seq, entry.Actor, entry.Action, entry.Target);
            return entry.Seq;
        }
        finally
        {
            _appends.Release();
        }
    }

    /// <summary>The stored head: its seq (0 for an empty log) and hash (32 zero bytes for an empty log).</summary>
    public (long Seq, byte[] Hash) Head()
    {
        var head = _store.Head();
        return head is null ? (0, AuditEntry.GenesisPrevHash()) : (head.Seq, head.Hash);
    }

    private (long, long, byte[]) ReadHead()
    {
        var head = _store.Head();
        return head is null ? (0, long.MinValue, AuditEntry.GenesisPrevHash()) : (head.Seq, head.AtTicks, head.Hash);
    }

    public void Dispose() => _appends.Dispose();

    [LoggerMessage(EventId = 6200, Level = LogLevel.Information, Message = "Audit {Seq}: {Actor} {Action} {Target}")]
    private static partial void LogRecorded(ILogger logger, long seq, string actor, string action, string target);

    [LoggerMessage(EventId = 6201, Level = LogLevel.Error, Message = "Writing the audit entry for {Action} {Target} failed")]
    private static partial void LogAppendFailed(ILogger logger, Exception exception, string action, string target);
}

/// <summary>Builds the <see cref="AuditRecord.Details"/> JSON object.</summary>
public static class AuditDetails
{
    /// <summary>A compact JSON object with the properties <paramref name="write"/> writes (snake_case names, never secrets).</summary>
    public static string Of(Action<Utf8JsonWriter> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
