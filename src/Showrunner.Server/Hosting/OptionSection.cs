using System.Globalization;

namespace Showrunner.Server.Hosting;

/// <summary>
/// Reads one group of options (<c>Showrunner:NAME:*</c>) with the house rules: an unknown key is
/// refused, every value is checked against its range, and each problem names the option, the
/// value and the rule. Problems are collected, not thrown, so a start reports all of them at once.
/// </summary>
internal sealed class OptionSection
{
    private readonly IConfigurationSection _section;
    private readonly string _name;
    private readonly List<string> _errors;

    public OptionSection(IConfiguration configuration, string name, IReadOnlyList<string> keys, List<string> errors)
    {
        _name = name;
        _errors = errors;
        _section = configuration.GetSection("Showrunner").GetSection(name);
        if (!string.IsNullOrEmpty(_section.Value))
        {
            errors.Add($"Showrunner:{name} is a group of options: set Showrunner:{name}:NAME (known: {string.Join(", ", keys)}).");
        }
        foreach (var child in _section.GetChildren())
        {
            if (!keys.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                errors.Add($"Showrunner:{name}:{child.Key} is not a known option (known: {string.Join(", ", keys)}).");
            }
        }
    }

    public long Long(string key, long fallback, long min, long max)
    {
        string? text = _section[key];
        if (text is null)
        {
            return fallback;
        }
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value) || value < min || value > max)
        {
            _errors.Add(string.Create(CultureInfo.InvariantCulture, $"Showrunner:{_name}:{key} = '{text}': must be a whole number from {min} to {max}."));
            return fallback;
        }
        return value;
    }

    public int Int(string key, int fallback, int min, int max) => (int)Long(key, fallback, min, max);

    public bool Bool(string key, bool fallback)
    {
        string? text = _section[key];
        if (text is null)
        {
            return fallback;
        }
        if (!bool.TryParse(text, out bool value))
        {
            _errors.Add($"Showrunner:{_name}:{key} = '{text}': must be true or false.");
            return fallback;
        }
        return value;
    }
}
