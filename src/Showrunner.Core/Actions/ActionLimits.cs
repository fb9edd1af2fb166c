namespace Showrunner.Core.Actions;

/// <summary>
/// The limits every incoming action batch is held to. Defaults are the documented contract
/// (docs/api.md, "Limits"); operators may tighten or loosen them in configuration.
/// </summary>
public sealed record ActionLimits
{
    public int MaxActionsPerBatch { get; init; } = 1_000;
    public int MaxBodyBytes { get; init; } = 1024 * 1024;
    public int MaxDataBytes { get; init; } = 8 * 1024;
    public int MaxDataDepth { get; init; } = 16;
    public int MaxIdLength { get; init; } = 128;
    public int MaxPlayerLength { get; init; } = 128;
    public int MaxTypeLength { get; init; } = 64;
    /// <summary>How far <c>at</c> may lie ahead of the server clock (clock skew of game servers).</summary>
    public TimeSpan MaxFutureSkew { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>How far <c>at</c> may lie behind the server clock (offline play, delayed delivery).</summary>
    public TimeSpan MaxAge { get; init; } = TimeSpan.FromDays(7);

    /// <summary>Returns every rule this instance breaks, naming the option, its value and the rule.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        void Range(string name, long value, long min, long max)
        {
            if (value < min || value > max)
            {
                errors.Add($"{name} = {value}: must be between {min} and {max}.");
            }
        }
        Range(nameof(MaxActionsPerBatch), MaxActionsPerBatch, 1, 10_000);
        Range(nameof(MaxBodyBytes), MaxBodyBytes, 1024, 16 * 1024 * 1024);
        Range(nameof(MaxDataBytes), MaxDataBytes, 2, 1024 * 1024);
        Range(nameof(MaxDataDepth), MaxDataDepth, 1, 64);
        Range(nameof(MaxIdLength), MaxIdLength, 1, 1024);
        Range(nameof(MaxPlayerLength), MaxPlayerLength, 1, 1024);
        Range(nameof(MaxTypeLength), MaxTypeLength, 1, 256);
        if (MaxFutureSkew < TimeSpan.Zero)
        {
            errors.Add($"{nameof(MaxFutureSkew)} = {MaxFutureSkew}: must not be negative.");
        }
        if (MaxAge <= TimeSpan.Zero)
        {
            errors.Add($"{nameof(MaxAge)} = {MaxAge}: must be positive.");
        }
        return errors;
    }
}
