using Showrunner.Server.Hosting;

namespace Showrunner.Server.Dashboard;

/// <summary>
/// The operator dashboard's limits and intervals (<c>Showrunner:Dashboard:*</c>, docs/operations.md,
/// "Dashboard"). One sampler serves every viewer, so these bound the dashboard's whole cost,
/// whatever the number of open pages.
/// </summary>
internal sealed record DashboardOptions
{
    public const string Section = "Dashboard";

    /// <summary>How often the sampler takes a snapshot (and every stream sends one). 0: only when asked (tests drive it by hand).</summary>
    public TimeSpan SampleInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Samples kept for the charts (600 at 1 s: the last ten minutes).</summary>
    public int HistorySamples { get; init; } = 600;

    /// <summary>Dashboard streams open at once; one more is refused with 503 <c>too_many_streams</c>.</summary>
    public int MaxStreams { get; init; } = 32;

    /// <summary>How often the outbox is counted (a count is linear in the pending and dead-lettered rows).</summary>
    public TimeSpan OutboxSampleInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the ledger self-check verifies the latest checkpoint against the previous one.</summary>
    public TimeSpan LedgerCheckInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Most ledger entries one sample reads to split grants by event; beyond it the rest are counted, unsplit.</summary>
    public int MaxLedgerEntriesPerSample { get; init; } = 50_000;

    private static readonly string[] Keys =
        ["SampleIntervalMs", "HistorySamples", "MaxStreams", "OutboxSampleIntervalSeconds", "LedgerCheckIntervalSeconds", "MaxLedgerEntriesPerSample"];

    public static DashboardOptions Read(IConfiguration configuration, List<string> errors)
    {
        var section = new OptionSection(configuration, Section, Keys, errors);
        var defaults = new DashboardOptions();
        long interval = section.Long("SampleIntervalMs", (long)defaults.SampleInterval.TotalMilliseconds, 0, 10_000);
        if (interval is > 0 and < 250)
        {
            errors.Add($"Showrunner:{Section}:SampleIntervalMs = {interval}: must be 0 (sample only when asked) or from 250 to 10000.");
            interval = (long)defaults.SampleInterval.TotalMilliseconds;
        }
        return new DashboardOptions
        {
            SampleInterval = TimeSpan.FromMilliseconds(interval),
            HistorySamples = section.Int("HistorySamples", defaults.HistorySamples, 10, 3_600),
            MaxStreams = section.Int("MaxStreams", defaults.MaxStreams, 1, 1_000),
            OutboxSampleInterval = TimeSpan.FromSeconds(section.Long("OutboxSampleIntervalSeconds", (long)defaults.OutboxSampleInterval.TotalSeconds, 1, 300)),
            LedgerCheckInterval = TimeSpan.FromSeconds(section.Long("LedgerCheckIntervalSeconds", (long)defaults.LedgerCheckInterval.TotalSeconds, 5, 3_600)),
            MaxLedgerEntriesPerSample = section.Int("MaxLedgerEntriesPerSample", defaults.MaxLedgerEntriesPerSample, 1_000, 10_000_000),
        };
    }
}
