using Showrunner.Core.Rules.Releases;

namespace Showrunner.Runtime.Ingest;

/// <summary>A loaded release and the store's reference for it, which every action it sequences records.</summary>
public sealed class RuntimeRelease
{
    internal RuntimeRelease(long releaseRef, LoadedRelease loaded)
    {
        Ref = releaseRef;
        Loaded = loaded;
    }

    /// <summary>The store's <see cref="Storage.StoredRelease.Ref"/>.</summary>
    public long Ref { get; }
    public string Id => Loaded.Id;
    public string Name => Loaded.Name;
    internal LoadedRelease Loaded { get; }

    /// <summary>Loads a stored bundle; throws if the bundle no longer checks (it was checked when it was published).</summary>
    public static RuntimeRelease Load(long releaseRef, string canonicalText)
    {
        var (loaded, diagnostics) = LoadedRelease.Load(canonicalText);
        if (loaded is null)
        {
            throw new InvalidDataException($"Stored release {releaseRef} does not load: " +
                string.Join("; ", diagnostics.Where(d => d.Severity == Core.Rules.Syntax.Severity.Error).Take(3).Select(d => d.Code + " " + d.Message)));
        }
        return new RuntimeRelease(releaseRef, loaded);
    }
}
