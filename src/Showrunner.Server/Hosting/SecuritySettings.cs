using System.Globalization;
using Showrunner.Server.Security;

namespace Showrunner.Server.Hosting;

/// <summary>
/// Reads <see cref="SecurityOptions"/>: <c>Showrunner:Title</c>, <c>Showrunner:PlayerTokenLifetimeSeconds</c>
/// and the group <c>Showrunner:RateLimits:*</c> (docs/operations.md, "Principals, keys and roles").
/// </summary>
internal static class SecuritySettings
{
    public const string TitleKey = "Title";
    public const string LifetimeKey = "PlayerTokenLifetimeSeconds";
    public const string RateLimitsSection = "RateLimits";

    private static readonly string[] Kinds = ["Operator", "GameServer", "Player", "Anonymous"];
    private static readonly string[] RateLimitKeys = [.. Kinds.SelectMany(k => new[] { k + "PerSecond", k + "Burst" }), "MaxBuckets"];

    public static SecurityOptions Read(IConfigurationSection showrunner, List<string> errors)
    {
        var defaults = new SecurityOptions();
        string title = showrunner[TitleKey] ?? defaults.Title;
        if (!KeyRing.IsValidTitle(title))
        {
            errors.Add($"Showrunner:{TitleKey} = '{title}': must be 1 to {KeyRing.TitleLengthMax} ASCII letters, digits, '.', '_' or '-'.");
        }
        long lifetime = Number(showrunner, LifetimeKey, (long)defaults.PlayerTokenLifetime.TotalSeconds, 60, (long)PlayerTokens.MaxLifetime.TotalSeconds, "Showrunner:", errors);

        var section = showrunner.GetSection(RateLimitsSection);
        if (!string.IsNullOrEmpty(section.Value))
        {
            errors.Add($"Showrunner:{RateLimitsSection} is a group of options: set Showrunner:{RateLimitsSection}:NAME (known: {string.Join(", ", RateLimitKeys)}).");
        }
        foreach (var child in section.GetChildren())
        {
            if (!RateLimitKeys.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                errors.Add($"Showrunner:{RateLimitsSection}:{child.Key} is not a known option (known: {string.Join(", ", RateLimitKeys)}).");
            }
        }
        string prefix = $"Showrunner:{RateLimitsSection}:";
        var rateDefaults = defaults.RateLimits;
        RateLimit Limit(string kind, RateLimit fallback) => new(
            (int)Number(section, kind + "PerSecond", fallback.PerSecond, 1, RateLimitOptions.PerSecondMax, prefix, errors),
            (int)Number(section, kind + "Burst", fallback.Burst, 1, RateLimitOptions.BurstMax, prefix, errors));
        var rateLimits = new RateLimitOptions
        {
            Operator = Limit("Operator", rateDefaults.Operator),
            GameServer = Limit("GameServer", rateDefaults.GameServer),
            Player = Limit("Player", rateDefaults.Player),
            Anonymous = Limit("Anonymous", rateDefaults.Anonymous),
            MaxBuckets = (int)Number(section, "MaxBuckets", rateDefaults.MaxBuckets, RateLimitOptions.MaxBucketsMin, RateLimitOptions.MaxBucketsMax, prefix, errors),
        };
        return new SecurityOptions { Title = title, PlayerTokenLifetime = TimeSpan.FromSeconds(lifetime), RateLimits = rateLimits };
    }

    private static long Number(IConfigurationSection section, string key, long fallback, long min, long max, string prefix, List<string> errors)
    {
        string? text = section[key];
        if (text is null)
        {
            return fallback;
        }
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value) || value < min || value > max)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"{prefix}{key} = '{text}': must be a whole number from {min} to {max}."));
            return fallback;
        }
        return value;
    }

    /// <summary>The effective settings in one line, for the start-up log.</summary>
    public static string Describe(SecurityOptions options)
    {
        var r = options.RateLimits;
        static string Of(RateLimit limit) => string.Create(CultureInfo.InvariantCulture, $"{limit.PerSecond}/s burst {limit.Burst}");
        return string.Create(CultureInfo.InvariantCulture,
            $"title={options.Title} player_token_lifetime={(long)options.PlayerTokenLifetime.TotalSeconds}s rate_limits: operator {Of(r.Operator)}, " +
            $"game_server {Of(r.GameServer)}, player {Of(r.Player)}, anonymous {Of(r.Anonymous)}, max_buckets={r.MaxBuckets}");
    }
}
