using System.Text;
using System.Text.Json;
using Showrunner.Core.Rules.Bundle;
using Showrunner.Core.Rules.Syntax;

namespace Showrunner.Cli;

/// <summary>Exit codes of every command: the contract scripts and CI rely on.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int Problems = 1;
    public const int Usage = 2;
    /// <summary>The server stored the request for a second person's approval (two-person rule): nothing changed yet.</summary>
    public const int PendingApproval = 3;
}

/// <summary>
/// <c>check</c>, <c>build</c>, <c>diff</c> and <c>inspect</c>: the release commands. Human output by
/// default, one JSON document with <c>--json</c>. Output goes to the writers given, so tests run
/// the commands in-process.
/// </summary>
internal sealed class ReleaseCommands(TextWriter output, TextWriter errors)
{

    /// <summary>The *.hcl files under a directory, named by their path relative to it ('/' separated), in ordinal order.</summary>
    internal static List<SourceText>? ReadSources(string directory, TextWriter errors)
    {
        if (!Directory.Exists(directory))
        {
            errors.WriteLine($"error: '{directory}' is not a directory.");
            return null;
        }
        var files = Directory.EnumerateFiles(directory, "*.hcl", SearchOption.AllDirectories)
            .Select(path => (Name: Path.GetRelativePath(directory, path).Replace(Path.DirectorySeparatorChar, '/'), Path: path))
            .OrderBy(f => f.Name, StringComparer.Ordinal)
            .ToList();
        if (files.Count == 0)
        {
            errors.WriteLine($"error: '{directory}' holds no .hcl files.");
            return null;
        }
        long total = files.Sum(f => new FileInfo(f.Path).Length);
        if (total > ReleaseBundle.MaxSourceBytes)
        {
            errors.WriteLine($"error: the sources in '{directory}' are {total} bytes; a release is at most {ReleaseBundle.MaxSourceBytes}.");
            return null;
        }
        return files.ConvertAll(f => new SourceText(f.Name, File.ReadAllText(f.Path, Encoding.UTF8)));
    }

    /// <summary>A bundle file (canonical text) or a directory of sources.</summary>
    /// <summary>A bundle from a file or a directory; on failure the problems are printed to <paramref name="errors"/>.</summary>
    internal static (ReleaseBundle? Bundle, bool UsageError) OpenBundle(string path, TextWriter errors)
    {
        var (bundle, diagnostics, usage) = Open(path, errors);
        if (bundle is null)
        {
            new ReleaseCommands(TextWriter.Null, errors).WriteDiagnostics(diagnostics);
        }
        return (bundle, usage);
    }

    private static (ReleaseBundle? Bundle, List<Diagnostic> Diagnostics, bool UsageError) Open(string path, TextWriter errors)
    {
        if (Directory.Exists(path))
        {
            var sources = ReadSources(path, errors);
            if (sources is null)
            {
                return (null, [], true);
            }
            var (built, diagnostics) = ReleaseBundle.Build(sources);
            return (built, diagnostics, false);
        }
        if (!File.Exists(path))
        {
            errors.WriteLine($"error: '{path}' is neither a bundle file nor a directory.");
            return (null, [], true);
        }
        var (loaded, loadDiagnostics) = ReleaseBundle.Load(File.ReadAllText(path, Encoding.UTF8), Path.GetFileName(path));
        return (loaded, loadDiagnostics, false);
    }

    public int Check(string directory, bool json)
    {
        var sources = ReadSources(directory, errors);
        if (sources is null)
        {
            return ExitCodes.Usage;
        }
        var (bundle, diagnostics) = ReleaseBundle.Build(sources);
        if (json)
        {
            WriteJson(writer =>
            {
                writer.WriteBoolean("ok", bundle is not null);
                WriteDiagnostics(writer, diagnostics);
                if (bundle is not null)
                {
                    WriteSummary(writer, bundle);
                }
            });
        }
        else
        {
            WriteDiagnostics(diagnostics);
            if (bundle is not null)
            {
                var release = bundle.Release;
                output.WriteLine($"ok: release \"{release.Name}\": {release.Events.Count} events, {release.Actions.Count} actions, {release.Configs.Count} configs, {sources.Count} files");
            }
        }
        return bundle is null ? ExitCodes.Problems : ExitCodes.Ok;
    }

    public int Build(string directory, string outputFile, bool json)
    {
        var sources = ReadSources(directory, errors);
        if (sources is null)
        {
            return ExitCodes.Usage;
        }
        var (bundle, diagnostics) = ReleaseBundle.Build(sources);
        if (bundle is not null)
        {
            // Write to a temporary file and move it in place, so a reader never sees half a bundle.
            string temporary = outputFile + ".tmp";
            File.WriteAllBytes(temporary, bundle.CanonicalBytes);
            File.Move(temporary, outputFile, overwrite: true);
        }
        if (json)
        {
            WriteJson(writer =>
            {
                writer.WriteBoolean("ok", bundle is not null);
                WriteDiagnostics(writer, diagnostics);
                if (bundle is not null)
                {
                    writer.WriteString("file", outputFile);
                    WriteSummary(writer, bundle);
                }
            });
        }
        else
        {
            WriteDiagnostics(diagnostics);
            if (bundle is not null)
            {
                output.WriteLine($"built {outputFile}");
                output.WriteLine($"release id   {bundle.Id}");
                output.WriteLine($"merkle root  {bundle.MerkleRoot}");
            }
        }
        return bundle is null ? ExitCodes.Problems : ExitCodes.Ok;
    }

    /// <summary>
    /// Names what changed from A to B and whether B may replace A at <paramref name="at"/> without
    /// changing what players already earned (exit 1 when it may not).
    /// </summary>
    public int Diff(string before, string after, bool json, DateTimeOffset at)
    {
        var (a, aDiagnostics, aUsage) = Open(before, errors);
        var (b, bDiagnostics, bUsage) = Open(after, errors);
        if (aUsage || bUsage)
        {
            return ExitCodes.Usage;
        }
        if (a is null || b is null)
        {
            WriteDiagnostics([.. aDiagnostics, .. bDiagnostics]);
            return ExitCodes.Problems;
        }
        var diff = ReleaseBundle.Diff(a, b);
        var problems = ReleaseCompatibility.Check(a, b, at);
        if (json)
        {
            WriteJson(writer =>
            {
                writer.WriteString("before", a.Id);
                writer.WriteString("after", b.Id);
                writer.WriteBoolean("identical", diff.IsEmpty);
                WriteList(writer, "added", diff.Added);
                WriteList(writer, "removed", diff.Removed);
                WriteList(writer, "changed", diff.Changed);
                writer.WriteString("compatible_at", at.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture));
                writer.WriteBoolean("compatible", problems.Count == 0);
                writer.WriteStartArray("problems");
                foreach (var problem in problems)
                {
                    writer.WriteStartObject();
                    writer.WriteString("code", problem.Code);
                    writer.WriteString("event", problem.EventId);
                    writer.WriteString("message", problem.Message);
                    writer.WriteEndObject();
                }
                writer.WriteEndArray();
            });
            return problems.Count == 0 ? ExitCodes.Ok : ExitCodes.Problems;
        }
        else
        {
            output.WriteLine($"before {a.Id}");
            output.WriteLine($"after  {b.Id}");
            if (diff.IsEmpty)
            {
                output.WriteLine("identical");
            }
            foreach (string name in diff.Added)
            {
                output.WriteLine($"+ {name}");
            }
            foreach (string name in diff.Removed)
            {
                output.WriteLine($"- {name}");
            }
            foreach (string name in diff.Changed)
            {
                output.WriteLine($"~ {name}");
            }
        }
        foreach (var problem in problems)
        {
            errors.WriteLine($"error {problem.Code}: {problem.Message}");
        }
        return problems.Count == 0 ? ExitCodes.Ok : ExitCodes.Problems;
    }

    public int Inspect(string file, bool json)
    {
        if (!File.Exists(file))
        {
            errors.WriteLine($"error: '{file}' is not a file.");
            return ExitCodes.Usage;
        }
        var (bundle, diagnostics) = ReleaseBundle.Load(File.ReadAllText(file, Encoding.UTF8), Path.GetFileName(file));
        if (bundle is null)
        {
            if (json)
            {
                WriteJson(writer =>
                {
                    writer.WriteBoolean("ok", false);
                    WriteDiagnostics(writer, diagnostics);
                });
            }
            else
            {
                WriteDiagnostics(diagnostics);
            }
            return ExitCodes.Problems;
        }
        var release = bundle.Release;
        if (json)
        {
            WriteJson(writer =>
            {
                writer.WriteBoolean("ok", true);
                WriteSummary(writer, bundle);
                writer.WriteStartArray("definitions");
                foreach (var definition in bundle.Definitions)
                {
                    writer.WriteStartObject();
                    writer.WriteString("name", definition.Name);
                    writer.WriteString("leaf_hash", Convert.ToHexStringLower(definition.LeafHash));
                    writer.WriteEndObject();
                }
                writer.WriteEndArray();
            });
            return ExitCodes.Ok;
        }
        output.WriteLine($"release      \"{release.Name}\"{(release.Description is { } d ? $" — {d}" : "")}");
        output.WriteLine($"release id   {bundle.Id}");
        output.WriteLine($"merkle root  {bundle.MerkleRoot}");
        output.WriteLine($"currencies   {string.Join(", ", release.Currencies)}");
        output.WriteLine($"items        {string.Join(", ", release.Items)}");
        output.WriteLine($"actions      {string.Join(", ", release.Actions.Select(a => a.Type))}");
        output.WriteLine($"configs      {string.Join(", ", release.Configs.Select(c => c.Name))}");
        foreach (var @event in release.Events)
        {
            var schedule = @event.Schedule;
            output.WriteLine($"event        \"{@event.Id}\" ({@event.Title}): from {schedule.Start:yyyy-MM-dd'T'HH:mm:ss'Z'} for {schedule.Duration}" +
                $"{(schedule.Every is { } every ? $", every {every}" : "")}, grace {schedule.Grace}; {@event.Objectives.Count} objectives, {@event.Tiers.Count} tiers, {@event.Prizes.Count} prizes" +
                $"{(@event.CommunityGoal is { } goal ? $", community goal {goal.Target}" : "")}");
        }
        output.WriteLine("definitions");
        foreach (var definition in bundle.Definitions)
        {
            output.WriteLine($"  {Convert.ToHexStringLower(definition.LeafHash)[..16]}  {definition.Name}");
        }
        return ExitCodes.Ok;
    }

    private void WriteDiagnostics(List<Diagnostic> diagnostics)
    {
        foreach (var diagnostic in diagnostics)
        {
            errors.WriteLine(diagnostic.Format());
        }
        int count = diagnostics.Count(d => d.Severity == Severity.Error);
        if (count > 0)
        {
            errors.WriteLine($"{count} error{(count == 1 ? "" : "s")}");
        }
    }

    private static void WriteDiagnostics(Utf8JsonWriter writer, List<Diagnostic> diagnostics) => DiagnosticJson.Write(writer, diagnostics);

    private static void WriteSummary(Utf8JsonWriter writer, ReleaseBundle bundle)
    {
        writer.WriteString("release", bundle.Release.Name);
        writer.WriteString("id", bundle.Id);
        writer.WriteString("merkle_root", bundle.MerkleRoot);
        WriteList(writer, "events", bundle.Release.Events.Select(e => e.Id));
        WriteList(writer, "actions", bundle.Release.Actions.Select(a => a.Type));
    }

    private static void WriteList(Utf8JsonWriter writer, string name, IEnumerable<string> values)
    {
        writer.WriteStartArray(name);
        foreach (string value in values)
        {
            writer.WriteStringValue(value);
        }
        writer.WriteEndArray();
    }

    private void WriteJson(Action<Utf8JsonWriter> body) => CliJson.WriteObject(output, body);
}

/// <summary>The one JSON form of every command's <c>--json</c> output: indented, readable escaping.</summary>
internal static class CliJson
{
    private static readonly JsonWriterOptions Options = new() { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes one JSON object (its members written by <paramref name="body"/>) and a newline.</summary>
    public static void WriteObject(TextWriter output, Action<Utf8JsonWriter> body) => Write(output, writer =>
    {
        writer.WriteStartObject();
        body(writer);
        writer.WriteEndObject();
    });

    /// <summary>Writes one JSON value (written whole by <paramref name="value"/>) and a newline.</summary>
    public static void Write(TextWriter output, Action<Utf8JsonWriter> value)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, Options))
        {
            value(writer);
        }
        output.WriteLine(Encoding.UTF8.GetString(stream.ToArray()));
    }
}
