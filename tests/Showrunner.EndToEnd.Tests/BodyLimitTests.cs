using System.Net.Sockets;
using System.Text;
using Showrunner.Testing;

namespace Showrunner.EndToEnd.Tests;

/// <summary>An oversized body is refused without being buffered whole, checked on a real socket.</summary>
[Trait("Category", "Integration")]
public sealed class BodyLimitTests() : RunningServerTest("showrunner-limits")
{

    [Fact]
    public async Task A_declared_length_over_the_limit_is_answered_413_before_any_body_is_sent()
    {
        using var socket = new TcpClient();
        await socket.ConnectAsync("127.0.0.1", Server.Port);
        var stream = socket.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            "POST /v1/actions HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer " + Server.AdminKey + "\r\nContent-Type: application/json\r\nContent-Length: 500000000\r\n\r\n"));
        string head = await ReadHeadAsync(stream, TimeSpan.FromSeconds(10));
        Assert.StartsWith("HTTP/1.1 413", head, StringComparison.Ordinal);
        Assert.Contains("application/problem+json", head, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_chunked_body_is_refused_once_it_passes_the_limit_not_after_it_ends()
    {
        using var socket = new TcpClient();
        await socket.ConnectAsync("127.0.0.1", Server.Port);
        var stream = socket.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            "POST /v1/actions HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer " + Server.AdminKey + "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"));
        byte[] chunk = Encoding.ASCII.GetBytes($"{64 * 1024:x}\r\n" + new string(' ', 64 * 1024) + "\r\n");
        var response = ReadHeadAsync(stream, TimeSpan.FromSeconds(30));
        long sent = 0;
        const long bodyBytes = 256L * 1024 * 1024; // far more than the server should ever take
        while (!response.IsCompleted && sent < bodyBytes)
        {
            try
            {
                await stream.WriteAsync(chunk).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
            }
            catch (Exception exception) when (exception is IOException or TimeoutException)
            {
                break; // the server stopped reading or closed the connection: the refusal is on its way
            }
            sent += 64 * 1024;
        }
        string head = await response;
        Assert.StartsWith("HTTP/1.1 413", head, StringComparison.Ordinal);
        // 1 MiB limit plus what loopback socket buffers hold; nowhere near the 256 MiB offered.
        Assert.True(sent < 32L * 1024 * 1024, $"sent {sent} bytes before the refusal");
    }

    private static async Task<string> ReadHeadAsync(NetworkStream stream, TimeSpan timeout)
    {
        var buffer = new byte[4096];
        var text = new StringBuilder();
        using var cancel = new CancellationTokenSource(timeout);
        while (!text.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            int n = await stream.ReadAsync(buffer, cancel.Token);
            if (n == 0)
            {
                break;
            }
            text.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }
        return text.ToString();
    }
}
