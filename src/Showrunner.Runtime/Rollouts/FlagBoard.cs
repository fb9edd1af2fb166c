using System.Collections.Frozen;
using Showrunner.Runtime.Audit;
using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.LiveEvents;
using Showrunner.Storage;

namespace Showrunner.Runtime.Rollouts;

/// <summary>
/// Kill switches an operator flips without a release (docs/operations.md, "Flags"): per event (the
/// event counts and grants nothing, and its config overrides stop) and per config (served with its
/// declared values, no event overrides). Each flip is recorded (append-only) and in force before the
/// call returns: event flags on every partition through the ingest stamp, config flags in the config reads.
/// </summary>
public sealed class FlagBoard(IActionStore store, IngestPipeline pipeline, LifecycleCoordinator lifecycle, TimeProvider time, IAuditTrail? audit = null)
{
    public const int MaxTargetLength = 128;
    private readonly SemaphoreSlim _changes = new(1, 1);
    private State? _state;

    private sealed record State(IReadOnlyList<StoredFlag> Flags, FrozenSet<string> KilledEvents, FrozenSet<string> KilledConfigs);

    private State Current => Volatile.Read(ref _state) ?? Load();

    private State Load()
    {
        var flags = store.Rollouts.Flags();
        var state = Build(flags);
        Interlocked.CompareExchange(ref _state, state, null);
        return Volatile.Read(ref _state)!;
    }

    private static State Build(IReadOnlyList<StoredFlag> flags)
    {
        var latest = flags.GroupBy(f => (f.Kind, f.Target)).Select(g => g.Last()).ToList();
        return new State(flags,
            latest.Where(f => f.Kind == "event" && !f.Enabled).Select(f => f.Target).ToFrozenSet(StringComparer.Ordinal),
            latest.Where(f => f.Kind == "config" && !f.Enabled).Select(f => f.Target).ToFrozenSet(StringComparer.Ordinal));
    }

    public ISet<string> KilledEvents => Current.KilledEvents;
    public ISet<string> KilledConfigs => Current.KilledConfigs;

    /// <summary>The latest flip of every flag ever flipped, by kind and target.</summary>
    public IReadOnlyList<StoredFlag> Latest() =>
        [.. Current.Flags.GroupBy(f => (f.Kind, f.Target)).Select(g => g.Last()).OrderBy(f => f.Kind, StringComparer.Ordinal).ThenBy(f => f.Target, StringComparer.Ordinal)];

    /// <summary>Every flip, oldest first.</summary>
    public IReadOnlyList<StoredFlag> History() => Current.Flags;

    public async Task<StoredFlag> SetAsync(string kind, string target, bool enabled, string actor, string? reason)
    {
        ArgumentNullException.ThrowIfNull(kind);
        await _changes.WaitAsync().ConfigureAwait(false);
        try
        {
            var before = Current;
            bool wasEnabled = !(kind == "event" ? before.KilledEvents : before.KilledConfigs).Contains(target);
            StoredFlag flag = kind == "event"
                ? await lifecycle.SetEventFlagAsync(target, enabled, actor, reason).ConfigureAwait(false)
                : await pipeline.RunOnWriterAsync(() => store.Rollouts.AppendFlag("config", target, enabled, time.GetUtcNow().UtcTicks, actor, reason)).ConfigureAwait(false);
            Volatile.Write(ref _state, Build([.. before.Flags, flag]));
            if (audit is not null)
            {
                await audit.RecordAsync(new AuditRecord(actor, "flag.set", kind + ":" + target, wasEnabled ? "enabled" : "killed",
                    enabled ? "enabled" : "killed", reason)).ConfigureAwait(false);
            }
            return flag;
        }
        finally
        {
            _changes.Release();
        }
    }
}
