using System.Globalization;
using System.Text.RegularExpressions;

namespace Showrunner.Testing;

/// <summary>
/// The release sources tests run against, kept as files under tests/Shared/Releases/NAME/*.hcl (one
/// folder per release, copied next to every test assembly by tests/Directory.Build.props) instead of
/// C# strings, so that one release is written once and read as the event language it is.
/// </summary>
/// <remarks>
/// A fixture is a template when a test varies part of it. The template language is three forms,
/// nothing more:
/// <list type="bullet">
/// <item><c>{{name}}</c>: the value given for <c>name</c>, formatted with the invariant culture;</item>
/// <item><c>{{name * 3}}</c> or <c>{{3 * name}}</c>: an integer value times a constant (reward amounts scaled by a test);</item>
/// <item><c>{{#name}}…{{/name}}</c>: the text between, kept when <c>name</c> is true and dropped when false.</item>
/// </list>
/// Every placeholder must be given a value and every value must be used (a typo fails at once rather
/// than testing another release). A file's last line break is not part of the source, as with a C#
/// raw string literal, so a source moved out of a test keeps its exact bytes and its release id.
/// </remarks>
internal static partial class ReleaseFixtures
{
    /// <summary>The folder of the fixtures in the test's output.</summary>
    public static string Root => Path.Combine(AppContext.BaseDirectory, "Releases");

    /// <summary>The folder of release <paramref name="name"/> (for tests that hand a directory to the CLI; templates cannot be used this way).</summary>
    public static string Directory(string name)
    {
        string directory = Path.Combine(Root, name);
        if (!System.IO.Directory.Exists(directory))
        {
            throw new ArgumentException($"No release fixture '{name}' in {Root} (tests/Shared/Releases/{name}/*.hcl).", nameof(name));
        }
        return directory;
    }

    /// <summary>The source of release <paramref name="name"/>: its one .hcl file, with the template's placeholders filled from <paramref name="values"/>.</summary>
    public static string Source(string name, params (string Name, object Value)[] values)
    {
        var files = System.IO.Directory.GetFiles(Directory(name), "*.hcl");
        if (files.Length != 1)
        {
            throw new ArgumentException($"Release fixture '{name}' has {files.Length} .hcl files; Source reads a one-file release.", nameof(name));
        }
        return Fill(name, File.ReadAllText(files[0]), values);
    }

    /// <summary>Fills a template (see the type's remarks); public for the helper's own test.</summary>
    public static string Fill(string name, string text, params (string Name, object Value)[] values)
    {
        if (text.EndsWith('\n'))
        {
            text = text[..^(text.EndsWith("\r\n", StringComparison.Ordinal) ? 2 : 1)];
        }
        var given = values.ToDictionary(v => v.Name, v => v.Value, StringComparer.Ordinal);
        var used = new HashSet<string>(StringComparer.Ordinal);
        text = Section().Replace(text, match =>
        {
            string key = match.Groups["name"].Value;
            if (!given.TryGetValue(key, out var value) || value is not bool keep)
            {
                throw new ArgumentException($"Release fixture '{name}': section {{{{#{key}}}}} needs a bool value '{key}'.");
            }
            used.Add(key);
            return keep ? match.Groups["body"].Value : "";
        });
        text = Placeholder().Replace(text, match =>
        {
            string key = match.Groups["name"].Value;
            if (!given.TryGetValue(key, out var value))
            {
                throw new ArgumentException($"Release fixture '{name}': no value for {match.Value}.");
            }
            used.Add(key);
            string factor = match.Groups["left"].Success ? match.Groups["left"].Value : match.Groups["right"].Value;
            if (factor.Length == 0)
            {
                return Convert.ToString(value, CultureInfo.InvariantCulture)!;
            }
            if (value is not int and not long)
            {
                throw new ArgumentException($"Release fixture '{name}': {match.Value} needs an integer value '{key}'.");
            }
            return (Convert.ToInt64(value, CultureInfo.InvariantCulture) * long.Parse(factor, CultureInfo.InvariantCulture)).ToString(CultureInfo.InvariantCulture);
        });
        if (text.Contains("{{", StringComparison.Ordinal))
        {
            throw new ArgumentException($"Release fixture '{name}': a placeholder is not of the form {{{{name}}}}, {{{{name * N}}}} or {{{{#name}}}}…{{{{/name}}}}.");
        }
        var unused = given.Keys.Where(k => !used.Contains(k)).ToList();
        if (unused.Count > 0)
        {
            throw new ArgumentException($"Release fixture '{name}' has no placeholder for {string.Join(", ", unused)}.");
        }
        return text;
    }

    [GeneratedRegex(@"\{\{#(?<name>[a-z_][a-z0-9_]*)\}\}(?<body>.*?)\{\{/\k<name>\}\}", RegexOptions.Singleline)]
    private static partial Regex Section();

    [GeneratedRegex(@"\{\{\s*(?:(?<left>\d+)\s*\*\s*)?(?<name>[a-z_][a-z0-9_]*)(?:\s*\*\s*(?<right>\d+))?\s*\}\}")]
    private static partial Regex Placeholder();
}
