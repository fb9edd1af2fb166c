using System.Globalization;
using System.Text;

namespace Showrunner.Server.Demo;

/// <summary>One action the simulator produced: its id, player, type and <c>data</c> object as JSON.</summary>
internal readonly record struct SimulatedAction(string Id, string Player, string Type, string DataJson);

/// <summary>A simulated player: who they are (their profile) and how often they play.</summary>
internal sealed record SimulatedPlayer(string Id, int Level, string Region, string Platform, string Language);

/// <summary>
/// A seeded population of players and the stream of actions they send, in the example release's
/// action types (<c>examples/summer-week-1</c>): each player sends its <c>player.profile</c> first
/// (level, region, platform, language), then plays — mostly <c>combat.kill</c> (dragons among
/// goblins, wolves, trolls and wyverns, in the Crystal Caves and elsewhere), <c>loot.open</c> (chests
/// of tier 1 to 5, rarer the higher) and now and then a level-up profile.
/// </summary>
/// <remarks>
/// Deterministic: the same seed and player count give the same players and the same sequence of
/// (player, type, data); ids are the caller's prefix and a running number. How often a player acts
/// follows a Zipf-like law (weight 1/rank^0.8, ranks shuffled by the seed): a few players play a
/// lot, which is what makes a leaderboard. About a fifth of the players are under level 10 and a
/// third outside the event's regions (eu, na), so the event's audience is a real subset.
/// Single-threaded; one instance per stream.
/// </remarks>
internal sealed class PlayerSimulator
{
    public const string ProfileType = "player.profile";
    public const string KillType = "combat.kill";
    public const string LootType = "loot.open";

    private static readonly string[] Adjectives =
        ["Brave", "Swift", "Silent", "Crimson", "Lucky", "Iron", "Frost", "Shadow", "Golden", "Wild", "Stormy", "Clever", "Mighty", "Sly", "Ember", "Azure"];
    private static readonly string[] Creatures =
        ["Drake", "Wolf", "Falcon", "Viper", "Bear", "Lynx", "Raven", "Golem", "Otter", "Badger", "Kraken", "Phoenix", "Stag", "Mantis", "Wyrm", "Fox"];
    private static readonly (string Value, int Weight)[] Regions = [("eu", 40), ("na", 30), ("asia", 20), ("sa", 10)];
    private static readonly (string Value, int Weight)[] Platforms = [("pc", 45), ("ps5", 20), ("xbox", 10), ("switch", 10), ("mobile", 15)];
    private static readonly (string Value, int Weight)[] Languages = [("en", 50), ("de", 12), ("fr", 12), ("es", 10), ("ja", 8), ("pt", 8)];
    private static readonly (string Value, int Weight)[] Targets = [("dragon", 25), ("goblin", 30), ("wolf", 20), ("troll", 15), ("wyvern", 10)];
    private static readonly (string Value, int Weight)[] Zones = [("crystal_caves", 50), ("ember_peaks", 25), ("sunken_grotto", 25)];
    private static readonly (int Value, int Weight)[] ChestTiers = [(1, 35), (2, 25), (3, 20), (4, 13), (5, 7)];

    private readonly Random _random;
    private readonly SimulatedPlayer[] _players;
    private readonly bool[] _profiled;
    private readonly int[] _levels;
    private readonly double[] _cumulative;
    private readonly string _idPrefix;
    private long _next;

    public PlayerSimulator(long seed, int players, string idPrefix)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(players, 1);
        ArgumentException.ThrowIfNullOrEmpty(idPrefix);
        // System.Random with a seed is a fixed algorithm in .NET: the same seed gives the same numbers on every run and machine.
        _random = new Random(unchecked((int)(seed ^ (seed >> 32))));
        _idPrefix = idPrefix;
        _players = new SimulatedPlayer[players];
        _levels = new int[players];
        _profiled = new bool[players];
        for (int i = 0; i < players; i++)
        {
            string name = Adjectives[_random.Next(Adjectives.Length)] + Creatures[_random.Next(Creatures.Length)] + i.ToString("D4", CultureInfo.InvariantCulture);
            // Levels 1–60, most between 10 and 40: about a fifth are below the event's level 10.
            int level = Math.Clamp((int)Math.Round(12 + (Gaussian() * 12) + (_random.NextDouble() * 18)), 1, 60);
            _levels[i] = level;
            _players[i] = new SimulatedPlayer(name, level, Pick(Regions), Pick(Platforms), Pick(Languages));
        }
        // Activity: weight 1/rank^0.8 over a seeded permutation of the players.
        int[] ranks = [.. Enumerable.Range(1, players)];
        _random.Shuffle(ranks);
        _cumulative = new double[players];
        double total = 0;
        for (int i = 0; i < players; i++)
        {
            total += 1.0 / Math.Pow(ranks[i], 0.8);
            _cumulative[i] = total;
        }
    }

    public IReadOnlyList<SimulatedPlayer> Players => _players;

    /// <summary>Actions produced so far.</summary>
    public long Produced => _next;

    /// <summary>The next <paramref name="count"/> actions of the stream.</summary>
    public List<SimulatedAction> Next(int count)
    {
        var actions = new List<SimulatedAction>(count);
        for (int i = 0; i < count; i++)
        {
            actions.Add(NextAction());
        }
        return actions;
    }

    private SimulatedAction NextAction()
    {
        int index = PickPlayer();
        var player = _players[index];
        string id = _idPrefix + "-" + (++_next).ToString(CultureInfo.InvariantCulture);
        if (!_profiled[index])
        {
            _profiled[index] = true;
            return new SimulatedAction(id, player.Id, ProfileType, Profile(player, _levels[index]));
        }
        int roll = _random.Next(100);
        if (roll < 66)
        {
            return new SimulatedAction(id, player.Id, KillType, $"{{\"target\":\"{Pick(Targets)}\",\"zone\":\"{Pick(Zones)}\"}}");
        }
        if (roll < 95)
        {
            return new SimulatedAction(id, player.Id, LootType, $"{{\"chest_tier\":{Pick(ChestTiers).ToString(CultureInfo.InvariantCulture)}}}");
        }
        // A level-up (capped at 60): the profile is merged, so only the level is sent.
        _levels[index] = Math.Min(60, _levels[index] + 1);
        return new SimulatedAction(id, player.Id, ProfileType, $"{{\"level\":{_levels[index].ToString(CultureInfo.InvariantCulture)}}}");
    }

    private static string Profile(SimulatedPlayer player, int level) =>
        $"{{\"level\":{level.ToString(CultureInfo.InvariantCulture)},\"region\":\"{player.Region}\",\"platform\":\"{player.Platform}\",\"language\":\"{player.Language}\"}}";

    private int PickPlayer()
    {
        double x = _random.NextDouble() * _cumulative[^1];
        int index = Array.BinarySearch(_cumulative, x);
        return Math.Min(index < 0 ? ~index : index, _cumulative.Length - 1);
    }

    private T Pick<T>((T Value, int Weight)[] choices)
    {
        int total = 0;
        foreach (var choice in choices)
        {
            total += choice.Weight;
        }
        int roll = _random.Next(total);
        foreach (var (value, weight) in choices)
        {
            if (roll < weight)
            {
                return value;
            }
            roll -= weight;
        }
        return choices[^1].Value;
    }

    private double Gaussian()
    {
        // Box–Muller on the seeded source.
        double u1 = 1.0 - _random.NextDouble(), u2 = _random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>The body of <c>POST /v1/actions</c> for <paramref name="actions"/>, stamped <paramref name="at"/> (RFC 3339).</summary>
    public static byte[] BatchJson(IReadOnlyList<SimulatedAction> actions, string at)
    {
        var text = new StringBuilder(actions.Count * 120);
        text.Append("{\"actions\":[");
        for (int i = 0; i < actions.Count; i++)
        {
            var action = actions[i];
            if (i > 0)
            {
                text.Append(',');
            }
            // Ids, players and types are the simulator's own ASCII names: nothing to escape.
            text.Append("{\"id\":\"").Append(action.Id).Append("\",\"player\":\"").Append(action.Player).Append("\",\"type\":\"").Append(action.Type)
                .Append("\",\"at\":\"").Append(at).Append("\",\"data\":").Append(action.DataJson).Append('}');
        }
        text.Append("]}");
        return Encoding.UTF8.GetBytes(text.ToString());
    }
}
