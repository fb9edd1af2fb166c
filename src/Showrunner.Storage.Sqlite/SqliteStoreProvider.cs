namespace Showrunner.Storage.Sqlite;

/// <summary>
/// The embedded store as the host and the tools pick it: <see cref="SqliteActionStore"/> in a data
/// directory, recognised by its <c>showrunner.db</c>.
/// </summary>
public sealed class SqliteStoreProvider : IStoreProvider
{
    public string Name => "sqlite";

    public string Recognises => SqliteActionStore.DatabaseFileName;

    public IActionStore CreateStore(StoreSettings settings, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return new SqliteActionStore(new SqliteStoreOptions { DataDirectory = settings.DataDirectory, ReadConnections = settings.ReadConnections }, time);
    }

    public IDataDirectoryReader? TryOpenReader(string dataDirectory) => SqliteDataDirectoryReader.TryOpen(dataDirectory);
}
