namespace Showrunner.Storage;

/// <summary>Where and how a store keeps its data; what the host reads from its options.</summary>
public sealed record StoreSettings
{
    /// <summary>The data directory (a store without files, such as the in-memory one, ignores it).</summary>
    public required string DataDirectory { get; init; }

    /// <summary>Connections (or equivalent) kept for concurrent reads: dedup probes, lookups.</summary>
    public int ReadConnections { get; init; } = 4;
}

/// <summary>
/// One kind of store, as the host and the tools pick it: the seam between the storage contract and
/// its implementations (the SQLite store, the in-memory store, later PostgreSQL). The host names a
/// provider in exactly one composition line and otherwise sees only the contract.
/// </summary>
public interface IStoreProvider
{
    /// <summary>A short lower-case name for logs and messages: <c>sqlite</c>, <c>memory</c>.</summary>
    string Name { get; }

    /// <summary>What this provider looks for in a data directory, for the message when no provider recognises one (e.g. <c>showrunner.db</c>).</summary>
    string Recognises { get; }

    /// <summary>A new store, not yet open: the caller calls <see cref="IActionStore.Open"/> and disposes it.</summary>
    IActionStore CreateStore(StoreSettings settings, TimeProvider time);

    /// <summary>
    /// Opens the data directory read-only if it holds this store's data, or returns null when it
    /// does not (so that the next provider can try). Never writes, migrates or locks.
    /// </summary>
    /// <exception cref="StoreConfigurationException">The directory is this store's but cannot be read by this build (its codes are in <see cref="IDataDirectoryReader"/>).</exception>
    IDataDirectoryReader? TryOpenReader(string dataDirectory);
}

/// <summary>Opens a data directory with the first provider that recognises it.</summary>
public static class DataDirectoryReaders
{
    /// <exception cref="StoreConfigurationException">
    /// <c>data_directory_missing</c> when no provider recognises the directory, or what the
    /// recognising provider throws.
    /// </exception>
    public static IDataDirectoryReader Open(string dataDirectory, IReadOnlyList<IStoreProvider> providers)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataDirectory);
        ArgumentNullException.ThrowIfNull(providers);
        foreach (var provider in providers)
        {
            if (provider.TryOpenReader(dataDirectory) is { } reader)
            {
                return reader;
            }
        }
        string expected = string.Join(" or ", providers.Select(p => $"{p.Recognises} ({p.Name})"));
        throw new StoreConfigurationException("data_directory_missing",
            $"'{dataDirectory}' is not a Showrunner data directory: {expected} does not exist in it.");
    }
}
