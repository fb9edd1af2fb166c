using Microsoft.Extensions.Configuration;
using Showrunner.Server.Hosting;
using Showrunner.Server.Security;

namespace Showrunner.Server.Tests.Security;

/// <summary>Showrunner:Title, Showrunner:PlayerTokenLifetimeSeconds and Showrunner:RateLimits:*, read and checked at start.</summary>
[Trait("Category", "Unit")]
public sealed class SecuritySettingsTests
{
    private static ServerOptions Read(Dictionary<string, string?> settings) =>
        ServerOptions.Read(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());

    private static IReadOnlyList<string> Refused(Dictionary<string, string?> settings) =>
        Assert.Throws<OptionsException>(() => Read(settings)).Errors;

    [Fact]
    public void The_defaults_are_title_default_15_minute_tokens_and_the_documented_limits()
    {
        var security = Read([]).Security;
        Assert.Equal(("default", TimeSpan.FromMinutes(15)), (security.Title, security.PlayerTokenLifetime));
        Assert.Equal(new RateLimitOptions(), security.RateLimits);
        Assert.Equal((new RateLimit(50, 100), new RateLimit(1_000, 2_000), new RateLimit(5, 20), new RateLimit(20, 40), 100_000),
            (security.RateLimits.Operator, security.RateLimits.GameServer, security.RateLimits.Player, security.RateLimits.Anonymous, security.RateLimits.MaxBuckets));
    }

    [Fact]
    public void Every_key_sets_its_option()
    {
        var security = Read(new()
        {
            ["Showrunner:Title"] = "space-race_2",
            ["Showrunner:PlayerTokenLifetimeSeconds"] = "86400",
            ["Showrunner:RateLimits:OperatorPerSecond"] = "1",
            ["Showrunner:RateLimits:OperatorBurst"] = "2",
            ["Showrunner:RateLimits:GameServerPerSecond"] = "3",
            ["Showrunner:RateLimits:GameServerBurst"] = "4",
            ["Showrunner:RateLimits:PlayerPerSecond"] = "5",
            ["Showrunner:RateLimits:PlayerBurst"] = "6",
            ["Showrunner:RateLimits:AnonymousPerSecond"] = "7",
            ["Showrunner:RateLimits:AnonymousBurst"] = "8",
            ["Showrunner:RateLimits:MaxBuckets"] = "1000",
        }).Security;
        Assert.Equal(("space-race_2", TimeSpan.FromHours(24)), (security.Title, security.PlayerTokenLifetime));
        Assert.Equal(new RateLimitOptions { Operator = new(1, 2), GameServer = new(3, 4), Player = new(5, 6), Anonymous = new(7, 8), MaxBuckets = 1000 }, security.RateLimits);
    }

    [Fact]
    public void Bad_values_and_unknown_keys_are_refused_naming_the_option_and_the_rule()
    {
        var errors = Refused(new()
        {
            ["Showrunner:Title"] = "two words",
            ["Showrunner:PlayerTokenLifetimeSeconds"] = "86401",
            ["Showrunner:RateLimits:OperatorPerSecond"] = "0",
            ["Showrunner:RateLimits:PlayerBurst"] = "many",
            ["Showrunner:RateLimits:MaxBuckets"] = "10",
            ["Showrunner:RateLimits:OperatorsPerSecond"] = "5",
            ["Showrunner:AuthEnabled"] = "false",
        });
        Assert.Contains("Showrunner:Title = 'two words': must be 1 to 64 ASCII letters, digits, '.', '_' or '-'.", errors);
        Assert.Contains("Showrunner:PlayerTokenLifetimeSeconds = '86401': must be a whole number from 60 to 86400.", errors);
        Assert.Contains("Showrunner:RateLimits:OperatorPerSecond = '0': must be a whole number from 1 to 1000000.", errors);
        Assert.Contains("Showrunner:RateLimits:PlayerBurst = 'many': must be a whole number from 1 to 1000000.", errors);
        Assert.Contains("Showrunner:RateLimits:MaxBuckets = '10': must be a whole number from 1000 to 10000000.", errors);
        Assert.Contains(errors, e => e.StartsWith("Showrunner:RateLimits:OperatorsPerSecond is not a known option", StringComparison.Ordinal));
        // There is no switch to turn authentication off.
        Assert.Contains(errors, e => e.StartsWith("Showrunner:AuthEnabled is not a known option", StringComparison.Ordinal));
        Assert.Contains(Refused(new() { ["Showrunner:RateLimits"] = "fast" }), e => e.StartsWith("Showrunner:RateLimits is a group of options", StringComparison.Ordinal));
    }
}
