namespace Showrunner.Storage.Audit;

/// <summary>One audit entry as stored (docs/audit.md); the hashes are the 32 raw bytes.</summary>
/// <param name="Seq">1, 2, 3, … without gaps.</param>
/// <param name="AtTicks">UTC ticks.</param>
/// <param name="Details">A compact JSON object, or null.</param>
public sealed record StoredAuditEntry(long Seq, long AtTicks, string Actor, string Action, string Target, string? Before, string? After,
    string? Reason, string? Details, byte[] PrevHash, byte[] Hash);

/// <summary>
/// Which entries to read. Without <see cref="AfterSeq"/>: newest first, below <see cref="BeforeSeq"/>
/// when given. With it: oldest first, above it. The filters compare exactly.
/// </summary>
public sealed record AuditQuery(int Limit, long? AfterSeq = null, long? BeforeSeq = null, string? Action = null, string? Actor = null, string? Target = null);

/// <summary>
/// The append-only audit log. There is no update or delete: an entry once written stays as it is
/// (the SQLite store also refuses both with triggers).
/// </summary>
/// <remarks>
/// Threading: every method is safe to call concurrently; appends are serialized by the caller
/// (the runtime's audit trail), and <see cref="Append"/> itself refuses an entry that does not
/// extend the stored head. Durability: when <see cref="Append"/> returns, the entry survives a
/// process kill and a power loss.
/// </remarks>
public interface IAuditStore
{
    /// <summary>The entry with the highest seq, or null while the log is empty.</summary>
    StoredAuditEntry? Head();

    /// <summary>
    /// Writes <paramref name="entry"/> durably, only if it extends the stored log: its seq is the
    /// head's + 1 and its prev_hash is the head's hash (1 and 32 zero bytes on an empty log).
    /// </summary>
    /// <exception cref="InvalidOperationException">The entry does not extend the head (another writer moved it); nothing was written.</exception>
    void Append(StoredAuditEntry entry);

    IReadOnlyList<StoredAuditEntry> Query(AuditQuery query);
}
