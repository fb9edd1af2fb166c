using Showrunner.Core.Partitioning;

namespace Showrunner.Core.Tests;

[Trait("Category", "Unit")]
public sealed class PartitionRouterTests
{
    // The hash is an on-disk contract: these values must never change, or existing data
    // directories would route players to the wrong partition.
    // Values computed independently (Python) from the documented definition.
    [Theory]
    [InlineData("", 0xEFD01F60BA992926UL, 38)]
    [InlineData("player-1", 0xD74127021D25A53FUL, 63)]
    [InlineData("Δ-player-ü", 0x4F26EF051691BF42UL, 66)]
    [InlineData("00000000-0000-4000-8000-000000000000", 0x00B95B8AF56156A6UL, 166)]
    public void Stable_hash_matches_golden_values(string key, ulong expectedHash, int expectedPartitionOf256)
    {
        Assert.Equal(expectedHash, PartitionRouter.StableHash(key));
        Assert.Equal(expectedPartitionOf256, new PartitionRouter(256).PartitionOf(key));
    }

    [Fact]
    public void Stable_hash_is_fnv1a_then_fmix64_over_utf8()
    {
        // Recompute from the documented definition, independently of the implementation.
        static ulong Reference(string key)
        {
            ulong hash = 14695981039346656037UL;
            foreach (byte b in System.Text.Encoding.UTF8.GetBytes(key))
            {
                hash = (hash ^ b) * 1099511628211UL;
            }
            hash ^= hash >> 33;
            hash *= 0xff51afd7ed558ccdUL;
            hash ^= hash >> 33;
            hash *= 0xc4ceb9fe1a85ec53UL;
            hash ^= hash >> 33;
            return hash;
        }
        foreach (string key in new[] { "", "a", "player-1", "Δ-player-ü", new string('x', 1000), "emoji-😀" })
        {
            Assert.Equal(Reference(key), PartitionRouter.StableHash(key));
        }
    }

    [Fact]
    public void Partition_is_hash_modulo_count_and_in_range()
    {
        var router = new PartitionRouter(256);
        for (int i = 0; i < 10_000; i++)
        {
            string player = "player-" + i;
            int partition = router.PartitionOf(player);
            Assert.InRange(partition, 0, 255);
            Assert.Equal((int)(PartitionRouter.StableHash(player) % 256), partition);
        }
    }

    [Fact]
    public void Sequential_player_ids_spread_evenly_over_partitions()
    {
        // 256,000 players over 256 partitions: expect 1,000 each. A chi-square statistic far above
        // its 255 degrees of freedom would mean the low bits are poorly mixed.
        var router = new PartitionRouter(256);
        var counts = new int[256];
        for (int i = 0; i < 256_000; i++)
        {
            counts[router.PartitionOf("player-" + i)]++;
        }
        double chiSquare = counts.Sum(c => (c - 1000.0) * (c - 1000.0) / 1000.0);
        Assert.InRange(chiSquare, 150, 400);
        Assert.All(counts, c => Assert.InRange(c, 850, 1150));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(PartitionRouter.MaxPartitionCount + 1)]
    public void Partition_count_out_of_range_is_refused(int count)
    {
        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => new PartitionRouter(count));
        Assert.Contains("between 1 and", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void One_partition_routes_everything_to_zero()
    {
        var router = new PartitionRouter(1);
        Assert.Equal(0, router.PartitionOf("anyone"));
    }
}
