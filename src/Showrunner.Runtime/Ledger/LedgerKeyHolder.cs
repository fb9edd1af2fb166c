namespace Showrunner.Runtime.Ledger;

/// <summary>The ledger signing key, read from the data directory after the store opens and before anything signs.</summary>
internal sealed class LedgerKeyHolder
{
    private Showrunner.Core.Ledger.LedgerSigningKey? _key;

    public Showrunner.Core.Ledger.LedgerSigningKey Key
    {
        get => _key ?? throw new InvalidOperationException("The ledger key is not loaded yet.");
        set => _key = value;
    }
}
