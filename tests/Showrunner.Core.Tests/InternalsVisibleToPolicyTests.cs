using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Showrunner.Core.Tests;

/// <summary>
/// A src project opens its internals only to test assemblies (docs/internals/build.md, STYLE.md §3):
/// another layer, the CLI or a bench builds on public types, so what one assembly needs of another
/// is a visible, documented contract. Fails by project and name when a src/*/*.csproj declares
/// <c>InternalsVisibleTo</c> to anything but <c>Showrunner.*.Tests</c>, beyond the listed debt.
/// </summary>
[Trait("Category", "Unit")]
public sealed partial class InternalsVisibleToPolicyTests
{
    /// <summary>
    /// Openings to non-test assemblies not yet removed (issue 13), as "project → assembly". Remove a
    /// line when its opening goes; the test fails on a line that no longer matches anything, so the
    /// list only shrinks.
    /// </summary>
    private static readonly string[] KnownDebt =
    [
        "Showrunner.Runtime → Showrunner.Server",
    ];

    [Fact]
    public void Src_projects_open_their_internals_only_to_test_assemblies()
    {
        string src = Path.Combine(RepositoryRoot(), "src");
        var projects = Directory.GetFiles(src, "*.csproj", SearchOption.AllDirectories);
        Assert.NotEmpty(projects);

        var openings = projects
            .SelectMany(path => XDocument.Load(path).Descendants("InternalsVisibleTo")
                .Select(e => (Project: Path.GetFileNameWithoutExtension(path), Assembly: (string?)e.Attribute("Include") ?? "")))
            .ToList();
        // Core opens to its tests today: a parser that found nothing would pass every project vacuously.
        Assert.Contains(openings, o => o is { Project: "Showrunner.Core", Assembly: "Showrunner.Core.Tests" });

        var found = openings.Where(o => !TestAssembly().IsMatch(o.Assembly)).Select(o => $"{o.Project} → {o.Assembly}").ToList();
        var unexpected = found.Except(KnownDebt, StringComparer.Ordinal).ToList();
        Assert.True(unexpected.Count == 0,
            "InternalsVisibleTo a non-test assembly (make the type public with a doc comment, or move it to the assembly that uses it):\n"
            + string.Join('\n', unexpected));
        var paid = KnownDebt.Except(found, StringComparer.Ordinal).ToList();
        Assert.True(paid.Count == 0, "No longer declared: remove from KnownDebt:\n" + string.Join('\n', paid));
    }

    /// <summary>The repository root: the first directory above the test's build that holds Showrunner.slnx.</summary>
    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Showrunner.slnx")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new InvalidOperationException("Cannot find the repository root (Showrunner.slnx) above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"^Showrunner\.[A-Za-z.]+\.Tests$")]
    private static partial Regex TestAssembly();
}
