using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Showrunner.Storage.Outbox;

namespace Showrunner.Runtime.Tests.Outbox;

/// <summary>What the receiver does with one request.</summary>
internal abstract record ReceiverBehavior
{
    public static readonly ReceiverBehavior Ok = new Answer(200);

    /// <summary>Answers with a status (and a Retry-After header value when given).</summary>
    public sealed record Answer(int Status, string? RetryAfter = null) : ReceiverBehavior;

    /// <summary>Does not answer for this long (or until the client gives up), then 200.</summary>
    public sealed record Hang(TimeSpan For) : ReceiverBehavior;

    /// <summary>Closes the connection without an answer.</summary>
    public sealed record Reset : ReceiverBehavior;
}

/// <summary>One request as the receiver saw it.</summary>
internal sealed record ReceivedRequest(string? GrantId, byte[] Body, string? ContentType, string? Timestamp, string? Signature, string? Attempt,
    bool SignatureValid, ReceiverBehavior Behavior)
{
    /// <summary>The W3C trace context the sender propagated, if any.</summary>
    public string? TraceParent { get; init; }
}

/// <summary>
/// A real HTTP receiver (Kestrel on 127.0.0.1, a port of its own) for the outbox tests. It is the
/// oracle: it checks each request's signature itself (HMAC-SHA256 straight from the BCL, not the
/// code under test), records every request, and knows which grants it acknowledged with a 2xx.
/// </summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly byte[] _key;
    private readonly ConcurrentQueue<ReceivedRequest> _requests = new();
    private readonly ConcurrentDictionary<string, byte> _acknowledged = new(StringComparer.Ordinal);
    private int _concurrent;
    private int _concurrentMax;

    private WebhookReceiver(WebApplication app, string secret)
    {
        _app = app;
        _key = Encoding.UTF8.GetBytes(secret);
    }

    public string Url { get; private set; } = "";

    public int Port { get; private set; }

    /// <summary>Decides each request's fate; the argument is the grant id. Default: 200.</summary>
    public Func<string, ReceiverBehavior> Behave { get; set; } = _ => ReceiverBehavior.Ok;

    /// <summary>Called after a request is acknowledged with a 2xx, with the number of distinct grants acknowledged.</summary>
    public Action<int>? OnAcknowledged { get; set; }

    /// <summary>Called when a request arrives, before it is answered.</summary>
    public Action<ReceivedRequest>? OnRequest { get; set; }

    public IReadOnlyList<ReceivedRequest> Requests => [.. _requests];

    public IReadOnlyCollection<string> Acknowledged => [.. _acknowledged.Keys];

    public int ConcurrentMax => Volatile.Read(ref _concurrentMax);

    public static async Task<WebhookReceiver> StartAsync(string secret, int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}"));
        var app = builder.Build();
        var receiver = new WebhookReceiver(app, secret);
        app.Run(receiver.HandleAsync);
        await app.StartAsync();
        receiver.Url = app.Urls.Single() + "/grants";
        receiver.Port = new Uri(receiver.Url).Port;
        return receiver;
    }

    /// <summary>Forgets every request so far (after a warm-up).</summary>
    public void Clear()
    {
        _requests.Clear();
        _acknowledged.Clear();
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }

    /// <summary>Every grant id the receiver got, with the distinct bodies it got for it.</summary>
    public IReadOnlyDictionary<string, HashSet<string>> BodiesByGrant() =>
        Requests.Where(r => r.GrantId is not null)
            .GroupBy(r => r.GrantId!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(r => Convert.ToHexString(r.Body)).ToHashSet(StringComparer.Ordinal), StringComparer.Ordinal);

    private async Task HandleAsync(HttpContext context)
    {
        int now = Interlocked.Increment(ref _concurrent);
        int seen = Volatile.Read(ref _concurrentMax);
        while (now > seen && Interlocked.CompareExchange(ref _concurrentMax, now, seen) != seen)
        {
            seen = Volatile.Read(ref _concurrentMax);
        }
        try
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
            var body = buffer.ToArray();
            var headers = context.Request.Headers;
            string? grantId = headers["Idempotency-Key"];
            string? timestamp = headers["X-Showrunner-Timestamp"];
            string? signature = headers["X-Showrunner-Signature"];
            var behavior = Behave(grantId ?? "");
            var request = new ReceivedRequest(grantId, body, context.Request.ContentType, timestamp, signature, headers["X-Showrunner-Attempt"],
                Verify(timestamp, signature, body), behavior)
            { TraceParent = headers["traceparent"] };
            _requests.Enqueue(request);
            OnRequest?.Invoke(request);
            switch (behavior)
            {
                case ReceiverBehavior.Answer answer:
                    context.Response.StatusCode = answer.Status;
                    if (answer.RetryAfter is not null)
                    {
                        context.Response.Headers.RetryAfter = answer.RetryAfter;
                    }
                    break;
                case ReceiverBehavior.Hang hang:
                    await Task.Delay(hang.For, context.RequestAborted);
                    context.Response.StatusCode = 200;
                    break;
                case ReceiverBehavior.Reset:
                    context.Abort();
                    return;
            }
            await context.Response.CompleteAsync();
            if (context.Response.StatusCode is >= 200 and <= 299 && grantId is not null && request.SignatureValid)
            {
                _acknowledged.TryAdd(grantId, 0);
                OnAcknowledged?.Invoke(_acknowledged.Count);
            }
        }
        catch (OperationCanceledException)
        {
            // The client gave up (timeout) or the worker stopped.
        }
        finally
        {
            Interlocked.Decrement(ref _concurrent);
        }
    }

    /// <summary>The receiver's own check: sha256=hex(HMAC-SHA256(secret, timestamp + "." + body)).</summary>
    private bool Verify(string? timestamp, string? signature, byte[] body)
    {
        if (timestamp is null || signature is null)
        {
            return false;
        }
        var signed = Encoding.ASCII.GetBytes(timestamp + ".").Concat(body).ToArray();
        using var hmac = new HMACSHA256(_key);
        var expected = "sha256=" + Convert.ToHexString(hmac.ComputeHash(signed)).ToLowerInvariant();
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(signature));
    }
}
