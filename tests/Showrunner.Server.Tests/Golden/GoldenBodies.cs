using System.Net;
using System.Text;

namespace Showrunner.Server.Tests.Golden;

/// <summary>
/// Byte-exact response bodies kept as files under <c>tests/Shared/Golden/&lt;area&gt;/&lt;name&gt;.json</c>:
/// the proof that moving a response from hand-written writer calls to contract records changed no
/// byte on the wire. Set <c>SHOWRUNNER_UPDATE_GOLDEN=1</c> to (re)write the files from what the
/// server answers now; without it a missing or different file fails the test.
/// </summary>
/// <remarks>
/// Key ids are random (a new admin key per data directory), so each test names the actors it
/// created and their <c>key:ID</c> is replaced with a fixed placeholder before comparing; every
/// other byte is compared as is.
/// </remarks>
internal sealed class GoldenBodies(string area)
{
    private readonly List<(string Actual, string Placeholder)> _substitutions = [];
    private readonly List<(System.Text.RegularExpressions.Regex Pattern, string Placeholder)> _patterns = [];

    public static bool Updating => Environment.GetEnvironmentVariable("SHOWRUNNER_UPDATE_GOLDEN") == "1";

    /// <summary>Replaces <paramref name="actual"/> with <paramref name="placeholder"/> in every body before comparing.</summary>
    public GoldenBodies Substitute(string actual, string placeholder)
    {
        _substitutions.Add((actual, placeholder));
        return this;
    }

    /// <summary>
    /// Replaces every match of <paramref name="pattern"/>: only for values the server measures
    /// (latencies, durations), which no fixed clock makes repeatable.
    /// </summary>
    public GoldenBodies Mask(string pattern, string placeholder)
    {
        _patterns.Add((new System.Text.RegularExpressions.Regex(pattern, System.Text.RegularExpressions.RegexOptions.CultureInvariant), placeholder));
        return this;
    }

    /// <summary>
    /// The audit log as <c>GET /v1/audit</c> lists it, hashes masked (they cover the random key ids):
    /// pins the entries and details that the use cases record.
    /// </summary>
    public async Task AuditAsync(HttpClient client, string name)
    {
        var masked = new GoldenBodies(area) { };
        masked._substitutions.AddRange(_substitutions);
        masked._patterns.AddRange(_patterns);
        masked.Mask("\"(prev_hash|hash)\":\"[0-9a-f]{64}\"", "\"$1\":\"-\"");
        await masked.AssertAsync(await client.GetAsync(new Uri("/v1/audit?limit=500", UriKind.Relative)), HttpStatusCode.OK, name);
    }

    /// <summary>The actor of the bootstrap admin key (<c>key:</c> and the id inside <c>sr_&lt;id&gt;_…</c>).</summary>
    public static string ActorOf(string key) => "key:" + key[3..15];

    /// <summary>Checks the status, then the body's bytes against the golden file; returns the body.</summary>
    public async Task<string> AssertAsync(HttpResponseMessage response, HttpStatusCode status, string name)
    {
        byte[] bytes = await response.Content.ReadAsByteArrayAsync();
        string text = Encoding.UTF8.GetString(bytes);
        Assert.True(status == response.StatusCode, $"{name}: {response.StatusCode}: {text}");
        Assert.Equal(bytes, Encoding.UTF8.GetBytes(text)); // the body is UTF-8 (a substitution works on text)
        foreach (var (actual, placeholder) in _substitutions)
        {
            text = text.Replace(actual, placeholder, StringComparison.Ordinal);
        }
        foreach (var (pattern, placeholder) in _patterns)
        {
            text = pattern.Replace(text, placeholder);
        }
        string path = Path.Combine(Directory, area, name + ".json");
        if (Updating)
        {
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllBytesAsync(path, Encoding.UTF8.GetBytes(text));
            return text;
        }
        Assert.True(File.Exists(path), $"No golden file {path}: run with SHOWRUNNER_UPDATE_GOLDEN=1 on the code before the change.");
        string expected = Encoding.UTF8.GetString(await File.ReadAllBytesAsync(path));
        if (expected != text)
        {
            int at = 0;
            while (at < Math.Min(expected.Length, text.Length) && expected[at] == text[at])
            {
                at++;
            }
            Assert.Fail($"{area}/{name}: the body differs from the golden file at character {at}.\n" +
                $"expected …{expected[Math.Max(0, at - 60)..Math.Min(expected.Length, at + 80)]}…\n" +
                $"actual   …{text[Math.Max(0, at - 60)..Math.Min(text.Length, at + 80)]}…");
        }
        return text;
    }

    /// <summary><c>tests/Shared/Golden</c>, found from the test's output directory up to the solution file.</summary>
    private static string Directory { get; } = FindDirectory();

    private static string FindDirectory()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Showrunner.slnx")))
        {
            directory = directory.Parent;
        }
        return directory is null
            ? throw new InvalidOperationException($"No Showrunner.slnx above {AppContext.BaseDirectory}: cannot find tests/Shared/Golden.")
            : Path.Combine(directory.FullName, "tests", "Shared", "Golden");
    }
}
