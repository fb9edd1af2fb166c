using Showrunner.Storage.Memory;
using Showrunner.Storage.Outbox;
using Showrunner.Testing;

namespace Showrunner.Runtime.Tests.Outbox;

/// <summary>The store contract (tests/Shared/OutboxStoreContract.cs) on the in-memory reference store.</summary>
[Trait("Category", "Unit")]
public sealed class InMemoryOutboxStoreTests : OutboxStoreContract
{
    protected override IOutboxStore CreateStore() => new InMemoryOutboxStore();
}
