using Showrunner.Storage.Memory;
using Showrunner.Storage.Outbox;
using Showrunner.Storage.Sqlite;
using Showrunner.Testing;

namespace Showrunner.Storage.Tests;

/// <summary>The storage contract on the embedded SQLite store, in a real data directory.</summary>
[Trait("Category", "Component")]
public sealed class SqliteStoreConformanceTests : StoreConformanceTests
{
    private readonly TempDirectory _directory = new();

    protected override IActionStore CreateStore(TimeProvider time) =>
        new SqliteStoreProvider().CreateStore(new StoreSettings { DataDirectory = _directory.Path, ReadConnections = 2 }, time);

    protected override void DisposeStore() => _directory.Dispose();
}

/// <summary>The storage contract on the in-memory store.</summary>
[Trait("Category", "Component")]
public sealed class InMemoryStoreConformanceTests : StoreConformanceTests
{
    protected override IActionStore CreateStore(TimeProvider time) => new InMemoryStoreProvider().CreateStore(new StoreSettings { DataDirectory = "unused" }, time);
}

/// <summary>The outbox contract (tests/Shared/OutboxStoreContract.cs) on the in-memory store's outbox, as reached through the store.</summary>
[Trait("Category", "Unit")]
public sealed class InMemoryStoreOutboxContractTests : OutboxStoreContract
{
    private InMemoryStore? _store;

    protected override IOutboxStore CreateStore()
    {
        _store = new InMemoryStore(TimeProvider.System);
        _store.Open(2);
        return _store.Outbox;
    }

    protected override void DisposeStore() => _store?.Dispose();
}
