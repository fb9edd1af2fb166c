using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Showrunner.Testing;
using Xunit.Abstractions;

namespace Showrunner.EndToEnd.Tests.Dashboard;

/// <summary>
/// The dashboard in a real browser: a real server process runs the demo workload; headless
/// chromium (Debian's, driven by Playwright) opens /dashboard at 1366×768, is refused with a
/// wrong key, signs in with the admin key, and shows live data. Every number checked is
/// bracketed by the API: read before the page's snapshot was taken and after it was shown, a
/// counter that only grows must lie between the two readings — exactly, with no tolerance. The
/// page must update several times without a reload, and a screenshot is saved.
/// </summary>
[Trait("Category", "Browser")]
public sealed class DashboardBrowserTests(ITestOutputHelper output)
{
    private const string EventId = "crystal_caves_hunt";
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(50);

    /// <summary>Where the screenshots go (also printed): TestResults/dashboard under the repository root.</summary>
    public static string ScreenshotDirectory => Path.Combine(ServerProcess.RepositoryRoot(), "TestResults", "dashboard");

    [ChromiumFact]
    public async Task The_dashboard_signs_in_shows_what_the_API_says_and_refreshes_live_without_reloading()
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        using var directory = new TempDirectory();
        using var server = new ServerProcess(TestServer.Dll, directory.Path, ServerProcess.FreePort(),
            "--Showrunner:PartitionCount=32", "--Showrunner:Demo:Enabled=true", "--Showrunner:Demo:Players=2000",
            "--Showrunner:Demo:ActionsPerSecond=400", "--Showrunner:Demo:Seed=7", "--Showrunner:Dashboard:LedgerCheckIntervalSeconds=5");
        server.Start();
        await server.WaitReadyAsync(TimeSpan.FromSeconds(30));
        using var api = server.CreateClient(TimeSpan.FromSeconds(10));

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = ChromiumFactAttribute.Chromium, Headless = true });
        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1366, Height = 768 } });
        var errors = new List<string>();
        page.PageError += (_, message) => errors.Add(message);
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                errors.Add(message.Text);
            }
        };
        await page.GotoAsync(server.BaseAddress + "dashboard");

        // A wrong key is refused on the page, with the server's problem code.
        await page.FillAsync("#key", "sr_000000000000_" + new string('A', 43));
        await page.ClickAsync("#sign-in");
        await page.WaitForFunctionAsync("() => document.getElementById('login-error').textContent.includes('unauthorized')");
        Assert.Equal("login", await page.EvaluateAsync<string>("() => document.body.dataset.view"));
        // The browser reports that refusal as a failed load; from here on, no error is expected.
        errors.Clear();

        await page.FillAsync("#key", server.AdminKey);
        await page.ClickAsync("#sign-in");
        await page.WaitForFunctionAsync("() => document.body.dataset.view === 'signed-in' && document.body.dataset.sequence");
        await page.EvaluateAsync("() => { window.__loadedOnce = 'yes'; }");
        int firstRenders = await page.EvaluateAsync<int>("() => window.showrunnerDashboard.renders");

        // Live data arrives: the live event with players on its leaderboard, grants in the ledger, the demo rollout.
        await page.WaitForFunctionAsync($$"""
            () => {
              const e = document.querySelector('.event[data-event="{{EventId}}"]');
              return e && e.dataset.phase === 'active' && document.querySelectorAll('#board-rows tr[data-player]').length === 10
                && Number(document.querySelector('[data-testid=ledger-entries]').dataset.value) > 0
                && document.getElementById('rollout').dataset.state === 'running';
            }
            """, null, new() { Timeout = 30_000 });

        // Bracket: API before, then a snapshot taken wholly after it is shown, then the page, then the API after.
        long sequence = await Sequence(page);
        var before = await ReadApiAsync(api);
        await page.WaitForFunctionAsync($"() => Number(document.body.dataset.sequence) >= {sequence + 3}", null, new() { Timeout = 15_000 });
        var shown = await ReadPageAsync(page);
        var after = await ReadApiAsync(api);
        output.WriteLine($"accepted: api {before.Accepted} ≤ page {shown.Accepted} ≤ api {after.Accepted}; ledger: {before.Entries} ≤ {shown.Entries} ≤ {after.Entries}; " +
            $"community: {before.Community} ≤ {shown.Community} ≤ {after.Community}");

        Assert.InRange(shown.Accepted, before.Accepted, after.Accepted);
        Assert.InRange(shown.Entries, before.Entries, after.Entries);
        Assert.InRange(shown.Community, before.Community, after.Community);
        Assert.True(shown.Accepted > 0 && shown.Entries > 0, "the demo workload did not reach the page");
        // What is written on the page is the number, not just an attribute behind it.
        Assert.Equal(shown.Accepted, Number(shown.AcceptedText));
        Assert.Equal(shown.Entries, Number(shown.EntriesText));

        // The leaderboard: ten players in order, each with points between the API's two readings.
        Assert.Equal(10, shown.Board.Count);
        for (int i = 0; i < shown.Board.Count; i++)
        {
            var (player, points, text) = shown.Board[i];
            Assert.Equal(points, Number(text));
            if (i > 0)
            {
                Assert.True(shown.Board[i - 1].Points >= points, $"rank {i + 1} ({points}) is above rank {i} ({shown.Board[i - 1].Points})");
            }
            Assert.True(after.Board.TryGetValue(player, out long later), $"{player} is on the page's top 10 but not in the API's top 1,000");
            Assert.InRange(points, before.Board.GetValueOrDefault(player), later);
        }

        // The rollout the demo started: the same rollout, step, candidate and state as GET /v1/rollout.
        Assert.Equal(after.Rollout.Id, shown.Rollout.Id);
        Assert.Equal(after.Rollout.State, shown.Rollout.State);
        Assert.Equal(after.Rollout.Step, shown.Rollout.Step);
        Assert.Equal(after.Rollout.Candidate, shown.Rollout.Candidate);
        Assert.Equal(after.ActiveRelease, shown.ActiveRelease);
        Assert.Equal("active", shown.Phase);

        // It keeps refreshing without a reload: same document, more renders, more chart points, more actions.
        await page.WaitForFunctionAsync($"() => Number(document.body.dataset.sequence) >= {shown.Sequence + 2}", null, new() { Timeout = 10_000 });
        var later2 = await ReadPageAsync(page);
        Assert.Equal("yes", await page.EvaluateAsync<string>("() => window.__loadedOnce"));
        Assert.True(later2.Renders >= firstRenders + 5, $"only {later2.Renders - firstRenders} updates were drawn");
        Assert.True(later2.ChartPoints > shown.ChartPoints || later2.ChartPoints >= 600, "the chart did not grow");
        Assert.True(later2.Accepted > shown.Accepted, "the accepted count did not move");
        Assert.Equal("live", await page.EvaluateAsync<string>("() => document.getElementById('connection').dataset.state"));

        // Usable on a 1366×768 laptop: nothing wider than the window.
        int scrollWidth = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth");
        Assert.True(scrollWidth <= 1366, $"the page is {scrollWidth} px wide at a 1366 px window");
        // The ledger self-check ran and passed.
        await page.WaitForFunctionAsync("() => document.querySelector('[data-testid=verification]').dataset.value === 'ok'", null, new() { Timeout = 15_000 });

        Directory.CreateDirectory(ScreenshotDirectory);
        string screen = Path.Combine(ScreenshotDirectory, "dashboard-1366x768.png");
        string full = Path.Combine(ScreenshotDirectory, "dashboard-full.png");
        await page.ScreenshotAsync(new() { Path = screen });
        await page.ScreenshotAsync(new() { Path = full, FullPage = true });
        output.WriteLine($"screenshots: {screen} and {full}");
        Assert.True(new FileInfo(screen).Length > 10_000, "the screenshot is empty");

        Assert.True(errors.Count == 0, "the page reported errors: " + string.Join(" | ", errors));
        Assert.True(watch.Elapsed < Budget, $"the browser test took {watch.Elapsed.TotalSeconds:F0} s (budget {Budget.TotalSeconds} s)");
    }

    private static long Number(string text) => long.Parse(text.Replace(",", "", StringComparison.Ordinal), CultureInfo.InvariantCulture);

    private static async Task<long> Sequence(IPage page) => (long)await page.EvaluateAsync<double>("() => Number(document.body.dataset.sequence)");

    private sealed record RolloutState(long Id, string State, int Step, string Candidate);

    private sealed record ApiReading(long Accepted, long Entries, long Community, Dictionary<string, long> Board, RolloutState Rollout, string ActiveRelease);

    private static async Task<ApiReading> ReadApiAsync(HttpClient api)
    {
        async Task<JsonNode> Get(string path) => JsonNode.Parse(await api.GetStringAsync(new Uri(path, UriKind.Relative)))!;
        var stats = await Get("/v1/stats");
        var ledger = await Get("/v1/ledger");
        var community = await Get($"/v1/events/{EventId}/community");
        var board = await Get($"/v1/events/{EventId}/leaderboard?top=1000");
        var rollout = (await Get("/v1/rollout"))["rollout"]!;
        var active = await Get("/v1/releases/active");
        return new ApiReading((long)stats["accepted"]!, (long)ledger["entries"]!, (long)community["progress"]!,
            board["entries"]!.AsArray().ToDictionary(e => (string)e!["player"]!, e => (long)e!["points"]!),
            new RolloutState((long)rollout["id"]!, (string)rollout["state"]!, (int)rollout["step"]!["index"]!, (string)rollout["candidate"]!["id"]!),
            (string)active["release"]!["id"]!);
    }

    private sealed record PageReading(long Sequence, long Accepted, string AcceptedText, long Entries, string EntriesText, long Community,
        List<(string Player, long Points, string Text)> Board, RolloutState Rollout, string ActiveRelease, string Phase, int ChartPoints, int Renders);

    /// <summary>Everything the test compares, read from the page in one evaluation (so from one drawn snapshot).</summary>
    private static async Task<PageReading> ReadPageAsync(IPage page)
    {
        var json = await page.EvaluateAsync<System.Text.Json.JsonElement>($$"""
            () => {
              const q = (s) => document.querySelector(s);
              const rollout = document.getElementById('rollout').dataset;
              return {
                sequence: Number(document.body.dataset.sequence),
                accepted: Number(q('[data-testid=accepted-total]').dataset.value),
                acceptedText: q('[data-testid=accepted-total]').textContent,
                entries: Number(q('[data-testid=ledger-entries]').dataset.value),
                entriesText: q('[data-testid=ledger-entries]').textContent,
                community: Number(q('.event[data-event="{{EventId}}"] [data-testid=community-progress]').dataset.value),
                board: [...document.querySelectorAll('#board-rows tr[data-player]')].map((row) =>
                  ({ player: row.dataset.player, points: Number(row.children[2].dataset.value), text: row.children[2].textContent })),
                rollout: { id: Number(rollout.rollout), state: rollout.state, step: Number(rollout.step), candidate: rollout.candidate },
                active: q('[data-testid=active-release]').dataset.value,
                phase: q('.event[data-event="{{EventId}}"]').dataset.phase,
                chartPoints: Number(q('[data-testid=chart-actions]').dataset.points),
                renders: window.showrunnerDashboard.renders,
              };
            }
            """);
        var rollout = json.GetProperty("rollout");
        return new PageReading(json.GetProperty("sequence").GetInt64(), json.GetProperty("accepted").GetInt64(), json.GetProperty("acceptedText").GetString()!,
            json.GetProperty("entries").GetInt64(), json.GetProperty("entriesText").GetString()!, json.GetProperty("community").GetInt64(),
            [.. json.GetProperty("board").EnumerateArray().Select(r => (r.GetProperty("player").GetString()!, r.GetProperty("points").GetInt64(), r.GetProperty("text").GetString()!))],
            new RolloutState(rollout.GetProperty("id").GetInt64(), rollout.GetProperty("state").GetString()!, rollout.GetProperty("step").GetInt32(),
                rollout.GetProperty("candidate").GetString()!),
            json.GetProperty("active").GetString()!, json.GetProperty("phase").GetString()!, json.GetProperty("chartPoints").GetInt32(),
            json.GetProperty("renders").GetInt32());
    }
}
