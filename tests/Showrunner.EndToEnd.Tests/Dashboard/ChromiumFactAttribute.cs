namespace Showrunner.EndToEnd.Tests.Dashboard;

/// <summary>
/// A test that needs Debian's chromium (<c>apt-get install -y chromium</c>). Without it the test is
/// skipped with that reason when run by hand; in CI (<c>CI=true</c>) it runs anyway and fails, so
/// a CI machine without the browser cannot pass silently.
/// </summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public const string Chromium = "/usr/bin/chromium";

    public ChromiumFactAttribute()
    {
        bool inCi = string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
        if (!File.Exists(Chromium) && !inCi)
        {
            Skip = $"{Chromium} is missing: install it with 'apt-get install -y chromium' (in CI, CI=true, this test fails instead).";
        }
    }
}
