using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;
using Showrunner.Core.LiveEvents;

namespace Showrunner.Core.Tests.LiveEvents;

/// <summary>
/// Property-based (FsCheck): for any sequence of score updates spread over partitions, every
/// player's global rank and the merged top-N equal a brute-force sort of the final scores.
/// Seeded, so a failure replays: FsCheck prints the smallest failing case it shrank to.
/// </summary>
[Trait("Category", "Fuzz")]
public sealed class LeaderboardPropertyTests
{
    private const ulong Seed = 20261122;
    private const ulong Gamma = 0x9E3779B97F4A7C15; // odd, as SplitMix64 needs

    private static readonly Config Settings = Config.QuickThrowOnFailure
        .WithMaxTest(200)
        .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd(Seed, Gamma), FSharpOption<int>.None)));

    /// <summary>(player 0–29, points 1–6, partition count 1–5): few points and players, so ties are common.</summary>
    private static readonly Arbitrary<(int Partitions, (int Player, int Points)[] Updates)> Updates =
        Gen.Choose(1, 5).SelectMany(partitions => Gen.Zip(Gen.Choose(0, 29), Gen.Choose(1, 6)).ArrayOf().Select(updates => (partitions, updates)))
            .ToArbitrary();

    [Fact]
    public void Ranks_and_top_n_equal_a_brute_force_sort()
    {
        Prop.ForAll(Updates, input =>
        {
            var (partitionCount, updates) = input;
            var boards = Enumerable.Range(0, partitionCount).Select(_ => new PartitionLeaderboard()).ToList();
            var final = new Dictionary<string, LeaderboardEntry>(StringComparer.Ordinal);
            for (int seq = 0; seq < updates.Length; seq++)
            {
                var (player, points) = updates[seq];
                string id = "player-" + player.ToString("D2", System.Globalization.CultureInfo.InvariantCulture);
                int partition = player % partitionCount;
                // Scores only grow, as progress does; the achievement time is the update's.
                long total = (final.TryGetValue(id, out var before) ? before.Points : 0) + points;
                var achieved = new AchievedAt(1000 + seq, partition, seq);
                boards[partition].Update(id, total, achieved);
                final[id] = new LeaderboardEntry(id, total, achieved);
            }
            var expected = final.Values.Order(LeaderboardOrder.Instance).ToList();
            var merged = Leaderboards.MergeTop(boards.Select(b => b.Top(10)).ToList(), 10);
            bool topOk = merged.SequenceEqual(expected.Take(10));
            bool ranksOk = expected.Select((entry, i) =>
            {
                int partition = int.Parse(entry.Player[7..], System.Globalization.CultureInfo.InvariantCulture) % partitionCount;
                return Leaderboards.Rank(boards, partition, entry.Player) == i + 1;
            }).All(ok => ok);
            return topOk && ranksOk;
        }).Check(Settings);
    }
}
