using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Showrunner.Testing;

/// <summary>
/// HTTP/1.1 over a bare loopback socket, one request per connection (<c>Connection: close</c>):
/// sends exactly the bytes given — headers an HttpClient would normalise, a Content-Length that
/// does not match the body, a body cut short — and reads whatever comes back until the server
/// closes, within a time bound. For the edge-case tests and the HTTP fuzzer.
/// </summary>
internal static class RawHttp
{
    /// <summary>What came back: status 0 when nothing parsable did; <see cref="TimedOut"/> when the bound passed first.</summary>
    internal sealed record Response(int Status, string Head, byte[] Body, bool TimedOut, TimeSpan Elapsed)
    {
        public string Text => Encoding.UTF8.GetString(Body);

        public string? Header(string name)
        {
            foreach (string line in Head.Split("\r\n"))
            {
                int colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0 && line[..colon].Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
                {
                    return line[(colon + 1)..].Trim();
                }
            }
            return null;
        }
    }

    /// <summary>The request head for <paramref name="method"/> <paramref name="target"/>, with the given header lines (each without CRLF).</summary>
    public static byte[] Request(string method, string target, IEnumerable<string> headers, byte[]? body, bool contentLength = true)
    {
        var head = new StringBuilder();
        head.Append(method).Append(' ').Append(target).Append(" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        foreach (string header in headers)
        {
            head.Append(header).Append("\r\n");
        }
        if (body is not null && contentLength)
        {
            head.Append("Content-Length: ").Append(body.Length.ToString(CultureInfo.InvariantCulture)).Append("\r\n");
        }
        head.Append("\r\n");
        byte[] headBytes = Encoding.Latin1.GetBytes(head.ToString());
        return body is null ? headBytes : [.. headBytes, .. body];
    }

    /// <summary>
    /// Connects, sends <paramref name="request"/> (then half-closes when <paramref name="endAfterSending"/>),
    /// and reads until the server closes the connection or <paramref name="bound"/> passes.
    /// </summary>
    public static async Task<Response> SendAsync(int port, byte[] request, TimeSpan bound, bool endAfterSending = false)
    {
        var watch = Stopwatch.StartNew();
        using var cancel = new CancellationTokenSource(bound);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var received = new MemoryStream();
        bool timedOut = false;
        try
        {
            await socket.ConnectAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, port), cancel.Token);
            try
            {
                await socket.SendAsync(request, SocketFlags.None, cancel.Token);
                if (endAfterSending)
                {
                    socket.Shutdown(SocketShutdown.Send);
                }
            }
            catch (SocketException)
            {
                // The server answered and closed before taking the whole request (e.g. 413 from the
                // header): what it sent is still readable below.
            }
            var buffer = new byte[16 * 1024];
            while (true)
            {
                int n;
                try
                {
                    n = await socket.ReceiveAsync(buffer, SocketFlags.None, cancel.Token);
                }
                catch (SocketException)
                {
                    break; // reset after the answer
                }
                if (n == 0)
                {
                    break;
                }
                received.Write(buffer, 0, n);
            }
        }
        catch (OperationCanceledException)
        {
            timedOut = true;
        }
        return Parse(received.ToArray(), timedOut, watch.Elapsed);
    }

    private static Response Parse(byte[] bytes, bool timedOut, TimeSpan elapsed)
    {
        int end = bytes.AsSpan().IndexOf("\r\n\r\n"u8);
        if (end < 0)
        {
            return new Response(0, Encoding.Latin1.GetString(bytes), [], timedOut, elapsed);
        }
        string head = Encoding.Latin1.GetString(bytes, 0, end);
        int status = 0;
        string[] statusLine = head.Split("\r\n")[0].Split(' ');
        if (statusLine.Length >= 2)
        {
            _ = int.TryParse(statusLine[1], NumberStyles.None, CultureInfo.InvariantCulture, out status);
        }
        byte[] body = bytes[(end + 4)..];
        var response = new Response(status, head, body, timedOut, elapsed);
        if (response.Header("Transfer-Encoding") is { } encoding && encoding.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            response = response with { Body = Dechunk(body) };
        }
        return response;
    }

    private static byte[] Dechunk(byte[] body)
    {
        var output = new MemoryStream();
        int position = 0;
        while (position < body.Length)
        {
            int lineEnd = body.AsSpan(position).IndexOf("\r\n"u8);
            if (lineEnd < 0)
            {
                break;
            }
            string sizeText = Encoding.Latin1.GetString(body, position, lineEnd).Split(';')[0].Trim();
            if (!int.TryParse(sizeText, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int size) || size == 0)
            {
                break;
            }
            position += lineEnd + 2;
            output.Write(body, position, Math.Min(size, body.Length - position));
            position += size + 2;
        }
        return output.ToArray();
    }
}
