using System.Globalization;
using System.Text;

namespace Showrunner.Runtime.Outbox;

/// <summary>
/// Settings of grant delivery to the game's webhook. Validated at start (<see cref="Validate"/>);
/// the contract a receiver relies on is in docs/webhooks.md.
/// </summary>
public sealed record OutboxOptions
{
    public const int SecretBytesMin = 32;
    public const int SecretBytesMax = 1_024;
    public const int MaxAttemptsLimit = 1_000;
    public const int MaxInFlightLimit = 1_024;

    /// <summary>Where grants are POSTed: an absolute http or https URL without user credentials.</summary>
    public string? WebhookUrl { get; init; }

    /// <summary>The shared HMAC-SHA256 key; its UTF-8 bytes are the key. Never logged.</summary>
    public string? WebhookSecret { get; init; }

    /// <summary>Longest one attempt may take, from connecting to the response headers.</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Attempts after which a delivery that keeps failing is dead-lettered.</summary>
    public int MaxAttempts { get; init; } = 12;

    /// <summary>Most attempts in flight at once.</summary>
    public int MaxInFlight { get; init; } = 8;

    /// <summary>Most deliveries taken from the store in one read.</summary>
    public int TakeBatchMax { get; init; } = 64;

    /// <summary>Upper bound of the first retry delay; the bound doubles per failed attempt.</summary>
    public TimeSpan BackoffBase { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Largest retry delay (before <c>Retry-After</c>, which may ask for more).</summary>
    public TimeSpan BackoffCap { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Seed of the retry jitter. The jitter of an attempt is a function of (seed, grant id, attempt).</summary>
    public long JitterSeed { get; init; }

    /// <summary>Largest <c>Retry-After</c> honoured; a longer one is cut to this.</summary>
    public TimeSpan RetryAfterMax { get; init; } = TimeSpan.FromHours(1);

    /// <summary>A 3xx or a 4xx other than 408, 425 and 429 dead-letters at once when true; when false it is retried like a 5xx.</summary>
    public bool DeadLetterOnPermanentFailure { get; init; } = true;

    /// <summary>Consecutive failed attempts against the target that open its circuit.</summary>
    public int CircuitFailureThreshold { get; init; } = 5;

    /// <summary>How long the circuit stays open the first time; it doubles each time a probe fails.</summary>
    public TimeSpan CircuitCoolDown { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest the circuit stays open before a probe.</summary>
    public TimeSpan CircuitCoolDownMax { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long a taken delivery is reserved for this worker. If the process dies mid-attempt the
    /// delivery becomes due again after this; it must exceed <see cref="AttemptTimeout"/>.
    /// </summary>
    public TimeSpan ClaimDuration { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Longest the worker sleeps when nothing is due (it is also woken by enqueues and finished attempts).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(WebhookUrl))
        {
            errors.Add($"{nameof(WebhookUrl)} is not set: it must be an absolute http or https URL.");
        }
        else if (!Uri.TryCreate(WebhookUrl, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            errors.Add($"{nameof(WebhookUrl)} = {Redact(WebhookUrl)}: must be an absolute http or https URL.");
        }
        else if (url.UserInfo.Length > 0)
        {
            errors.Add($"{nameof(WebhookUrl)} = {Redact(WebhookUrl)}: must not carry user credentials (they would reach logs); receivers authenticate by the signature.");
        }
        int secretBytes = WebhookSecret is null ? 0 : Encoding.UTF8.GetByteCount(WebhookSecret);
        if (secretBytes is < SecretBytesMin or > SecretBytesMax)
        {
            errors.Add($"{nameof(WebhookSecret)} is {secretBytes} bytes: must be between {SecretBytesMin} and {SecretBytesMax} bytes (UTF-8).");
        }
        Between(errors, nameof(AttemptTimeout), AttemptTimeout, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(5));
        Between(errors, nameof(MaxAttempts), MaxAttempts, 1, MaxAttemptsLimit);
        Between(errors, nameof(MaxInFlight), MaxInFlight, 1, MaxInFlightLimit);
        Between(errors, nameof(TakeBatchMax), TakeBatchMax, 1, 10_000);
        Between(errors, nameof(BackoffBase), BackoffBase, TimeSpan.FromMilliseconds(1), TimeSpan.FromHours(1));
        Between(errors, nameof(BackoffCap), BackoffCap, BackoffBase, TimeSpan.FromDays(1));
        Between(errors, nameof(RetryAfterMax), RetryAfterMax, TimeSpan.Zero, TimeSpan.FromDays(1));
        Between(errors, nameof(CircuitFailureThreshold), CircuitFailureThreshold, 1, 10_000);
        Between(errors, nameof(CircuitCoolDown), CircuitCoolDown, TimeSpan.FromMilliseconds(1), TimeSpan.FromHours(1));
        Between(errors, nameof(CircuitCoolDownMax), CircuitCoolDownMax, CircuitCoolDown, TimeSpan.FromDays(1));
        Between(errors, nameof(PollInterval), PollInterval, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(1));
        if (ClaimDuration <= AttemptTimeout || ClaimDuration > TimeSpan.FromHours(1))
        {
            errors.Add($"{nameof(ClaimDuration)} = {ClaimDuration}: must be longer than {nameof(AttemptTimeout)} ({AttemptTimeout}) and at most 01:00:00.");
        }
        return errors;
    }

    /// <summary>The options as one line for the start-up log: the secret appears only as its length, the URL without its query.</summary>
    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"url={Redact(WebhookUrl)} secret=({(WebhookSecret is null ? 0 : Encoding.UTF8.GetByteCount(WebhookSecret))} bytes) " +
        $"attemptTimeout={AttemptTimeout} maxAttempts={MaxAttempts} maxInFlight={MaxInFlight} takeBatchMax={TakeBatchMax} " +
        $"backoff={BackoffBase}..{BackoffCap} jitterSeed={JitterSeed} retryAfterMax={RetryAfterMax} " +
        $"deadLetterOnPermanentFailure={DeadLetterOnPermanentFailure} circuit={CircuitFailureThreshold} failures, " +
        $"coolDown={CircuitCoolDown}..{CircuitCoolDownMax} claim={ClaimDuration} poll={PollInterval}");

    /// <summary>
    /// <see cref="Describe"/>, never the secret: the record's generated ToString would print every
    /// property, and options objects end up in logs and debugger views (also inside the server's options).
    /// </summary>
    public override string ToString() => "OutboxOptions { " + Describe() + " }";

    /// <summary>A URL fit for logs and error messages: scheme, host, port and path only.</summary>
    internal static string Redact(string? url)
    {
        if (url is null)
        {
            return "(none)";
        }
        if (Uri.TryCreate(url, UriKind.Absolute, out var parsed))
        {
            return parsed.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped);
        }
        return "(not a URL)";
    }

    private static void Between(List<string> errors, string name, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"{name} = {value}: must be between {min} and {max}."));
        }
    }

    private static void Between(List<string> errors, string name, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"{name} = {value}: must be between {min} and {max}."));
        }
    }
}
