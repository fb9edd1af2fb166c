using Showrunner.Core.Rules.Bundle;
using Showrunner.Core.Rules.Syntax;

namespace Showrunner.Server.Hosting;

/// <summary>The example release built into the server (examples/summer-week-1), loaded on a new data directory.</summary>
internal static class ExampleRelease
{
    private const string Prefix = "Showrunner.Server.Example.";

    public static ReleaseBundle Build() => Build(Sources());

    /// <summary>The example's source files as embedded (demo mode derives its live copy from them).</summary>
    public static List<SourceText> Sources()
    {
        var assembly = typeof(ExampleRelease).Assembly;
        var files = new List<SourceText>();
        foreach (string resource in assembly.GetManifestResourceNames().Where(r => r.StartsWith(Prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            files.Add(new SourceText(resource[Prefix.Length..], reader.ReadToEnd()));
        }
        return files;
    }

    /// <summary>Builds <paramref name="files"/>; throws naming every problem when they do not build.</summary>
    public static ReleaseBundle Build(IReadOnlyList<SourceText> files)
    {
        var (bundle, diagnostics) = ReleaseBundle.Build(files);
        return bundle ?? throw new InvalidOperationException("The built-in example release does not build: " +
            string.Join("; ", diagnostics.Where(d => d.Severity == Severity.Error).Select(d => d.Code + " " + d.Message)));
    }
}
