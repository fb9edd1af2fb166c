namespace Showrunner.Storage.Memory;

/// <summary>
/// The in-memory store as a provider: every <see cref="CreateStore"/> is a new, empty
/// <see cref="InMemoryStore"/> (the data directory is ignored). It recognises no data directory.
/// </summary>
public sealed class InMemoryStoreProvider : IStoreProvider
{
    public string Name => "memory";

    public string Recognises => "(nothing: the in-memory store keeps no files)";

    public IActionStore CreateStore(StoreSettings settings, TimeProvider time) => new InMemoryStore(time);

    public IDataDirectoryReader? TryOpenReader(string dataDirectory) => null;
}
