namespace Showrunner.Core.Audit;

/// <summary>The outcome of checking an audit log: the first bad entry (when one can be named) and why, or the head reached.</summary>
public sealed record AuditVerification(string Code, string Detail, long? FirstBadSeq, long Entries, long HeadSeq, byte[] HeadHash)
{
    public const string Ok = "ok";
    /// <summary>An entry has the wrong seq: one before it is missing, or entries were duplicated or reordered.</summary>
    public const string SeqGap = "audit.seq_gap";
    /// <summary>An entry's prev_hash is not the previous entry's hash (32 zero bytes for entry 1).</summary>
    public const string PrevHashMismatch = "audit.prev_hash_mismatch";
    /// <summary>A field breaks the entry rules (empty actor, details that are not a JSON object, …).</summary>
    public const string EntryMalformed = "audit.entry_malformed";
    /// <summary>The fields do not hash to the stored hash: the entry was edited.</summary>
    public const string HashMismatch = "audit.hash_mismatch";
    /// <summary>An entry is dated before its predecessor (the log never goes back in time).</summary>
    public const string TimeReversed = "audit.time_reversed";
    /// <summary>The head recorded earlier (<c>--expect-head</c>) is not in the chain: entries were removed from the end, or rewritten.</summary>
    public const string HeadMissing = "audit.head_missing";

    public bool IsValid => Code == Ok;
}

/// <summary>
/// Checks an audit log as stored or served: entries numbered 1, 2, 3, … without gaps, each linked
/// to its predecessor's hash (entry 1 to 32 zero bytes), each valid and hashing to its stored
/// hash, none dated before its predecessor; and, when given, that a head recorded earlier is one
/// of its entries (so the log was not cut back or rewritten up to it). Streams: constant memory
/// whatever the length. Reports the first failure only (later ones usually follow from it).
/// </summary>
public static class AuditChain
{
    /// <param name="entries">The entries in seq order, from the first.</param>
    /// <param name="expectedHead">The hash of an entry recorded earlier (a head kept off-site), or null.</param>
    public static AuditVerification Verify(IEnumerable<AuditEntry> entries, byte[]? expectedHead = null)
    {
        ArgumentNullException.ThrowIfNull(entries);
        byte[] previous = AuditEntry.GenesisPrevHash();
        long previousAt = long.MinValue;
        long seq = 0;
        long? expectedAt = null;
        foreach (var entry in entries)
        {
            long next = seq + 1;
            AuditVerification Bad(string code, string detail) => new(code, detail, next, seq, seq, previous);
            if (entry.Seq != next)
            {
                return Bad(AuditVerification.SeqGap, entry.Seq > next
                    ? $"expected entry {next}, found entry {entry.Seq}: entries {next} to {entry.Seq - 1} are missing (or the rows were reordered)"
                    : $"expected entry {next}, found entry {entry.Seq} again (duplicated or reordered rows)");
            }
            if (entry.PrevHash.Length != 32 || !entry.PrevHash.AsSpan().SequenceEqual(previous))
            {
                return Bad(AuditVerification.PrevHashMismatch, next == 1
                    ? "the first entry's prev_hash is not 32 zero bytes"
                    : $"prev_hash does not equal the hash of entry {seq}");
            }
            if (AuditEntry.Problem(entry.Seq, entry.AtTicks, entry.Actor, entry.Action, entry.Target, entry.Before, entry.After, entry.Reason, entry.Details) is { } problem)
            {
                return Bad(AuditVerification.EntryMalformed, problem);
            }
            byte[] hash = entry.ComputeHash();
            if (!hash.AsSpan().SequenceEqual(entry.Hash))
            {
                return Bad(AuditVerification.HashMismatch, $"the entry's fields hash to {Convert.ToHexStringLower(hash)}, the stored hash differs (the entry was edited)");
            }
            if (entry.AtTicks < previousAt)
            {
                return Bad(AuditVerification.TimeReversed, $"the entry is dated before entry {seq}");
            }
            if (expectedHead is not null && expectedAt is null && hash.AsSpan().SequenceEqual(expectedHead))
            {
                expectedAt = next;
            }
            previous = hash;
            previousAt = entry.AtTicks;
            seq = next;
        }
        if (expectedHead is not null && expectedAt is null)
        {
            return new(AuditVerification.HeadMissing,
                $"no entry hashes to the expected head {Convert.ToHexStringLower(expectedHead)}; the log holds {seq} entries: entries were removed from its end, or it was rewritten",
                null, seq, seq, previous);
        }
        return new(AuditVerification.Ok, expectedAt is { } at ? $"the expected head is entry {at}" : "", null, seq, seq, previous);
    }
}
