namespace Showrunner.Storage;

/// <summary>
/// What every store that keeps its data in a local data directory shares with the host and the
/// tools: the files the host itself keeps there and the permissions of the directory
/// (docs/operations.md, "Data directory"). A store's own files (the SQLite database, its lock)
/// are named by that store.
/// </summary>
public static class DataDirectoryLayout
{
    /// <summary>
    /// The ledger's signing key (PKCS#8 PEM), written by the server beside the store's files and read
    /// by <c>showrunner ledger verify --data</c>.
    /// </summary>
    public const string LedgerKeyFileName = "ledger-signing-key.pem";

    /// <summary>The mode of every file a store creates or opens in the data directory (rw-------).</summary>
    public const UnixFileMode FileMode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>The mode of a data directory a store creates (rwx------).</summary>
    public const UnixFileMode DirectoryMode0700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
}
