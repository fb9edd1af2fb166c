using System.Text;
using Microsoft.Extensions.Logging;
using Showrunner.Core.Rules.Bundle;
using Showrunner.Core.Rules.Releases;
using Showrunner.Core.Rules.Syntax;
using Showrunner.Runtime.Ingest;
using Showrunner.Storage;

namespace Showrunner.Runtime.Releases;

public enum PublishStatus
{
    Created,
    /// <summary>A release with the same id was already published: nothing changed.</summary>
    Existing,
    /// <summary>The bundle does not check, or is not in canonical form.</summary>
    Invalid,
    /// <summary>The bundle's SHA-256 is not the id the sender expected.</summary>
    HashMismatch,
}

public sealed record PublishResult(PublishStatus Status, StoredRelease? Release, IReadOnlyList<Diagnostic> Diagnostics, string? ComputedId = null);

public enum ChangeStatus
{
    /// <summary>The register moved to a new version and the release is in force on every partition.</summary>
    Changed,
    /// <summary>The release asked for is already active: nothing changed.</summary>
    Unchanged,
    ReleaseNotFound,
    /// <summary>The register is not at the expected version: someone else changed it first.</summary>
    VersionConflict,
    /// <summary>The candidate would change what players of a live event already earned (<see cref="ChangeResult.Problems"/>).</summary>
    Incompatible,
    /// <summary>Rollback: the active release was not activated over another one.</summary>
    NothingToRollBack,
    /// <summary>A staged rollout is running: the register moves only when it completes (or after it is rolled back).</summary>
    RolloutInProgress,
}

public sealed record ChangeResult(ChangeStatus Status, RegisterEntry? Entry, long CurrentVersion, IReadOnlyList<(string Code, string Event, string Message)> Problems)
{
    public static ChangeResult Of(ChangeStatus status, RegisterEntry? entry) => new(status, entry, entry?.Version ?? 0, []);
}

/// <summary>
/// The active-release register: publishes bundles, and activates or rolls back releases by
/// compare-and-set on the register's version. A change is durable in the store first, then put in
/// force on every partition (<see cref="IngestPipeline.SwitchReleaseAsync"/>); the call returns only
/// after both. Changes are serialized, so partitions see them in register order.
/// </summary>
/// <remarks>
/// Rollback returns to the release the current one replaced (the register row's <c>restores</c>), so
/// successive rollbacks undo activations one by one. It skips the compatibility check on purpose:
/// it is the emergency lever, and what the rolled-back release granted stays granted.
/// </remarks>
public sealed partial class ReleaseRegister : IDisposable
{
    /// <summary>Most releases kept loaded (compiled) at once besides the active one.</summary>
    public const int LoadedCacheSize = 8;

    private readonly IReleaseStore _store;
    private readonly IngestPipeline _pipeline;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _changes = new(1, 1);
    private readonly Lock _cacheLock = new();
    private readonly Dictionary<long, RuntimeRelease> _loaded = [];
    private readonly LinkedList<long> _recent = new();
    private RegisterEntry? _current;

    public ReleaseRegister(IActionStore store, IngestPipeline pipeline, TimeProvider time, ILogger<ReleaseRegister> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store.Releases;
        _pipeline = pipeline;
        _time = time;
        _logger = logger;
    }

    /// <summary>Set by the rollout controller: a reason the register may not be changed directly now, or null.</summary>
    public Func<string?>? ChangeGuard { get; set; }

    /// <summary>The register's latest version, or null while no release was ever activated.</summary>
    public RegisterEntry? Current => Volatile.Read(ref _current);

    /// <summary>
    /// Reads the register and puts its release in force (call before the pipeline starts). On an
    /// empty register, publishes and activates the release <paramref name="example"/> builds, when
    /// given (built only then: a data directory that already has a register pays nothing).
    /// </summary>
    internal async Task InitializeAsync(Func<ReleaseBundle>? example)
    {
        var current = _store.Current();
        if (current is null && example?.Invoke() is { } bundle)
        {
            var (stored, _) = _store.Publish(bundle.Id, bundle.Release.Name, bundle.MerkleRoot, bundle.CanonicalBytes, _time.GetUtcNow().UtcTicks);
            current = _store.TryAdvance(0, stored.Ref, 0, "example", "example release loaded on an empty register", _time.GetUtcNow().UtcTicks);
            if (current is not null)
            {
                LogExampleLoaded(_logger, bundle.Release.Name, bundle.Id);
            }
        }
        Volatile.Write(ref _current, current);
        await _pipeline.SwitchReleaseAsync(current is null ? null : Loaded(current.Release)).ConfigureAwait(false);
        if (current is not null)
        {
            LogActive(_logger, current.Release.Name, current.Release.Id, current.Version);
        }
    }

    /// <summary>Checks a bundle (canonical text) and stores it. Publishing never changes what is active.</summary>
    public async Task<PublishResult> PublishAsync(byte[] bundleBytes, string? expectedId)
    {
        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(bundleBytes);
        }
        catch (DecoderFallbackException)
        {
            var source = new SourceText("bundle.hcl", "");
            return new PublishResult(PublishStatus.Invalid, null, [new Diagnostic("bundle.encoding", "The bundle is not valid UTF-8.", source.Span(0, 0), "")]);
        }
        var (bundle, diagnostics) = ReleaseBundle.Load(text);
        if (bundle is null)
        {
            return new PublishResult(PublishStatus.Invalid, null, diagnostics);
        }
        if (expectedId is not null && !string.Equals(expectedId, bundle.Id, StringComparison.OrdinalIgnoreCase))
        {
            return new PublishResult(PublishStatus.HashMismatch, null, diagnostics, bundle.Id);
        }
        if (_store.Find(bundle.Id) is { } existing)
        {
            return new PublishResult(PublishStatus.Existing, existing, diagnostics);
        }
        // Compiled before it is stored, so a release that is published can always be loaded.
        var loaded = LoadedRelease.From(bundle);
        var (stored, created) = await _pipeline.RunOnWriterAsync(() =>
            _store.Publish(bundle.Id, bundle.Release.Name, bundle.MerkleRoot, bundle.CanonicalBytes, _time.GetUtcNow().UtcTicks)).ConfigureAwait(false);
        if (created)
        {
            LogPublished(_logger, stored.Name, stored.Id, stored.Size);
            Cache(new RuntimeRelease(stored.Ref, loaded));
        }
        return new PublishResult(created ? PublishStatus.Created : PublishStatus.Existing, stored, diagnostics);
    }

    /// <summary>Makes release <paramref name="id"/> active, if the register is still at <paramref name="expectedVersion"/> (when given) and the release is compatible with the active one.</summary>
    public async Task<ChangeResult> ActivateAsync(string id, long? expectedVersion, string? reason)
    {
        var target = _store.Find(id);
        if (target is null)
        {
            return ChangeResult.Of(ChangeStatus.ReleaseNotFound, Current);
        }
        await _changes.WaitAsync().ConfigureAwait(false);
        try
        {
            var current = Current;
            long version = current?.Version ?? 0;
            if (ChangeGuard?.Invoke() is not null)
            {
                return ChangeResult.Of(ChangeStatus.RolloutInProgress, current);
            }
            if (expectedVersion is { } expected && expected != version)
            {
                return ChangeResult.Of(ChangeStatus.VersionConflict, current);
            }
            if (current?.Release.Ref == target.Ref)
            {
                return ChangeResult.Of(ChangeStatus.Unchanged, current);
            }
            var candidate = Loaded(target);
            if (current is not null)
            {
                var problems = ReleaseCompatibility.Check(Loaded(current.Release).Loaded.Bundle, candidate.Loaded.Bundle, _time.GetUtcNow());
                if (problems.Count > 0)
                {
                    return new ChangeResult(ChangeStatus.Incompatible, current, version, [.. problems.Select(p => (p.Code, p.EventId, p.Message))]);
                }
            }
            return await AdvanceAsync(current, candidate, restores: version, "activate", reason).ConfigureAwait(false);
        }
        finally
        {
            _changes.Release();
        }
    }

    /// <summary>Returns to the release the active one replaced.</summary>
    public async Task<ChangeResult> RollbackAsync(long? expectedVersion, string? reason)
    {
        await _changes.WaitAsync().ConfigureAwait(false);
        try
        {
            var current = Current;
            long version = current?.Version ?? 0;
            if (ChangeGuard?.Invoke() is not null)
            {
                return ChangeResult.Of(ChangeStatus.RolloutInProgress, current);
            }
            if (expectedVersion is { } expected && expected != version)
            {
                return ChangeResult.Of(ChangeStatus.VersionConflict, current);
            }
            if (current is null || current.Restores == 0 || _store.ReadVersion(current.Restores) is not { } previous)
            {
                return ChangeResult.Of(ChangeStatus.NothingToRollBack, current);
            }
            return await AdvanceAsync(current, Loaded(previous.Release), previous.Restores, "rollback", reason).ConfigureAwait(false);
        }
        finally
        {
            _changes.Release();
        }
    }

    /// <summary>
    /// A completed rollout makes its candidate the active release (register kind <c>rollout</c>;
    /// checked for compatibility when the rollout started). A later rollback returns to the baseline.
    /// </summary>
    public async Task<ChangeResult> PromoteAsync(StoredRelease candidate, string reason)
    {
        await _changes.WaitAsync().ConfigureAwait(false);
        try
        {
            var current = Current;
            return await AdvanceAsync(current, Loaded(candidate), restores: current?.Version ?? 0, "rollout", reason).ConfigureAwait(false);
        }
        finally
        {
            _changes.Release();
        }
    }

    private async Task<ChangeResult> AdvanceAsync(RegisterEntry? current, RuntimeRelease release, long restores, string kind, string? reason)
    {
        long version = current?.Version ?? 0;
        long at = _time.GetUtcNow().UtcTicks;
        var entry = await _pipeline.RunOnWriterAsync(() => _store.TryAdvance(version, release.Ref, restores, kind, reason, at)).ConfigureAwait(false);
        if (entry is null)
        {
            // Only this process writes the register of its data directory, so this means the store
            // changed under us; report the version it holds now.
            var now = _store.Current();
            Volatile.Write(ref _current, now);
            return ChangeResult.Of(ChangeStatus.VersionConflict, now);
        }
        Volatile.Write(ref _current, entry);
        await _pipeline.SwitchReleaseAsync(release).ConfigureAwait(false);
        LogChanged(_logger, kind, entry.Release.Name, entry.Release.Id, entry.Version, current?.Release.Id ?? "none");
        return ChangeResult.Of(ChangeStatus.Changed, entry);
    }

    /// <summary>The loaded (compiled) form of a stored release, from the cache or the store.</summary>
    public RuntimeRelease Loaded(StoredRelease release)
    {
        lock (_cacheLock)
        {
            if (_loaded.TryGetValue(release.Ref, out var cached))
            {
                _recent.Remove(release.Ref);
                _recent.AddFirst(release.Ref);
                return cached;
            }
        }
        byte[] bytes = _store.ReadBundle(release.Ref) ?? throw new InvalidDataException($"Release {release.Id} has no stored bundle.");
        var loaded = RuntimeRelease.Load(release.Ref, Encoding.UTF8.GetString(bytes));
        Cache(loaded);
        return loaded;
    }

    private void Cache(RuntimeRelease release)
    {
        lock (_cacheLock)
        {
            if (_loaded.TryAdd(release.Ref, release))
            {
                _recent.AddFirst(release.Ref);
            }
            while (_recent.Count > LoadedCacheSize + 1)
            {
                long evict = _recent.Last!.Value;
                _recent.RemoveLast();
                _loaded.Remove(evict);
            }
        }
    }

    public void Dispose() => _changes.Dispose();

    [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "Example release {Name} ({Id}) published and activated on an empty register")]
    private static partial void LogExampleLoaded(ILogger logger, string name, string id);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Active release: {Name} ({Id}), register version {Version}")]
    private static partial void LogActive(ILogger logger, string name, string id, long version);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Release {Name} ({Id}) published, {Size} bytes")]
    private static partial void LogPublished(ILogger logger, string name, string id, int size);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Release register {Kind}: {Name} ({Id}) is active at version {Version}, replacing {Previous}")]
    private static partial void LogChanged(ILogger logger, string kind, string name, string id, long version, string previous);
}
