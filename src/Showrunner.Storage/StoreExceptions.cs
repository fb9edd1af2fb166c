namespace Showrunner.Storage;

/// <summary>
/// A failure the storage contract names, with a stable <see cref="Code"/> that callers, logs and
/// the CLI show. Every store throws these types (and only wraps its own driver's exceptions in
/// them as <see cref="Exception.InnerException"/>), so nothing outside a store's assembly needs to
/// know which database it runs on.
/// </summary>
/// <remarks>
/// Expected outcomes are not exceptions: a compare-and-set that lost returns null or false, an
/// insert-once that found its key returns false (docs/internals/storage.md, "Results and
/// failures"). A violated uniqueness inside <see cref="IActionStore.Commit"/> (a repeated action
/// or grant id) is a broken invariant of the caller, not a contract outcome: the store throws
/// whatever its driver throws and writes nothing.
/// </remarks>
public abstract class StoreException : Exception
{
    protected StoreException(string code, string message, Exception? innerException = null) : base(message, innerException)
    {
        ArgumentException.ThrowIfNullOrEmpty(code);
        Code = code;
    }

    /// <summary>A stable, lower-case code (documented on each subclass).</summary>
    public string Code { get; }
}

/// <summary>The data directory cannot be opened as configured (wrong partition count, newer schema, in use).</summary>
public sealed class StoreConfigurationException(string code, string message) : StoreException(code, message)
{
    // Codes: partition_count_mismatch, schema_too_new, data_directory_locked, store_settings (Open);
    // data_directory_missing, schema_too_old, schema_unknown, store_damaged (IDataDirectoryReader).
}

/// <summary>
/// The store could not be reached or used for a moment: the database was busy or locked past the
/// store's wait, or an I/O error or a full disk refused the operation. Code <c>store_unavailable</c>.
/// </summary>
/// <remarks>
/// Nothing of the failed call was written, as far as the store can tell. A caller may retry a read
/// or a compare-and-set later (they are idempotent or conditional); a failed group commit is still
/// fail-stop for the runtime (the store's state after a failed fsync is not to be trusted, so it
/// reloads rather than retries: docs/internals/storage.md).
/// </remarks>
public sealed class StoreUnavailableException(string message, Exception? innerException = null)
    : StoreException(CodeValue, message, innerException)
{
    public const string CodeValue = "store_unavailable";
}

/// <summary>
/// Stored data cannot be read as the contract describes it (a damaged or hand-edited file, a value
/// of the wrong type). Code <c>store_damaged</c>. The message is the store's own description of
/// what it could not read.
/// </summary>
public sealed class StoreDataException(string message, Exception? innerException = null)
    : StoreException(CodeValue, message, innerException)
{
    public const string CodeValue = "store_damaged";
}

/// <summary>
/// A commit was fenced with an owner epoch that is no longer the partition's epoch: another owner
/// claimed the partition since (<see cref="IPartitionLog.ClaimAsync"/>). Code <c>stale_epoch</c>.
/// Nothing of the batch was written; the writer remains usable, but the caller no longer owns the
/// partition and must stop writing it.
/// </summary>
public sealed class StaleEpochException(int partition, long presentedEpoch, long currentEpoch)
    : StoreException(CodeValue, $"Partition {partition} is at owner epoch {currentEpoch}; the commit was fenced with epoch {presentedEpoch} and wrote nothing.")
{
    public const string CodeValue = "stale_epoch";

    public int Partition { get; } = partition;

    /// <summary>The epoch the refused batch carried.</summary>
    public long PresentedEpoch { get; } = presentedEpoch;

    /// <summary>The partition's epoch in the store when the batch was refused.</summary>
    public long CurrentEpoch { get; } = currentEpoch;
}
