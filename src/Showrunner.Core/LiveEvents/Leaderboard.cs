using Showrunner.Core.Partitioning;
using Showrunner.Core.Rules.Model;

namespace Showrunner.Core.LiveEvents;

/// <summary>A player's place on a run's leaderboard.</summary>
public readonly record struct LeaderboardEntry(string Player, long Points, AchievedAt AchievedAt);

/// <summary>
/// The one leaderboard order: more points first; among equal points, the earlier
/// <see cref="AchievedAt"/> first (ingest ticks, then partition, then seq); then player id by
/// ordinal. Two different players never compare equal, so ranks are a strict order.
/// </summary>
internal sealed class LeaderboardOrder : IComparer<LeaderboardEntry>
{
    public static readonly LeaderboardOrder Instance = new();

    private LeaderboardOrder()
    {
    }

    /// <summary>Negative when <paramref name="x"/> ranks ahead of <paramref name="y"/>.</summary>
    public int Compare(LeaderboardEntry x, LeaderboardEntry y)
    {
        int byPoints = y.Points.CompareTo(x.Points);
        if (byPoints != 0)
        {
            return byPoints;
        }
        int byTime = x.AchievedAt.CompareTo(y.AchievedAt);
        return byTime != 0 ? byTime : string.CompareOrdinal(x.Player, y.Player);
    }
}

/// <summary>
/// One partition's leaderboard of one run: every player of the partition with points &gt; 0,
/// in <see cref="LeaderboardOrder"/>. An order-statistic tree (a treap whose priorities are the
/// stable hash of the player id, so its shape does not depend on insertion order or on a random
/// source): update, top-N and "how many are strictly ahead of this key" in O(log n) expected.
/// Owned by its partition's single writer; not thread-safe.
/// </summary>
public sealed class PartitionLeaderboard
{
    /// <summary>The most entries one <see cref="Top"/> call returns (the deepest prize rank is 10,000).</summary>
    public const int MaxTop = 10_000;

    /// <summary>
    /// Each player's entry, kept only by callers of <see cref="Update"/>/<see cref="Find"/>. The
    /// partition's live state uses <see cref="Move"/> instead: it knows every player's previous
    /// entry, and a dictionary per run per partition would cost about 60 bytes per player per run.
    /// </summary>
    private Dictionary<string, LeaderboardEntry>? _entries;
    private Node? _root;

    public int Count => Size(_root);

    /// <summary>The player's entry, or null when they have no points in this run (boards maintained with <see cref="Update"/>).</summary>
    public LeaderboardEntry? Find(string player) =>
        (_entries ?? throw new InvalidOperationException("This board is maintained with Move: ask the player's progress for its entry."))
            .TryGetValue(player, out var entry) ? entry : null;

    /// <summary>Sets a player's score; points ≤ 0 remove the player (only players with progress are ranked).</summary>
    public void Update(string player, long points, AchievedAt achievedAt)
    {
        ArgumentNullException.ThrowIfNull(player);
        if (_entries is null)
        {
            if (_root is not null)
            {
                throw new InvalidOperationException("This board is maintained with Move, not Update.");
            }
            _entries = new Dictionary<string, LeaderboardEntry>(StringComparer.Ordinal);
        }
        if (_entries.Remove(player, out var old))
        {
            _root = Delete(_root, old, out _);
        }
        if (points > 0)
        {
            var entry = new LeaderboardEntry(player, points, achievedAt);
            _entries.Add(player, entry);
            _root = Insert(_root, new Node(entry, PartitionRouter.StableHash(player)));
        }
    }

    /// <summary>
    /// Moves a player from entry <paramref name="from"/> (null when they were not on the board) to
    /// <paramref name="to"/> (removed when its points are ≤ 0). The caller owns the previous entry.
    /// </summary>
    public void Move(LeaderboardEntry? from, LeaderboardEntry to)
    {
        if (_entries is not null)
        {
            throw new InvalidOperationException("This board is maintained with Update, not Move.");
        }
        Node? reused = null;
        if (from is { } old)
        {
            _root = Delete(_root, old, out reused);
        }
        if (to.Points > 0)
        {
            // The player's own node goes back in with its new entry: no allocation per score
            // change (each would also be a young object referenced from old ones, work for every GC).
            var node = reused ?? new Node(to, PartitionRouter.StableHash(to.Player));
            node.Reset(to);
            _root = Insert(_root, node);
        }
    }

    /// <summary>The number of entries that rank strictly ahead of <paramref name="key"/> (which need not be on the board).</summary>
    public int CountAhead(LeaderboardEntry key)
    {
        int count = 0;
        var node = _root;
        while (node is not null)
        {
            if (LeaderboardOrder.Instance.Compare(node.Entry, key) < 0)
            {
                count += Size(node.Left) + 1;
                node = node.Right;
            }
            else
            {
                node = node.Left;
            }
        }
        return count;
    }

    /// <summary>The first <paramref name="count"/> entries in leaderboard order (at most <see cref="MaxTop"/>).</summary>
    public IReadOnlyList<LeaderboardEntry> Top(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, MaxTop);
        var top = new List<LeaderboardEntry>(Math.Min(count, Count));
        var stack = new Stack<Node>();
        var node = _root;
        while (top.Count < count && (node is not null || stack.Count > 0))
        {
            while (node is not null)
            {
                stack.Push(node);
                node = node.Left;
            }
            node = stack.Pop();
            top.Add(node.Entry);
            node = node.Right;
        }
        return top;
    }

    private static int Size(Node? node) => node?.Size ?? 0;

    private static Node Insert(Node? root, Node node)
    {
        if (root is null)
        {
            return node;
        }
        if (node.Priority > root.Priority)
        {
            (node.Left, node.Right) = Split(root, node.Entry);
            node.Update();
            return node;
        }
        if (LeaderboardOrder.Instance.Compare(node.Entry, root.Entry) < 0)
        {
            root.SetLeft(Insert(root.Left, node));
        }
        else
        {
            root.SetRight(Insert(root.Right, node));
        }
        root.Size++;
        return root;
    }

    private static Node? Delete(Node? root, LeaderboardEntry entry, out Node? removed)
    {
        if (root is null)
        {
            throw new InvalidOperationException($"Leaderboard entry of {entry.Player} is missing from the tree.");
        }
        int order = LeaderboardOrder.Instance.Compare(entry, root.Entry);
        if (order == 0)
        {
            removed = root;
            return Merge(root.Left, root.Right);
        }
        if (order < 0)
        {
            root.SetLeft(Delete(root.Left, entry, out removed));
        }
        else
        {
            root.SetRight(Delete(root.Right, entry, out removed));
        }
        root.Size--;
        return root;
    }

    // Splits into the entries ahead of key and the rest.
    private static (Node? Ahead, Node? Behind) Split(Node? root, LeaderboardEntry key)
    {
        if (root is null)
        {
            return (null, null);
        }
        if (LeaderboardOrder.Instance.Compare(root.Entry, key) < 0)
        {
            (root.Right, var rest) = Split(root.Right, key);
            root.Update();
            return (root, rest);
        }
        (var ahead, root.Left) = Split(root.Left, key);
        root.Update();
        return (ahead, root);
    }

    private static Node? Merge(Node? ahead, Node? rest)
    {
        if (ahead is null)
        {
            return rest;
        }
        if (rest is null)
        {
            return ahead;
        }
        if (ahead.Priority >= rest.Priority)
        {
            ahead.Right = Merge(ahead.Right, rest);
            ahead.Update();
            return ahead;
        }
        rest.Left = Merge(ahead, rest.Left);
        rest.Update();
        return rest;
    }

    private sealed class Node(LeaderboardEntry entry, ulong priority)
    {
        public LeaderboardEntry Entry { get; private set; } = entry;
        public ulong Priority { get; } = priority;
        public Node? Left { get; set; }
        public Node? Right { get; set; }
        public int Size { get; set; } = 1;

        public void Update() => Size = 1 + PartitionLeaderboard.Size(Left) + PartitionLeaderboard.Size(Right);

        /// <summary>Makes the node a lone leaf holding <paramref name="entry"/> (of the same player: the priority stays).</summary>
        public void Reset(LeaderboardEntry entry)
        {
            Entry = entry;
            Left = null;
            Right = null;
            Size = 1;
        }

        // Reference writes into long-lived nodes mark GC cards; skip the ones that change nothing.
        public void SetLeft(Node? node)
        {
            if (!ReferenceEquals(Left, node))
            {
                Left = node;
            }
        }

        public void SetRight(Node? node)
        {
            if (!ReferenceEquals(Right, node))
            {
                Right = node;
            }
        }
    }
}

/// <summary>
/// Combining per-partition leaderboards of one run. Each player lives in exactly one partition,
/// so the global order is the merge of the partitions' orders, and a player's global rank is one
/// plus the entries strictly ahead of them in every partition (their own included).
/// </summary>
public static class Leaderboards
{
    /// <summary>
    /// The global top <paramref name="count"/> from each partition's top <paramref name="count"/>
    /// (or more), by k-way merge. Throws if a player appears twice (a player has one partition).
    /// </summary>
    public static IReadOnlyList<LeaderboardEntry> MergeTop(IReadOnlyList<IReadOnlyList<LeaderboardEntry>> partitionTops, int count)
    {
        ArgumentNullException.ThrowIfNull(partitionTops);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var merged = new List<LeaderboardEntry>();
        var heads = new PriorityQueue<(int List, int Position), LeaderboardEntry>(LeaderboardOrder.Instance);
        for (int list = 0; list < partitionTops.Count; list++)
        {
            if (partitionTops[list].Count > 0)
            {
                heads.Enqueue((list, 0), partitionTops[list][0]);
            }
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (merged.Count < count && heads.TryDequeue(out var head, out var entry))
        {
            if (!seen.Add(entry.Player))
            {
                throw new ArgumentException($"Player {entry.Player} appears in more than one partition's leaderboard.", nameof(partitionTops));
            }
            if (merged.Count > 0 && LeaderboardOrder.Instance.Compare(merged[^1], entry) >= 0)
            {
                throw new ArgumentException("A partition's top list is not in leaderboard order.", nameof(partitionTops));
            }
            merged.Add(entry);
            var source = partitionTops[head.List];
            if (head.Position + 1 < source.Count)
            {
                heads.Enqueue((head.List, head.Position + 1), source[head.Position + 1]);
            }
        }
        return merged;
    }

    /// <summary>
    /// The global rank (1-based) of <paramref name="player"/>, who lives in partition
    /// <paramref name="playerPartition"/>, or null when they have no points in the run.
    /// </summary>
    public static long? Rank(IReadOnlyList<PartitionLeaderboard> partitions, int playerPartition, string player)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        if (partitions[playerPartition].Find(player) is not { } entry)
        {
            return null;
        }
        return RankOf(partitions.Select(p => (long)p.CountAhead(entry)));
    }

    /// <summary>One plus the per-partition counts of entries strictly ahead of a key.</summary>
    public static long RankOf(IEnumerable<long> countsAhead)
    {
        ArgumentNullException.ThrowIfNull(countsAhead);
        long rank = 1;
        foreach (long count in countsAhead)
        {
            rank = checked(rank + count);
        }
        return rank;
    }
}

/// <summary>Leaderboard prizes: which prize range a final rank falls in, and the grants of a finalized run.</summary>
public static class Prizes
{
    /// <summary>The deepest rank any prize pays (0 without prizes): how many entries finalization needs from each partition.</summary>
    public static int DeepestRank(EventDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        return definition.Prizes.Count == 0 ? 0 : definition.Prizes.Max(p => p.ToRank);
    }

    /// <summary>The prize for final rank <paramref name="rank"/> (1-based), or null.</summary>
    public static PrizeDefinition? For(EventDefinition definition, long rank)
    {
        ArgumentNullException.ThrowIfNull(definition);
        foreach (var prize in definition.Prizes)
        {
            if (rank >= prize.FromRank && rank <= prize.ToRank)
            {
                return prize;
            }
        }
        return null;
    }

    /// <summary>
    /// The prize grants of a run, from the global top list (in leaderboard order, at least
    /// <see cref="DeepestRank"/> long when that many players have points): rank = position + 1; cause id
    /// <see cref="GrantRules.Finalization"/>; rule <c>prize:&lt;from&gt;-&lt;to&gt;</c>. In rank order.
    /// </summary>
    public static IReadOnlyList<OwedGrant> Causes(EventDefinition definition, long run, IReadOnlyList<LeaderboardEntry> globalTop)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(globalTop);
        var causes = new List<OwedGrant>();
        for (int position = 0; position < globalTop.Count; position++)
        {
            if (position > 0 && LeaderboardOrder.Instance.Compare(globalTop[position - 1], globalTop[position]) >= 0)
            {
                throw new ArgumentException("The top list is not in leaderboard order.", nameof(globalTop));
            }
            if (For(definition, position + 1L) is { } prize)
            {
                causes.Add(new OwedGrant(definition.Id, run, globalTop[position].Player, GrantRules.Prize(prize), GrantRules.Finalization, prize.Reward));
            }
        }
        return causes;
    }
}
