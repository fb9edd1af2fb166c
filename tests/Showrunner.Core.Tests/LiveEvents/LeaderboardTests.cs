using Showrunner.Core.LiveEvents;
using Showrunner.Core.Partitioning;
using Xunit.Abstractions;
using static Showrunner.Core.Tests.LiveEvents.LiveEventFixtures;

namespace Showrunner.Core.Tests.LiveEvents;

/// <summary>
/// Leaderboards: per-partition order-statistic trees and their cross-partition merge give exactly
/// what sorting every player by (points desc, achieved-at asc, player id ordinal) gives, with
/// many ties; prize ranges map final ranks to rewards.
/// </summary>
[Trait("Category", "Unit")]
public sealed class LeaderboardTests(ITestOutputHelper output)
{
    private static List<LeaderboardEntry> BruteForce(IEnumerable<LeaderboardEntry> entries) =>
        [.. entries.Where(e => e.Points > 0).Order(LeaderboardOrder.Instance)];

    [Fact]
    public void Order_is_points_then_earlier_achievement_then_player_id()
    {
        var early = new AchievedAt(100, 5, 9);
        var later = new AchievedAt(100, 6, 1);
        var order = LeaderboardOrder.Instance;
        Assert.True(order.Compare(new("b", 10, later), new("a", 9, early)) < 0);
        Assert.True(order.Compare(new("b", 10, early), new("a", 10, later)) < 0);
        Assert.True(order.Compare(new("a", 10, early), new("b", 10, early)) < 0);
        Assert.True(order.Compare(new("B", 10, early), new("a", 10, early)) < 0); // ordinal, not culture
        Assert.True(new AchievedAt(99, 9, 9) < new AchievedAt(100, 0, 0));
        Assert.True(new AchievedAt(100, 5, 8) < early);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(16)]
    public void Seeded_ranks_and_top_lists_equal_a_brute_force_sort(int partitionCount)
    {
        int seed = 20250724 + partitionCount;
        output.WriteLine($"seed={seed}");
        var random = new Random(seed);
        var router = new PartitionRouter(partitionCount);
        var boards = Enumerable.Range(0, partitionCount).Select(_ => new PartitionLeaderboard()).ToList();
        var truth = new Dictionary<string, LeaderboardEntry>(StringComparer.Ordinal);
        var players = Enumerable.Range(0, 600).Select(i => "player-" + i).ToList();

        for (int step = 0; step < 6000; step++)
        {
            string player = players[random.Next(players.Count)];
            // Few distinct points and times: many ties on points and on achieved-at ticks.
            long points = random.Next(8) == 0 ? 0 : random.Next(1, 12);
            var achieved = new AchievedAt(random.Next(0, 5), router.PartitionOf(player), random.Next(0, 3));
            boards[router.PartitionOf(player)].Update(player, points, achieved);
            truth[player] = new LeaderboardEntry(player, points, achieved);

            if (step % 500 != 499)
            {
                continue;
            }
            var sorted = BruteForce(truth.Values);
            Assert.Equal(sorted.Count, boards.Sum(b => b.Count));

            foreach (var (board, partition) in boards.Select((b, i) => (b, i)))
            {
                var expected = sorted.Where(e => router.PartitionOf(e.Player) == partition).ToList();
                Assert.Equal(expected, board.Top(PartitionLeaderboard.MaxTop));
                Assert.Equal(expected.Take(7), board.Top(7));
            }

            foreach (int n in new[] { 0, 1, 10, 100, 1000 })
            {
                var tops = boards.Select(b => b.Top(Math.Min(n, PartitionLeaderboard.MaxTop))).ToList();
                Assert.Equal(sorted.Take(n), Leaderboards.MergeTop(tops, n));
            }

            for (int i = 0; i < sorted.Count; i++)
            {
                var entry = sorted[i];
                Assert.Equal(i + 1L, Leaderboards.Rank(boards, router.PartitionOf(entry.Player), entry.Player));
            }
            foreach (var absent in truth.Values.Where(e => e.Points <= 0).Select(e => e.Player).Append("never-played"))
            {
                Assert.Null(Leaderboards.Rank(boards, router.PartitionOf(absent), absent));
            }

            // Arbitrary probe keys, on the board or not: strictly ahead means sorted before.
            for (int probe = 0; probe < 50; probe++)
            {
                var key = new LeaderboardEntry(players[random.Next(players.Count)], random.Next(0, 13), new AchievedAt(random.Next(0, 5), random.Next(partitionCount), random.Next(0, 3)));
                long expectedAhead = sorted.Count(e => LeaderboardOrder.Instance.Compare(e, key) < 0);
                Assert.Equal(expectedAhead + 1, Leaderboards.RankOf(boards.Select(b => (long)b.CountAhead(key))));
            }
        }
    }

    [Fact]
    public void Merge_refuses_a_player_in_two_partitions_and_unsorted_lists()
    {
        var entry = new LeaderboardEntry("p", 5, new AchievedAt(1, 0, 1));
        Assert.Throws<ArgumentException>(() => Leaderboards.MergeTop([[entry], [entry with { AchievedAt = new AchievedAt(2, 1, 1) }]], 10));
        var low = new LeaderboardEntry("q", 1, new AchievedAt(1, 0, 2));
        Assert.Throws<ArgumentException>(() => Leaderboards.MergeTop([[low, entry]], 10));
    }

    [Fact]
    public void Updating_to_zero_points_removes_the_player()
    {
        var board = new PartitionLeaderboard();
        board.Update("a", 5, new AchievedAt(1, 0, 1));
        board.Update("b", 7, new AchievedAt(2, 0, 2));
        board.Update("a", 9, new AchievedAt(3, 0, 3));
        Assert.Equal(["a", "b"], board.Top(10).Select(e => e.Player));
        board.Update("a", 0, new AchievedAt(4, 0, 4));
        Assert.Equal(["b"], board.Top(10).Select(e => e.Player));
        Assert.Null(board.Find("a"));
        Assert.Throws<ArgumentOutOfRangeException>(() => board.Top(PartitionLeaderboard.MaxTop + 1));
    }

    [Fact]
    public void Prize_ranges_map_final_ranks_to_rewards_in_rank_order()
    {
        var definition = Release("""
            start    = "2025-07-24T16:00:00Z"
            duration = "2h"
            """, OneObjective + "\n" + """
            leaderboard {
              prize "1"   { reward = { gems = 100 } }
              prize "2-3" { reward = { gems = 50 } }
              prize "5-5" { reward = { gems = 5 } }
            }
            """).Events[0];
        Assert.Equal(5, Prizes.DeepestRank(definition));
        Assert.Null(Prizes.For(definition, 4));
        Assert.Null(Prizes.For(definition, 6));
        Assert.Equal(50, Prizes.For(definition, 3)!.Reward.Lines[0].Amount);

        var top = Enumerable.Range(0, 7).Select(i => new LeaderboardEntry("p" + i, 100 - i, new AchievedAt(i, 0, i))).ToList();
        var causes = Prizes.Causes(definition, 2, top);
        Assert.Equal(
            [("p0", "prize:1-1", 100L), ("p1", "prize:2-3", 50L), ("p2", "prize:2-3", 50L), ("p4", "prize:5-5", 5L)],
            causes.Select(c => (c.Player, c.Rule, c.Reward.Lines[0].Amount)));
        Assert.All(causes, c => Assert.Equal(("ev", 2L, GrantRules.Finalization), (c.EventId, c.Run, c.CauseId)));
        // Fewer players than prizes: only the ranks that exist are paid.
        Assert.Single(Prizes.Causes(definition, 2, top.Take(1).ToList()));
        // The same input gives the same causes (finalization may run again after a crash).
        Assert.Equal(causes.Select(c => (c.Player, c.Rule)), Prizes.Causes(definition, 2, top).Select(c => (c.Player, c.Rule)));
        Assert.Throws<ArgumentException>(() => Prizes.Causes(definition, 2, [top[1], top[0]]));
    }
}
