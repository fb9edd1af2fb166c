using Showrunner.Storage;

namespace Showrunner.Server.Hosting;

/// <summary>
/// What the start-up log says about the data directory's permissions (docs/operations.md, "Data
/// directory"). The store creates a new directory 0700 and its files 0600, and narrows its own
/// files when they are wider; a directory that already existed is the operator's, so the server
/// does not change its mode but warns when other users may enter it.
/// </summary>
internal static partial class DataDirectoryPermissions
{
    private const UnixFileMode OthersMayAccess = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    public static void Report(ILogger logger, string dataDirectory, IReadOnlyList<string> narrowed)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        if (narrowed.Count > 0)
        {
            LogNarrowed(logger, string.Join(", ", narrowed), dataDirectory);
        }
        var mode = File.GetUnixFileMode(dataDirectory);
        if ((mode & OthersMayAccess) != 0)
        {
            LogDirectoryOpen(logger, dataDirectory, Octal(mode), Octal(DataDirectoryLayout.DirectoryMode0700));
        }
    }

    /// <summary>The mode in the octal form chmod takes (e.g. 0755).</summary>
    public static string Octal(UnixFileMode mode) => "0" + Convert.ToString((int)mode & 0x1FF, 8).PadLeft(3, '0');

    [LoggerMessage(EventId = 5210, Level = LogLevel.Warning,
        Message = "Data directory {Path} has mode {Mode}: other users may list or enter it. The server leaves an existing directory's mode alone; " +
                  "run 'chmod 700 {Path}' unless others must reach it (its files are {FileMode} regardless)")]
    private static partial void LogDirectoryOpen(ILogger logger, string path, string mode, string fileMode);

    [LoggerMessage(EventId = 5211, Level = LogLevel.Warning,
        Message = "Narrowed {Files} in {Path} to mode 0600: other users could read them (a data directory written by an older version)")]
    private static partial void LogNarrowed(ILogger logger, string files, string path);
}
