using System.Text.Json;
using Showrunner.Testing;

namespace Showrunner.Cli.Tests;

/// <summary>The release commands as a user runs them: arguments in, text or JSON and an exit code out.</summary>
[Trait("Category", "Component")]
public sealed class ReleaseCommandTests : IDisposable
{
    private readonly TempDirectory _directory = new("showrunner-cli");

    private static string Example(string name) => Path.Combine(AppContext.BaseDirectory, "examples", name);

    private static (int ExitCode, string Output, string Errors) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var errors = new StringWriter();
        int exitCode = ShowrunnerCommand.Run(args, output, errors);
        return (exitCode, output.ToString(), errors.ToString());
    }

    private string Sources(params (string Name, string Text)[] files)
    {
        string directory = Path.Combine(_directory.Path, "src-" + Guid.NewGuid().ToString("N"));
        foreach (var (name, text) in files)
        {
            string path = Path.Combine(directory, name);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, text);
        }
        return directory;
    }

    [Fact]
    public void Check_of_a_clean_release_exits_0_with_a_summary()
    {
        var (exitCode, output, errors) = Run("check", Example("summer-week-1"));
        Assert.Equal(0, exitCode);
        Assert.Equal("", errors);
        Assert.Contains("ok: release \"summer-week-1\": 1 events, 2 actions, 1 configs, 1 files", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_reports_every_problem_with_file_line_column_and_code_and_exits_1()
    {
        string directory = Sources(
            ("release.hcl", "release \"r\" {}\ncurrency \"gems\" {}\n"),
            ("events/bad.hcl", "event \"e\" {\n  schedule {\n    start = \"soon\"\n    duration = \"1d\"\n  }\n  objective \"o\" {\n    on = \"nope\"\n    points = 1\n  }\n}\n"));
        var (exitCode, _, errors) = Run("check", directory);
        Assert.Equal(1, exitCode);
        Assert.Contains("events/bad.hcl:3:13: error value.invalid_time:", errors, StringComparison.Ordinal);
        Assert.Contains("events/bad.hcl:7:10: error objective.unknown_action:", errors, StringComparison.Ordinal);
        Assert.Contains("  |     start = \"soon\"", errors, StringComparison.Ordinal);
        Assert.Contains("errors", errors, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_json_is_one_document_tools_can_read()
    {
        string directory = Sources(("r.hcl", "release \"r\" {}\nbogus {}\n"));
        var (exitCode, output, _) = Run("check", directory, "--json");
        Assert.Equal(1, exitCode);
        using var document = JsonDocument.Parse(output);
        Assert.False(document.RootElement.GetProperty("ok").GetBoolean());
        var diagnostic = document.RootElement.GetProperty("diagnostics")[0];
        Assert.Equal("decl.unknown_block", diagnostic.GetProperty("code").GetString());
        Assert.Equal("r.hcl", diagnostic.GetProperty("file").GetString());
        Assert.Equal(2, diagnostic.GetProperty("line").GetInt32());
        Assert.Equal(1, diagnostic.GetProperty("column").GetInt32());
    }

    [Fact]
    public void Build_writes_the_canonical_bundle_and_prints_its_id_and_inspect_reads_it_back()
    {
        string bundle = Path.Combine(_directory.Path, "summer.hcl");
        var (exitCode, output, _) = Run("build", Example("summer-week-1"), "-o", bundle, "--json");
        Assert.Equal(0, exitCode);
        using var built = JsonDocument.Parse(output);
        string id = built.RootElement.GetProperty("id").GetString()!;
        Assert.Matches("^[0-9a-f]{64}$", id);
        Assert.True(File.Exists(bundle));
        var (inspectExit, inspectOutput, _) = Run("inspect", bundle, "--json");
        Assert.Equal(0, inspectExit);
        using var inspected = JsonDocument.Parse(inspectOutput);
        Assert.Equal(id, inspected.RootElement.GetProperty("id").GetString());
        Assert.Equal(8, inspected.RootElement.GetProperty("definitions").GetArrayLength());
        var (textExit, text, _) = Run("inspect", bundle);
        Assert.Equal(0, textExit);
        Assert.Contains($"release id   {id}", text, StringComparison.Ordinal);
        Assert.Contains("event        \"crystal_caves_hunt\"", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_of_broken_sources_writes_nothing_and_exits_1()
    {
        string bundle = Path.Combine(_directory.Path, "broken.hcl");
        var (exitCode, _, errors) = Run("build", Sources(("r.hcl", "release \"r\" {\n")), "-o", bundle);
        Assert.Equal(1, exitCode);
        Assert.Contains("syntax.unclosed_block", errors, StringComparison.Ordinal);
        Assert.False(File.Exists(bundle));
    }

    [Fact]
    public void Inspect_refuses_a_file_that_is_not_a_canonical_bundle()
    {
        var (exitCode, _, errors) = Run("inspect", Path.Combine(Example("summer-week-1"), "release.hcl"));
        Assert.Equal(1, exitCode);
        Assert.Contains("bundle.not_canonical", errors, StringComparison.Ordinal);
    }

    [Fact]
    public void Diff_names_what_changed_between_a_bundle_and_a_directory()
    {
        string bundle = Path.Combine(_directory.Path, "before.hcl");
        Assert.Equal(0, Run("build", Example("summer-week-1"), "-o", bundle).ExitCode);
        string changed = Sources(("release.hcl", File.ReadAllText(Path.Combine(Example("summer-week-1"), "release.hcl"))
            .Replace("at     = 250", "at     = 300", StringComparison.Ordinal) + "\nitem \"torch\" {}\n"));
        var (exitCode, output, _) = Run("diff", bundle, changed);
        Assert.Equal(0, exitCode);
        Assert.Contains("+ item \"torch\"", output, StringComparison.Ordinal);
        Assert.Contains("~ event \"crystal_caves_hunt\"", output, StringComparison.Ordinal);
        var (_, same, _) = Run("diff", bundle, Example("summer-week-1"));
        Assert.Contains("identical", same, StringComparison.Ordinal);
    }

    [Fact]
    public void Diff_refuses_a_candidate_that_changes_a_live_events_earnings_with_exit_1()
    {
        string changed = Sources(("release.hcl", File.ReadAllText(Path.Combine(Example("summer-week-1"), "release.hcl"))
            .Replace("points = 5", "points = 50", StringComparison.Ordinal)));
        var (during, _, errors) = Run("diff", Example("summer-week-1"), changed, "--at", "2025-07-27T12:00:00Z");
        Assert.Equal(1, during);
        Assert.Contains("error compat.earnings_changed: Event \"crystal_caves_hunt\" is live", errors, StringComparison.Ordinal);
        var (later, output, _) = Run("diff", Example("summer-week-1"), changed, "--at", "2025-09-01T00:00:00Z", "--json");
        Assert.Equal(0, later);
        using var document = JsonDocument.Parse(output);
        Assert.True(document.RootElement.GetProperty("compatible").GetBoolean());
        Assert.Equal("event \"crystal_caves_hunt\"", document.RootElement.GetProperty("changed")[0].GetString());
    }

    [Theory]
    [InlineData("check")]
    [InlineData("frobnicate")]
    [InlineData("build", "examples/none")]
    [InlineData("check", "/definitely/not/here")]
    [InlineData("inspect", "/definitely/not/here.hcl")]
    public void Usage_errors_exit_2_with_a_message(params string[] args)
    {
        var (exitCode, _, errors) = Run(args);
        Assert.Equal(2, exitCode);
        Assert.StartsWith("error:", errors, StringComparison.Ordinal);
    }

    [Fact]
    public void A_directory_without_sources_is_a_usage_error()
    {
        var (exitCode, _, errors) = Run("check", Sources(("notes.txt", "hello")));
        Assert.Equal(2, exitCode);
        Assert.Contains("holds no .hcl files", errors, StringComparison.Ordinal);
    }

    public void Dispose() => _directory.Dispose();
}
