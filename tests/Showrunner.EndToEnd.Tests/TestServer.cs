using Showrunner.Testing;

namespace Showrunner.EndToEnd.Tests;

internal static class TestServer
{
    /// <summary>The server build that matches this test build (Debug or Release).</summary>
    public static string Dll => ServerProcess.LocateServerDll();
}
