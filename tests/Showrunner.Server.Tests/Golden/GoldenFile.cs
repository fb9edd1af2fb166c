using System.Text;
using System.Text.RegularExpressions;

namespace Showrunner.Server.Tests.Golden;

/// <summary>
/// Exact response bodies kept under <c>tests/Shared/Golden/</c>: a test sends a request and compares
/// the status, content type, Location and every byte of the body with the file. Values that differ on
/// every run (key ids and secrets, tokens, signatures and the hashes that cover them) are replaced by a
/// named placeholder before the comparison, so that everything else — field order, nulls written or
/// left out, number and time formats, escaping — is compared byte for byte.
/// </summary>
/// <remarks>
/// To record the files from the code as it is (only when the wire format is meant to change, or for a
/// new endpoint): run the tests with <c>SHOWRUNNER_GOLDEN_RECORD=1</c>, read the diff, commit it.
/// </remarks>
internal sealed class GoldenFile
{
    public static readonly string Root = Path.Combine(FindRepository(), "tests", "Shared", "Golden");

    private static bool Recording => Environment.GetEnvironmentVariable("SHOWRUNNER_GOLDEN_RECORD") == "1";

    private readonly string _scenario;
    private readonly List<(string Value, string Placeholder)> _literals = [];
    private int _count;

    public GoldenFile(string scenario) => _scenario = scenario;

    /// <summary>Replaces <paramref name="value"/> wherever it appears (an id that differs on every run) by <c>&lt;placeholder&gt;</c>.</summary>
    public void Literal(string value, string placeholder) => _literals.Add((value, "<" + placeholder + ">"));

    /// <summary>
    /// Sends nothing itself: compares <paramref name="response"/> with the next file of the scenario,
    /// after masking the string or whole-number values of <paramref name="maskedStrings"/> (any depth) and the literals.
    /// </summary>
    public async Task AssertAsync(string name, HttpResponseMessage response, params string[] maskedStrings)
    {
        using (response)
        {
            byte[] body = await response.Content.ReadAsByteArrayAsync();
            string text = Encoding.UTF8.GetString(body);
            // The bytes must be valid UTF-8 as sent: a round trip loses nothing.
            Assert.Equal(body, Encoding.UTF8.GetBytes(text));
            foreach (var (value, placeholder) in _literals)
            {
                text = text.Replace(value, placeholder, StringComparison.Ordinal);
            }
            foreach (string field in maskedStrings)
            {
                text = Regex.Replace(text, "\"" + Regex.Escape(field) + "\":( ?)(?:\"(?:[^\"\\\\]|\\\\.)*\"|-?[0-9]+)", "\"" + field + "\":$1\"<" + field + ">\"");
            }
            var header = new StringBuilder();
            header.Append((int)response.StatusCode).Append(' ').Append(response.Content.Headers.ContentType?.ToString() ?? "-").Append('\n');
            if (response.Headers.Location is { } location)
            {
                string where = location.ToString();
                foreach (var (value, placeholder) in _literals)
                {
                    where = where.Replace(value, placeholder, StringComparison.Ordinal);
                }
                header.Append("Location: ").Append(where).Append('\n');
            }
            string actual = header.Append(text).ToString();
            _count++;
            string path = Path.Combine(Root, _scenario, $"{_count:D2}-{name}.txt");
            if (Recording)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                await File.WriteAllTextAsync(path, actual, new UTF8Encoding(false));
                return;
            }
            Assert.True(File.Exists(path), $"No golden file {path}; record it with SHOWRUNNER_GOLDEN_RECORD=1 (docs/internals/contracts.md).");
            string expected = await File.ReadAllTextAsync(path, Encoding.UTF8);
            Assert.Equal(expected, actual);
        }
    }

    private static string FindRepository()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Showrunner.slnx")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException("Showrunner.slnx not found above " + AppContext.BaseDirectory);
    }
}
