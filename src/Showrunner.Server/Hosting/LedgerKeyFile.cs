using Showrunner.Core.Ledger;
using Showrunner.Storage;

namespace Showrunner.Server.Hosting;

/// <summary>
/// The ledger's signing key: <c>&lt;data&gt;/ledger-signing-key.pem</c> (PKCS#8 PEM, ECDSA P-256),
/// created on the first start with a new data directory, readable only by its owner (mode 0600).
/// Checkpoints are signed with it; its public half is served at <c>GET /v1/ledger/key</c>.
/// </summary>
/// <remarks>
/// Losing the file does not lose grants, but checkpoints signed afterwards carry a new key id:
/// receipts issued before stay verifiable with the old public key. Back it up with the data directory.
/// </remarks>
internal static class LedgerKeyFile
{
    public const string FileName = DataDirectoryLayout.LedgerKeyFileName;

    /// <summary>Loads the key, or creates it when the file does not exist.</summary>
    /// <exception cref="LedgerKeyException">The file exists but is not a P-256 PKCS#8 key, or is readable by others.</exception>
    public static (LedgerSigningKey Key, bool Created) LoadOrCreate(string dataDirectory)
    {
        string path = Path.Combine(dataDirectory, FileName);
        if (File.Exists(path))
        {
            if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & (UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite)) != 0)
            {
                throw new LedgerKeyException($"{path} is readable or writable by other users; run 'chmod 600 {path}'.");
            }
            try
            {
                return (LedgerSigningKey.FromPkcs8Pem(File.ReadAllText(path)), false);
            }
            catch (Exception exception) when (exception is ArgumentException or System.Security.Cryptography.CryptographicException or InvalidDataException)
            {
                throw new LedgerKeyException($"{path} does not hold an ECDSA P-256 private key in PKCS#8 PEM form: {exception.Message}");
            }
        }
        Directory.CreateDirectory(dataDirectory);
        var key = LedgerSigningKey.Create();
        // Written under a temporary name with owner-only permissions, then renamed: a crash never
        // leaves a half-written key under the real name.
        string temporary = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Options = FileOptions.WriteThrough };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using (var stream = new FileStream(temporary, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(key.ExportPkcs8Pem());
        }
        File.Move(temporary, path, overwrite: false);
        return (key, true);
    }
}

/// <summary>The ledger key file cannot be used; the server refuses to start (exit code 2).</summary>
internal sealed class LedgerKeyException(string message) : Exception(message);
