using System.Globalization;
using Showrunner.Runtime.Approvals;

namespace Showrunner.Server.Hosting;

/// <summary>
/// Reads <see cref="ApprovalOptions"/> from <c>Showrunner:Approvals:*</c> (docs/operations.md,
/// "Approvals"): <c>Enabled</c>, <c>Grants</c>, <c>ActivationPercent</c>, <c>ExpiryMinutes</c>.
/// </summary>
internal static class ApprovalSettings
{
    public const string Section = "Approvals";
    private static readonly string[] Keys = ["Enabled", "Grants", "ActivationPercent", "ExpiryMinutes"];

    /// <summary>Reads and checks the options, adding one message per problem to <paramref name="errors"/>.</summary>
    public static ApprovalOptions Read(IConfiguration configuration, List<string> errors)
    {
        var section = configuration.GetSection("Showrunner").GetSection(Section);
        if (!string.IsNullOrEmpty(section.Value))
        {
            errors.Add($"Showrunner:{Section} is a group of options: set Showrunner:{Section}:NAME (known: {string.Join(", ", Keys)}).");
        }
        foreach (var child in section.GetChildren())
        {
            if (!Keys.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                errors.Add($"Showrunner:{Section}:{child.Key} is not a known option (known: {string.Join(", ", Keys)}).");
            }
        }
        var defaults = new ApprovalOptions();
        bool Bool(string key, bool fallback)
        {
            if (section[key] is not { } text)
            {
                return fallback;
            }
            if (bool.TryParse(text, out bool value))
            {
                return value;
            }
            errors.Add($"Showrunner:{Section}:{key} = '{text}': must be true or false.");
            return fallback;
        }
        int Int(string key, int fallback)
        {
            if (section[key] is not { } text)
            {
                return fallback;
            }
            if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value))
            {
                return value;
            }
            errors.Add($"Showrunner:{Section}:{key} = '{text}': must be a whole number.");
            return fallback;
        }
        var options = new ApprovalOptions
        {
            Enabled = Bool("Enabled", defaults.Enabled),
            Grants = Bool("Grants", defaults.Grants),
            ActivationPercent = Int("ActivationPercent", defaults.ActivationPercent),
            Expiry = TimeSpan.FromMinutes(Int("ExpiryMinutes", (int)defaults.Expiry.TotalMinutes)),
        };
        errors.AddRange(options.Validate().Select(e => $"Showrunner:{Section}:{e}"));
        return options;
    }
}
