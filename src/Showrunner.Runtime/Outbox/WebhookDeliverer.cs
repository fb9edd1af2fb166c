using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Showrunner.Storage.Outbox;

namespace Showrunner.Runtime.Outbox;

public enum AttemptResultKind
{
    /// <summary>A 2xx answer.</summary>
    Delivered,
    /// <summary>5xx, 408, 425, 429, a timeout or a connection error: try again later.</summary>
    Retryable,
    /// <summary>3xx or another 4xx: the receiver refuses this request; sending it again will not help.</summary>
    Permanent,
}

/// <summary>The outcome of one HTTP attempt.</summary>
/// <param name="RetryAfter">From a 429 or 503 answer's Retry-After header, capped: the earliest time to try again.</param>
public sealed record AttemptResult(AttemptResultKind Kind, int? StatusCode, string? Error, DateTimeOffset? RetryAfter)
{
    /// <summary>True if the attempt was cut short because the worker is stopping (not the target's fault).</summary>
    public bool Cancelled { get; init; }
}

/// <summary>Sends one delivery; the worker's only view of the network (tests may substitute it).</summary>
internal interface IDeliverer
{
    string Target { get; }

    Task<AttemptResult> DeliverAsync(DueDelivery delivery, int attempt, CancellationToken cancellationToken);
}

/// <summary>
/// POSTs a grant's payload to the configured webhook, signed (see <see cref="WebhookSignature"/>
/// and docs/webhooks.md), within <see cref="OutboxOptions.AttemptTimeout"/>, and classifies the
/// answer. It never throws for a network or HTTP failure: those are results.
/// </summary>
internal sealed class WebhookDeliverer : IDeliverer
{
    private readonly HttpClient _http;
    private readonly Uri _url;
    private readonly byte[] _key;
    private readonly TimeSpan _attemptTimeout;
    private readonly TimeSpan _retryAfterMax;
    private readonly TimeProvider _time;

    /// <param name="http">A client with no timeout of its own and no redirects (<see cref="CreateHttpClient"/>).</param>
    public WebhookDeliverer(OutboxOptions options, HttpClient http, TimeProvider time)
    {
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid outbox options: " + string.Join(" ", errors), nameof(options));
        }
        _http = http;
        _url = new Uri(options.WebhookUrl!, UriKind.Absolute);
        _key = Encoding.UTF8.GetBytes(options.WebhookSecret!);
        _attemptTimeout = options.AttemptTimeout;
        _retryAfterMax = options.RetryAfterMax;
        _time = time;
        Target = OutboxOptions.Redact(options.WebhookUrl);
    }

    public string Target { get; }

    /// <summary>The client the server uses: pooled connections that are renewed (DNS changes), no redirects, timeouts per attempt.</summary>
    public static HttpClient CreateHttpClient(OutboxOptions options) =>
        new(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            ConnectTimeout = options.AttemptTimeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            MaxConnectionsPerServer = options.MaxInFlight,
            UseCookies = false,
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };

    public async Task<AttemptResult> DeliverAsync(DueDelivery delivery, int attempt, CancellationToken cancellationToken)
    {
        long timestamp = _time.GetUtcNow().ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, _url);
        var content = new ReadOnlyMemoryContent(delivery.Payload);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Content = content;
        request.Headers.Add(WebhookSignature.IdempotencyKeyHeader, delivery.GrantId);
        request.Headers.Add(WebhookSignature.TimestampHeader, timestamp.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add(WebhookSignature.SignatureHeader, WebhookSignature.Compute(_key, timestamp, delivery.Payload.Span));
        request.Headers.Add(WebhookSignature.AttemptHeader, attempt.ToString(CultureInfo.InvariantCulture));
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("Showrunner-Outbox", "1"));

        using var timeout = new CancellationTokenSource(_attemptTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            // Only the status line and headers are read; the body of the answer is not needed.
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            return Classify(response);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return new AttemptResult(AttemptResultKind.Retryable, null, "cancelled: the outbox worker is stopping", null) { Cancelled = true };
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            return new AttemptResult(AttemptResultKind.Retryable, null,
                string.Create(CultureInfo.InvariantCulture, $"timeout: no answer within {_attemptTimeout.TotalMilliseconds:0} ms"), null);
        }
        catch (HttpRequestException exception)
        {
            string reason = exception.HttpRequestError == HttpRequestError.Unknown ? exception.Message : exception.HttpRequestError.ToString();
            return new AttemptResult(AttemptResultKind.Retryable, null, "connection: " + reason, null);
        }
    }

    private AttemptResult Classify(HttpResponseMessage response)
    {
        int status = (int)response.StatusCode;
        string error = string.Create(CultureInfo.InvariantCulture, $"HTTP {status}");
        if (status is >= 200 and <= 299)
        {
            return new AttemptResult(AttemptResultKind.Delivered, status, null, null);
        }
        DateTimeOffset? retryAfter = null;
        if (response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable)
        {
            retryAfter = RetryAfterOf(response.Headers.RetryAfter);
        }
        bool retryable = status >= 500
            || response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests
            || status == 425; // Too Early
        return new AttemptResult(retryable ? AttemptResultKind.Retryable : AttemptResultKind.Permanent, status, error, retryAfter);
    }

    /// <summary>Retry-After as seconds or an HTTP date, as an absolute time no later than now + the maximum.</summary>
    private DateTimeOffset? RetryAfterOf(RetryConditionHeaderValue? header)
    {
        if (header is null)
        {
            return null;
        }
        var now = _time.GetUtcNow();
        var latest = now + _retryAfterMax;
        if (header.Delta is { } delta)
        {
            return delta >= _retryAfterMax ? latest : now + delta;
        }
        if (header.Date is { } date)
        {
            return date > latest ? latest : date;
        }
        return null;
    }
}
