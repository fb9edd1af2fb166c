using Microsoft.Extensions.Configuration;
using Showrunner.Runtime.Approvals;
using Showrunner.Server.Hosting;

namespace Showrunner.Server.Tests;

/// <summary>Showrunner:Approvals:* read and checked at start: defaults, every key, and each bad value named.</summary>
[Trait("Category", "Unit")]
public sealed class ApprovalSettingsTests
{
    private static ServerOptions Read(Dictionary<string, string?> settings) =>
        ServerOptions.Read(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());

    [Fact]
    public void The_defaults_guard_grants_and_activations_beyond_half_the_players_for_an_hour()
    {
        var approvals = Read([]).Approvals;
        Assert.Equal(new ApprovalOptions(), approvals);
        Assert.Equal((true, true, 50, TimeSpan.FromMinutes(60)), (approvals.Enabled, approvals.Grants, approvals.ActivationPercent, approvals.Expiry));
        Assert.True(approvals.GrantsNeedApproval);
        Assert.True(approvals.ActivationNeedsApproval(100));
    }

    [Fact]
    public void Every_key_sets_its_option()
    {
        var approvals = Read(new()
        {
            ["Showrunner:Approvals:Enabled"] = "true",
            ["Showrunner:Approvals:Grants"] = "false",
            ["Showrunner:Approvals:ActivationPercent"] = "10",
            ["Showrunner:Approvals:expiryminutes"] = "15",
        }).Approvals;
        Assert.Equal(new ApprovalOptions { Grants = false, ActivationPercent = 10, Expiry = TimeSpan.FromMinutes(15) }, approvals);
        Assert.False(Read(new() { ["Showrunner:Approvals:Enabled"] = "false" }).Approvals.ActivationNeedsApproval(100));
    }

    [Theory]
    [InlineData("Showrunner:Approvals:Enabled", "yes", "Showrunner:Approvals:Enabled = 'yes': must be true or false.")]
    [InlineData("Showrunner:Approvals:Grants", "1", "Showrunner:Approvals:Grants = '1': must be true or false.")]
    [InlineData("Showrunner:Approvals:ActivationPercent", "101", "Showrunner:Approvals:ActivationPercent = 101: must be from 0 to 100 (100: activations never need approval).")]
    [InlineData("Showrunner:Approvals:ActivationPercent", "half", "Showrunner:Approvals:ActivationPercent = 'half': must be a whole number.")]
    [InlineData("Showrunner:Approvals:ExpiryMinutes", "0", "Showrunner:Approvals:ExpiryMinutes = 0: must be from 1 to 10080 (7 days).")]
    [InlineData("Showrunner:Approvals:ExpiryMinutes", "10081", "Showrunner:Approvals:ExpiryMinutes = 10081: must be from 1 to 10080 (7 days).")]
    [InlineData("Showrunner:Approvals:Expiry", "5", "Showrunner:Approvals:Expiry is not a known option (known: Enabled, Grants, ActivationPercent, ExpiryMinutes).")]
    [InlineData("Showrunner:Approvals", "off", "Showrunner:Approvals is a group of options: set Showrunner:Approvals:NAME (known: Enabled, Grants, ActivationPercent, ExpiryMinutes).")]
    public void A_bad_value_is_refused_with_a_message_naming_the_key_the_value_and_the_rule(string key, string value, string message)
    {
        var errors = Assert.Throws<OptionsException>(() => Read(new() { [key] = value })).Errors;
        Assert.Equal([message], errors);
    }
}
