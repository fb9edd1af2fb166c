using Showrunner.Testing;

namespace Showrunner.EndToEnd.Tests;

internal static class TestServer
{
    /// <summary>The server build that matches this test build (Debug or Release).</summary>
    public static string Dll
    {
        get
        {
            string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                ? "Release" : "Debug";
            return ServerProcess.LocateServerDll(configuration);
        }
    }
}
