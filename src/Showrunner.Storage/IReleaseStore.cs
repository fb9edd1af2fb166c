namespace Showrunner.Storage;

/// <summary>A published release as stored (the bundle itself is read separately).</summary>
/// <param name="Ref">A small local number; stored actions refer to their release by it.</param>
/// <param name="Id">The release id: lower-case hex SHA-256 of the canonical bundle.</param>
public sealed record StoredRelease(long Ref, string Id, string Name, string MerkleRoot, int Size, long PublishedAtTicks);

/// <summary>One version of the active-release register.</summary>
/// <param name="Version">1, 2, 3, … without gaps; 0 is the empty register.</param>
/// <param name="Restores">The register version a rollback from this one returns to; 0 when there is none.</param>
/// <param name="Kind"><c>activate</c>, <c>rollback</c> or <c>example</c>.</param>
public sealed record RegisterEntry(long Version, StoredRelease Release, long Restores, string Kind, string? Reason, long AtTicks);

/// <summary>
/// Published releases (immutable) and the versioned register that names the active one. The
/// register only grows: each change is a new version, written by compare-and-set.
/// </summary>
/// <remarks>Every method is safe to call concurrently with the others and with the action store.</remarks>
public interface IReleaseStore
{
    /// <summary>Stores a release unless one with the same id exists. Returns the stored release and whether it was new.</summary>
    (StoredRelease Release, bool Created) Publish(string id, string name, string merkleRoot, byte[] bundle, long atTicks);

    StoredRelease? Find(string id);

    StoredRelease? Find(long releaseRef);

    /// <summary>The canonical bundle bytes of a stored release.</summary>
    byte[]? ReadBundle(long releaseRef);

    /// <summary>Releases newest first, at most <paramref name="limit"/>, published before <paramref name="beforeRef"/> when given.</summary>
    IReadOnlyList<StoredRelease> List(int limit, long? beforeRef);

    /// <summary>The register at its latest version, or null while it is empty.</summary>
    RegisterEntry? Current();

    /// <summary>One version of the register, or null.</summary>
    RegisterEntry? ReadVersion(long version);

    /// <summary>The latest versions of the register, newest first.</summary>
    IReadOnlyList<RegisterEntry> History(int limit);

    /// <summary>
    /// Compare-and-set: writes version <paramref name="expectedVersion"/> + 1 only if the register
    /// is still at <paramref name="expectedVersion"/>. Returns the new entry, or null (and changes
    /// nothing) when another change came first.
    /// </summary>
    RegisterEntry? TryAdvance(long expectedVersion, long releaseRef, long restores, string kind, string? reason, long atTicks);
}
