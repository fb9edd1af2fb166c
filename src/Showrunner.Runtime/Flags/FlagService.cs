using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.Rollouts;
using Showrunner.Storage;

namespace Showrunner.Runtime.Flags;

/// <summary>What a kill switch acts on.</summary>
public enum FlagKind
{
    /// <summary>An event of the active release: it counts and grants nothing, its config overrides stop.</summary>
    Event,
    /// <summary>A config of the active release: served with its declared values, no event overrides.</summary>
    Config,
}

/// <summary>Flip one kill switch (<paramref name="Enabled"/> false kills the target).</summary>
public sealed record SetFlag(FlagKind Kind, string Target, bool Enabled, string? Reason);

public enum SetFlagStatus
{
    Set,
    /// <summary>The active release (or no release) has no such event or config: nothing was recorded.</summary>
    UnknownTarget,
}

/// <summary>The flip as recorded, or why there was none.</summary>
public sealed record SetFlagResult(SetFlagStatus Status, StoredFlag? Flag);

/// <summary>Every flag's latest flip (by kind, then target) and the killed targets (ordinal order).</summary>
public sealed record FlagList(IReadOnlyList<StoredFlag> Flags, IReadOnlyList<string> KilledEvents, IReadOnlyList<string> KilledConfigs);

/// <summary>
/// The kill-switch use cases (docs/operations.md, "Flags"): list them, and flip one of the active
/// release's events or configs. The flip itself (durable, audited, in force before the call
/// returns) is <see cref="FlagBoard"/>'s; this service decides whether the target exists.
/// </summary>
public sealed class FlagService(FlagBoard board, IngestPipeline pipeline)
{
    /// <summary>The name the store and the audit log use for a kind.</summary>
    public static string Name(FlagKind kind) => kind == FlagKind.Event ? "event" : "config";

    /// <summary>Whether the active release has <paramref name="target"/> of <paramref name="kind"/> (false without an active release).</summary>
    public bool IsKnown(FlagKind kind, string target)
    {
        ArgumentNullException.ThrowIfNull(target);
        var release = pipeline.ActiveRelease?.Loaded.Bundle.Release;
        return release is not null && (kind == FlagKind.Event
            ? release.Events.Any(e => e.Id == target)
            : release.Configs.Any(c => c.Name == target));
    }

    public FlagList List() => new(
        board.Latest(),
        [.. board.KilledEvents.Order(StringComparer.Ordinal)],
        [.. board.KilledConfigs.Order(StringComparer.Ordinal)]);

    /// <summary>Flips the switch on behalf of <paramref name="actor"/>; refused when the active release has no such target.</summary>
    public async Task<SetFlagResult> SetAsync(SetFlag command, string actor)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (!IsKnown(command.Kind, command.Target))
        {
            return new SetFlagResult(SetFlagStatus.UnknownTarget, null);
        }
        var flag = await board.SetAsync(Name(command.Kind), command.Target, command.Enabled, actor, command.Reason).ConfigureAwait(false);
        return new SetFlagResult(SetFlagStatus.Set, flag);
    }
}
