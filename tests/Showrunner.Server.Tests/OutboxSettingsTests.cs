using Microsoft.Extensions.Configuration;
using Showrunner.Server.Hosting;

namespace Showrunner.Server.Tests;

/// <summary>Showrunner:Outbox:* and the webhook environment shortcuts, read and checked at start.</summary>
[Trait("Category", "Unit")]
public sealed class OutboxSettingsTests
{
    private const string Secret = "outbox-settings-secret-0123456789abcdef";

    private static ServerOptions Read(Dictionary<string, string?> settings) =>
        ServerOptions.Read(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());

    private static IReadOnlyList<string> Refused(Dictionary<string, string?> settings) =>
        Assert.Throws<OptionsException>(() => Read(settings)).Errors;

    [Fact]
    public void Without_a_url_delivery_is_off_and_the_defaults_are_those_of_OutboxOptions()
    {
        var options = Read([]);
        Assert.Null(options.Outbox.WebhookUrl);
        Assert.Equal(new Runtime.Outbox.OutboxOptions(), options.Outbox);
    }

    [Fact]
    public void Every_key_sets_its_option_in_the_unit_its_name_gives()
    {
        var outbox = Read(new()
        {
            ["Showrunner:Outbox:WebhookUrl"] = "https://inventory.example/grants",
            ["Showrunner:Outbox:WebhookSecret"] = Secret,
            ["Showrunner:Outbox:AttemptTimeoutSeconds"] = "3",
            ["Showrunner:Outbox:MaxAttempts"] = "20",
            ["Showrunner:Outbox:MaxInFlight"] = "4",
            ["Showrunner:Outbox:TakeBatchMax"] = "32",
            ["Showrunner:Outbox:BackoffBaseMs"] = "250",
            ["Showrunner:Outbox:BackoffCapSeconds"] = "120",
            ["Showrunner:Outbox:JitterSeed"] = "-42",
            ["Showrunner:Outbox:RetryAfterMaxSeconds"] = "600",
            ["Showrunner:Outbox:DeadLetterOnPermanentFailure"] = "false",
            ["Showrunner:Outbox:CircuitFailureThreshold"] = "3",
            ["Showrunner:Outbox:CircuitCoolDownMs"] = "1500",
            ["Showrunner:Outbox:CircuitCoolDownMaxSeconds"] = "90",
            ["Showrunner:Outbox:ClaimDurationSeconds"] = "30",
            ["Showrunner:Outbox:pollintervalms"] = "200", // keys are case-insensitive, like the others
        }).Outbox;
        Assert.Equal(new Runtime.Outbox.OutboxOptions
        {
            WebhookUrl = "https://inventory.example/grants",
            WebhookSecret = Secret,
            AttemptTimeout = TimeSpan.FromSeconds(3),
            MaxAttempts = 20,
            MaxInFlight = 4,
            TakeBatchMax = 32,
            BackoffBase = TimeSpan.FromMilliseconds(250),
            BackoffCap = TimeSpan.FromSeconds(120),
            JitterSeed = -42,
            RetryAfterMax = TimeSpan.FromSeconds(600),
            DeadLetterOnPermanentFailure = false,
            CircuitFailureThreshold = 3,
            CircuitCoolDown = TimeSpan.FromMilliseconds(1500),
            CircuitCoolDownMax = TimeSpan.FromSeconds(90),
            ClaimDuration = TimeSpan.FromSeconds(30),
            PollInterval = TimeSpan.FromMilliseconds(200),
        }, outbox);
    }

    [Fact]
    public void The_environment_shortcuts_apply_unless_the_keys_are_set()
    {
        var shortcut = Read(new() { ["SHOWRUNNER_WEBHOOK_URL"] = "http://10.0.0.5/hook", ["SHOWRUNNER_WEBHOOK_SECRET"] = Secret }).Outbox;
        Assert.Equal(("http://10.0.0.5/hook", Secret), (shortcut.WebhookUrl, shortcut.WebhookSecret));
        var explicitKey = Read(new()
        {
            ["SHOWRUNNER_WEBHOOK_URL"] = "http://10.0.0.5/hook",
            ["SHOWRUNNER_WEBHOOK_SECRET"] = Secret,
            ["Showrunner:Outbox:WebhookUrl"] = "http://10.0.0.6/hook",
        }).Outbox;
        Assert.Equal(("http://10.0.0.6/hook", Secret), (explicitKey.WebhookUrl, explicitKey.WebhookSecret));
    }

    [Fact]
    public void Unknown_keys_and_bad_values_are_refused_naming_the_key_value_and_rule()
    {
        var errors = Refused(new()
        {
            ["Showrunner:Outbox:Url"] = "http://x/",
            ["Showrunner:Outbox:MaxAttempts"] = "many",
            ["Showrunner:Outbox:AttemptTimeoutSeconds"] = "0",
            ["Showrunner:Outbox:DeadLetterOnPermanentFailure"] = "yes",
        });
        Assert.Contains(errors, e => e.StartsWith("Showrunner:Outbox:Url is not a known option (known: WebhookUrl, WebhookSecret,", StringComparison.Ordinal));
        Assert.Contains("Showrunner:Outbox:MaxAttempts = 'many': must be an integer from -2147483648 to 2147483647.", errors);
        Assert.Contains("Showrunner:Outbox:DeadLetterOnPermanentFailure = 'yes': must be true or false.", errors);
        // Checked with delivery off too, so that turning it on later does not reveal an old mistake.
        Assert.Contains(errors, e => e.StartsWith("Showrunner:Outbox:AttemptTimeoutSeconds: AttemptTimeout = 00:00:00: must be between", StringComparison.Ordinal));
        Assert.Equal(4, errors.Count);

        Assert.Contains("Showrunner:Outbox:MaxAttempts: MaxAttempts = 0: must be between 1 and 1000.", Refused(new() { ["Showrunner:Outbox:MaxAttempts"] = "0" }));
        Assert.Contains(Refused(new() { ["Showrunner:Outbox"] = "on" }), e => e.StartsWith("Showrunner:Outbox is a group of options", StringComparison.Ordinal));
    }

    [Fact]
    public void A_bad_url_or_secret_is_refused_and_the_secret_is_never_shown()
    {
        const string Short = "short-secret-value";
        var errors = Refused(new() { ["Showrunner:Outbox:WebhookUrl"] = "ftp://x/", ["Showrunner:Outbox:WebhookSecret"] = Short });
        Assert.Contains(errors, e => e.StartsWith("Showrunner:Outbox:WebhookUrl: WebhookUrl = ftp://x/: must be an absolute http or https URL", StringComparison.Ordinal));
        Assert.Contains("Showrunner:Outbox:WebhookSecret: WebhookSecret is 18 bytes: must be between 32 and 1024 bytes (UTF-8).", errors);
        Assert.DoesNotContain(errors, e => e.Contains(Short, StringComparison.Ordinal));

        var secretAlone = Refused(new() { ["SHOWRUNNER_WEBHOOK_SECRET"] = Secret });
        Assert.Equal(["Showrunner:Outbox:WebhookSecret is set but Showrunner:Outbox:WebhookUrl (SHOWRUNNER_WEBHOOK_URL) is not: set both to deliver grants, or neither."], secretAlone);
        Assert.Contains(Refused(new() { ["SHOWRUNNER_WEBHOOK_URL"] = "http://x/hook" }), e => e.StartsWith("Showrunner:Outbox:WebhookSecret: WebhookSecret is 0 bytes", StringComparison.Ordinal));

        // The options print without the secret (records print every property by default).
        var options = Read(new() { ["Showrunner:Outbox:WebhookUrl"] = "http://x/hook?key=q", ["Showrunner:Outbox:WebhookSecret"] = Secret });
        Assert.DoesNotContain(Secret, options.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("key=q", options.ToString(), StringComparison.Ordinal);
        Assert.Contains("secret=(39 bytes)", options.ToString(), StringComparison.Ordinal);
    }
}
