using Showrunner.Storage;

namespace Showrunner.Cli;

/// <summary>
/// The stores whose data directories the CLI reads (<c>ledger verify --data</c>, <c>reconcile</c>,
/// <c>simulate</c>, <c>audit verify --data</c>): the one place in the CLI that names an
/// implementation. Everything else reads through <see cref="IDataDirectoryReader"/>.
/// </summary>
internal static class DataDirectoryStores
{
    public static IReadOnlyList<IStoreProvider> Providers { get; } = [new Storage.Sqlite.SqliteStoreProvider()];

    /// <summary>Opens the directory read-only with the provider that recognises it.</summary>
    /// <exception cref="StoreConfigurationException">No provider recognises it, or it cannot be read by this build.</exception>
    public static IDataDirectoryReader Open(string dataDirectory) => DataDirectoryReaders.Open(dataDirectory, Providers);
}
