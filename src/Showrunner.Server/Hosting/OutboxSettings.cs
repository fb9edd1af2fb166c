using System.Globalization;
using Showrunner.Runtime.Outbox;

namespace Showrunner.Server.Hosting;

/// <summary>
/// Reads <see cref="OutboxOptions"/> from <c>Showrunner:Outbox:*</c> (docs/operations.md), with
/// <c>SHOWRUNNER_WEBHOOK_URL</c> and <c>SHOWRUNNER_WEBHOOK_SECRET</c> as shortcuts for the two
/// keys every deployment sets. Times are whole seconds or milliseconds, named in the key.
/// </summary>
/// <remarks>
/// Without a webhook URL delivery is off: grants are still written to the outbox and stay pending
/// until a URL is configured. The other options are checked either way, so that turning delivery
/// on later does not reveal an old typo. The secret appears in no message, only its length.
/// </remarks>
internal static class OutboxSettings
{
    public const string Section = "Outbox";
    public const string UrlVariable = "SHOWRUNNER_WEBHOOK_URL";
    public const string SecretVariable = "SHOWRUNNER_WEBHOOK_SECRET";

    /// <summary>Each configuration key and the <see cref="OutboxOptions"/> property it sets.</summary>
    private static readonly (string Key, string Property)[] Keys =
    [
        ("WebhookUrl", nameof(OutboxOptions.WebhookUrl)),
        ("WebhookSecret", nameof(OutboxOptions.WebhookSecret)),
        ("AttemptTimeoutSeconds", nameof(OutboxOptions.AttemptTimeout)),
        ("MaxAttempts", nameof(OutboxOptions.MaxAttempts)),
        ("MaxInFlight", nameof(OutboxOptions.MaxInFlight)),
        ("TakeBatchMax", nameof(OutboxOptions.TakeBatchMax)),
        ("BackoffBaseMs", nameof(OutboxOptions.BackoffBase)),
        ("BackoffCapSeconds", nameof(OutboxOptions.BackoffCap)),
        ("JitterSeed", nameof(OutboxOptions.JitterSeed)),
        ("RetryAfterMaxSeconds", nameof(OutboxOptions.RetryAfterMax)),
        ("DeadLetterOnPermanentFailure", nameof(OutboxOptions.DeadLetterOnPermanentFailure)),
        ("CircuitFailureThreshold", nameof(OutboxOptions.CircuitFailureThreshold)),
        ("CircuitCoolDownMs", nameof(OutboxOptions.CircuitCoolDown)),
        ("CircuitCoolDownMaxSeconds", nameof(OutboxOptions.CircuitCoolDownMax)),
        ("ClaimDurationSeconds", nameof(OutboxOptions.ClaimDuration)),
        ("PollIntervalMs", nameof(OutboxOptions.PollInterval)),
    ];

    /// <summary>Reads and checks the options, adding one message per problem to <paramref name="errors"/>.</summary>
    public static OutboxOptions Read(IConfiguration configuration, List<string> errors)
    {
        var section = configuration.GetSection("Showrunner").GetSection(Section);
        // Some providers report an empty value for a section that only has children.
        if (!string.IsNullOrEmpty(section.Value))
        {
            errors.Add($"Showrunner:{Section} is a group of options: set Showrunner:{Section}:NAME (known: {string.Join(", ", Keys.Select(k => k.Key))}).");
        }
        foreach (var child in section.GetChildren())
        {
            if (!Keys.Any(k => string.Equals(k.Key, child.Key, StringComparison.OrdinalIgnoreCase)))
            {
                errors.Add($"Showrunner:{Section}:{child.Key} is not a known option (known: {string.Join(", ", Keys.Select(k => k.Key))}).");
            }
        }
        var defaults = new OutboxOptions();
        long Long(string key, long fallback, long min, long max)
        {
            string? text = section[key];
            if (text is null)
            {
                return fallback;
            }
            if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value) || value < min || value > max)
            {
                // The range here only keeps the conversion to a TimeSpan sane; OutboxOptions.Validate has the real rules.
                errors.Add(string.Create(CultureInfo.InvariantCulture, $"Showrunner:{Section}:{key} = '{text}': must be an integer from {min} to {max}."));
                return fallback;
            }
            return value;
        }
        int Int(string key, int fallback) => (int)Long(key, fallback, int.MinValue, int.MaxValue);
        TimeSpan Seconds(string key, TimeSpan fallback) => TimeSpan.FromSeconds(Long(key, (long)fallback.TotalSeconds, 0, 100L * 365 * 24 * 3600));
        TimeSpan Milliseconds(string key, TimeSpan fallback) => TimeSpan.FromMilliseconds(Long(key, (long)fallback.TotalMilliseconds, 0, 100L * 365 * 24 * 3600 * 1000));
        bool deadLetterOnPermanent = defaults.DeadLetterOnPermanentFailure;
        if (section["DeadLetterOnPermanentFailure"] is { } permanentText && !bool.TryParse(permanentText, out deadLetterOnPermanent))
        {
            errors.Add($"Showrunner:{Section}:DeadLetterOnPermanentFailure = '{permanentText}': must be true or false.");
        }
        string? url = NullIfEmpty(section["WebhookUrl"]) ?? NullIfEmpty(configuration[UrlVariable]);
        string? secret = NullIfEmpty(section["WebhookSecret"]) ?? NullIfEmpty(configuration[SecretVariable]);
        var options = new OutboxOptions
        {
            WebhookUrl = url,
            WebhookSecret = secret,
            AttemptTimeout = Seconds("AttemptTimeoutSeconds", defaults.AttemptTimeout),
            MaxAttempts = Int("MaxAttempts", defaults.MaxAttempts),
            MaxInFlight = Int("MaxInFlight", defaults.MaxInFlight),
            TakeBatchMax = Int("TakeBatchMax", defaults.TakeBatchMax),
            BackoffBase = Milliseconds("BackoffBaseMs", defaults.BackoffBase),
            BackoffCap = Seconds("BackoffCapSeconds", defaults.BackoffCap),
            JitterSeed = Long("JitterSeed", defaults.JitterSeed, long.MinValue, long.MaxValue),
            RetryAfterMax = Seconds("RetryAfterMaxSeconds", defaults.RetryAfterMax),
            DeadLetterOnPermanentFailure = deadLetterOnPermanent,
            CircuitFailureThreshold = Int("CircuitFailureThreshold", defaults.CircuitFailureThreshold),
            CircuitCoolDown = Milliseconds("CircuitCoolDownMs", defaults.CircuitCoolDown),
            CircuitCoolDownMax = Seconds("CircuitCoolDownMaxSeconds", defaults.CircuitCoolDownMax),
            ClaimDuration = Seconds("ClaimDurationSeconds", defaults.ClaimDuration),
            PollInterval = Milliseconds("PollIntervalMs", defaults.PollInterval),
        };
        if (url is null && secret is not null)
        {
            errors.Add($"Showrunner:{Section}:WebhookSecret is set but Showrunner:{Section}:WebhookUrl ({UrlVariable}) is not: set both to deliver grants, or neither.");
        }
        // With delivery off, the URL and secret rules do not apply; check the rest against stand-ins.
        var checkable = url is null ? options with { WebhookUrl = "http://delivery-off.invalid/", WebhookSecret = new string('x', OutboxOptions.SecretBytesMin) } : options;
        foreach (string error in checkable.Validate())
        {
            errors.Add($"Showrunner:{Section}:{KeyOf(error)}: {error}");
        }
        return options;
    }

    /// <summary>The configuration key behind a message of <see cref="OutboxOptions.Validate"/>, which names the property first.</summary>
    private static string KeyOf(string error)
    {
        int end = error.IndexOfAny([' ', ':']);
        string property = end < 0 ? error : error[..end];
        return Keys.FirstOrDefault(k => k.Property == property).Key ?? property;
    }

    private static string? NullIfEmpty(string? text) => string.IsNullOrEmpty(text) ? null : text;
}
