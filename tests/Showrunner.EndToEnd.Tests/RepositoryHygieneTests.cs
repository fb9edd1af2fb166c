using System.Diagnostics;
using Showrunner.Testing;

namespace Showrunner.EndToEnd.Tests;

/// <summary>
/// What the README and the demo write inside the repository is ignored by git, so `git add .`
/// after the walkthrough never commits the admin key, the token key or the ledger's signing key.
/// </summary>
[Trait("Category", "Integration")]
public sealed class RepositoryHygieneTests
{
    /// <summary>Paths the README's walkthrough, the demo and a server started from src/ write, relative to the repository root.</summary>
    public static readonly string[] WrittenPaths =
    [
        "data/admin.key", "data/token.key", "data/ledger-signing-key.pem", "data/showrunner.db", "data/showrunner.db-wal", "data/showrunner.db-shm",
        "data/showrunner.lock", "demo-data/admin.key", "demo-data/ledger-signing-key.pem", "demo-data/showrunner.db",
        "src/Showrunner.Server/data/admin.key", "src/Showrunner.Cli/demo-data/token.key", "receipt.json", "ledger.pub",
    ];

    [RequiresProgramFact("git", "git")]
    public async Task Every_data_path_the_readme_and_the_demo_write_is_ignored_by_git()
    {
        string root = ServerProcess.RepositoryRoot();
        var info = new ProcessStartInfo("git") { WorkingDirectory = root, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in new[] { "check-ignore", "--no-index", "--verbose", "--non-matching" }.Concat(WrittenPaths))
        {
            info.ArgumentList.Add(argument);
        }
        using var process = Process.Start(info)!;
        string output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        // --non-matching lists every path; an ignored one names the .gitignore line that matched it.
        var notIgnored = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("::", StringComparison.Ordinal)).ToList();
        Assert.True(notIgnored.Count == 0, "not ignored by git:\n" + string.Join('\n', notIgnored));
        Assert.Equal(WrittenPaths.Length, output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        // The README names the demo's and the server's data directories, and writes the receipt and the key outside the repository.
        string readme = await File.ReadAllTextAsync(Path.Combine(root, "README.md"));
        Assert.Contains("./demo-data", readme, StringComparison.Ordinal);
        Assert.Contains("data in ./data", readme, StringComparison.Ordinal);
        Assert.DoesNotContain("> receipt.json", readme, StringComparison.Ordinal);
        Assert.DoesNotContain("> ledger.pub", readme, StringComparison.Ordinal);
    }
}
