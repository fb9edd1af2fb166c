using Showrunner.Testing;

namespace Showrunner.EndToEnd.Tests;

/// <summary>
/// A test class with one real server process of its own on a fresh data directory and a free
/// loopback port, started before the first test and killed after the last.
/// </summary>
public abstract class RunningServerTest(string dataPrefix) : IAsyncLifetime
{
    private readonly TempDirectory _data = new(dataPrefix);

    /// <summary>The server (started in <see cref="InitializeAsync"/>).</summary>
    private protected ServerProcess Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = new ServerProcess(TestServer.Dll, _data.Path, ServerProcess.FreePort());
        Server.Start();
        await Server.WaitReadyAsync(TimeSpan.FromSeconds(60));
    }

    public Task DisposeAsync()
    {
        Server.Dispose();
        _data.Dispose();
        return Task.CompletedTask;
    }
}
