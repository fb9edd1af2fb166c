using Showrunner.Server.Hosting;

namespace Showrunner.Server.Demo;

/// <summary>
/// Demo mode (<c>Showrunner:Demo:*</c>; <c>showrunner demo</c> sets them): a live copy of the
/// example release and a seeded player simulator sending actions through the real ingest API.
/// Off unless <see cref="Enabled"/>. docs/operations.md, "Demo mode".
/// </summary>
internal sealed record DemoOptions
{
    public const string Section = "Demo";

    public bool Enabled { get; init; }

    /// <summary>Simulated players (each sends its profile first, then plays).</summary>
    public int Players { get; init; } = 5_000;

    /// <summary>The simulator never sends more than this many actions per second (on average over any second, plus one batch).</summary>
    public int ActionsPerSecond { get; init; } = 1_000;

    /// <summary>Seed of the simulated population and of every action it sends: the same seed gives the same players and the same stream.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>Actions per request to <c>POST /v1/actions</c>.</summary>
    public int BatchSize { get; init; } = 100;

    /// <summary>Requests in flight at once.</summary>
    public int MaxInFlightBatches { get; init; } = 4;

    /// <summary>Start a staged rollout of a tuned candidate of the demo release (once, when none ran), so the rollout views have data.</summary>
    public bool Rollout { get; init; } = true;

    /// <summary>Stop the server when standard input reaches its end: <c>showrunner demo</c> holds the pipe, so the server never outlives it.</summary>
    public bool StopOnStdinClose { get; init; }

    private static readonly string[] Keys =
        ["Enabled", "Players", "ActionsPerSecond", "Seed", "BatchSize", "MaxInFlightBatches", "Rollout", "StopOnStdinClose"];

    public static DemoOptions Read(IConfiguration configuration, int maxActionsPerBatch, List<string> errors)
    {
        var section = new OptionSection(configuration, Section, Keys, errors);
        var defaults = new DemoOptions();
        return new DemoOptions
        {
            Enabled = section.Bool("Enabled", defaults.Enabled),
            Players = section.Int("Players", defaults.Players, 10, 1_000_000),
            ActionsPerSecond = section.Int("ActionsPerSecond", defaults.ActionsPerSecond, 1, 20_000),
            Seed = section.Long("Seed", defaults.Seed, long.MinValue, long.MaxValue),
            BatchSize = section.Int("BatchSize", Math.Min(defaults.BatchSize, maxActionsPerBatch), 1, maxActionsPerBatch),
            MaxInFlightBatches = section.Int("MaxInFlightBatches", defaults.MaxInFlightBatches, 1, 64),
            Rollout = section.Bool("Rollout", defaults.Rollout),
            StopOnStdinClose = section.Bool("StopOnStdinClose", defaults.StopOnStdinClose),
        };
    }
}
