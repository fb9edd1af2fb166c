using Showrunner.Core.Partitioning;

namespace Showrunner.Runtime.Partitions;

/// <summary>
/// Entity-keyed routing: <c>(module, key) → partition</c>, the same in every process and on every
/// machine, for the lifetime of a data directory.
/// </summary>
/// <remarks>
/// The function (docs/internals/runtime.md, "Routing"):
/// <code>
/// partition(module, key) = H(prefix(module) ‖ UTF-8(key)) mod P
/// H(bytes)               = fmix64(FNV-1a-64(bytes))   (PartitionRouter.StableHash)
/// prefix("live")         = empty
/// prefix(m), m ≠ "live"  = UTF-8(m) ‖ 0x00
/// </code>
/// The live-events module routes by player exactly as before the host existed, so data
/// directories written then route identically; every other module's keys are salted with its name,
/// so that one module's hot key does not land on the same partition as another module's entity of
/// the same name. A module name is 1–64 characters of [a-z0-9_-], so it never contains the 0x00
/// separator. Never <see cref="string.GetHashCode()"/> (randomised per process). Pinned by golden
/// values in the tests.
/// </remarks>
public sealed class EntityRouter
{
    /// <summary>The module whose keys route without a prefix (the player hash of data directories created before the host).</summary>
    public const string UnprefixedModule = "live";

    public EntityRouter(int partitionCount)
    {
        if (partitionCount is < 1 or > PartitionRouter.MaxPartitionCount)
        {
            throw new ArgumentOutOfRangeException(nameof(partitionCount), partitionCount,
                $"The partition count must be between 1 and {PartitionRouter.MaxPartitionCount}.");
        }
        PartitionCount = partitionCount;
    }

    public int PartitionCount { get; }

    /// <summary>The partition that owns entity <paramref name="key"/> of <paramref name="module"/>.</summary>
    public int PartitionOf(string module, string key) => (int)(Hash(module, key) % (ulong)PartitionCount);

    /// <summary>The stable 64-bit hash of <c>(module, key)</c> (see the type's remarks).</summary>
    public static ulong Hash(string module, string key)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(key);
        return string.Equals(module, UnprefixedModule, StringComparison.Ordinal)
            ? PartitionRouter.StableHash(key)
            : PartitionRouter.StableHash(string.Concat(module, "\0", key));
    }

    /// <summary>Whether <paramref name="name"/> may name a module: 1–64 characters of [a-z0-9_-].</summary>
    public static bool IsValidModuleName(string? name) =>
        name is { Length: >= 1 and <= 64 } && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' or '-');
}
