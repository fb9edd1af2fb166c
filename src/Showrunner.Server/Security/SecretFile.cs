namespace Showrunner.Server.Security;

/// <summary>
/// Files in the data directory that hold a secret (<c>admin.key</c>, <c>token.key</c>): written
/// under a temporary name with mode 0600 from the start, then renamed, so that neither a crash
/// nor another user ever sees a half-written or readable file.
/// </summary>
internal static class SecretFile
{
    private const UnixFileMode OthersMayAccess = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite;

    public static void Write(string path, string text)
    {
        string temporary = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Options = FileOptions.WriteThrough };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using (var stream = new FileStream(temporary, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(text);
        }
        if (!OperatingSystem.IsWindows())
        {
            // A leftover temporary file from a crash keeps its old mode under FileMode.Create.
            File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Whether users other than the owner may read or write the file (always false on Windows).</summary>
    public static bool IsExposed(string path) =>
        !OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & OthersMayAccess) != 0;
}
