namespace Showrunner.Testing;

/// <summary>
/// A fact that needs an external program (Debian's prometheus, chromium, …). Run by hand without
/// it, the test is skipped with a reason that says how to install it; in CI (<c>CI=true</c>) it is
/// never skipped, so a missing program fails the test instead of hiding it.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RequiresProgramFactAttribute : FactAttribute
{
    public RequiresProgramFactAttribute(string program, string package)
    {
        Program = program;
        if (Locate(program) is null && !InCi)
        {
            Skip = $"{program} is not installed (apt-get install -y {package}); CI installs it and runs this test.";
        }
    }

    public string Program { get; }

    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The program's full path: itself when absolute, else the first match on PATH; null when it is not there.</summary>
    public static string? Locate(string program)
    {
        if (Path.IsPathRooted(program))
        {
            return File.Exists(program) ? program : null;
        }
        foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(directory, program);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }
}
