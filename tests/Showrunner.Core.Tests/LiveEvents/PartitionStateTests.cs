using System.Text;
using Showrunner.Core.LiveEvents;
using Showrunner.Core.Rules.Bundle;
using Showrunner.Core.Rules.Releases;
using Showrunner.Core.Rules.Syntax;
using Showrunner.Testing;

namespace Showrunner.Core.Tests.LiveEvents;

/// <summary>The partition's live state: snapshots that restore exactly, and snapshot + tail equal to a replay from scratch.</summary>
[Trait("Category", "Unit")]
public sealed class PartitionStateTests
{
    private static readonly long T0 = new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero).UtcTicks;

    private static LiveRules Rules(string tiers, string maxPerHour = "")
    {
        string source = ReleaseFixtures.Source("score-event-with-audience", ("max_per_hour", maxPerHour), ("tiers", tiers));
        var (bundle, diagnostics) = ReleaseBundle.Build([new SourceText("r.hcl", source)]);
        Assert.True(bundle is not null, string.Join("\n", diagnostics.Select(d => d.Format())));
        return LoadedRelease.From(bundle).Live;
    }

    private static readonly string Tiers = """
        tier "t10" {
          at     = 10
          reward = { gems = 1 }
        }
        tier "t30" {
          at     = 30
          reward = { gems = 3 }
        }
        """;

    private static LiveAction Score(long seq, string player, int n, long minutes = 0) =>
        new("a" + seq, player, "score", T0 + (minutes * TimeSpan.TicksPerMinute), seq, Encoding.UTF8.GetBytes($$"""{"n":{{n}}}"""));

    private static LiveAction Profile(long seq, string player, int level) =>
        new("a" + seq, player, "player.profile", T0, seq, Encoding.UTF8.GetBytes($$"""{"level":{{level}}}"""));

    private static List<PendingGrant> Apply(PartitionState state, LiveRules rules, IEnumerable<LiveAction> actions)
    {
        var owed = new List<PendingGrant>();
        foreach (var action in actions)
        {
            state.Apply(action, rules, null, RunControls.None, owed);
        }
        return owed;
    }

    private static string Fingerprint(PartitionState state) =>
        // Players with neither a profile nor progress carry no state (only an audience cache) and are not stored.
        string.Join("|", state.Players.Where(p => p.Profile is not null || p.RunCount > 0).OrderBy(p => p.Player, StringComparer.Ordinal).Select(p => p.Player + ":" + Convert.ToHexString(StateCodec.EncodePlayer(p))))
        + "#" + string.Join(",", state.Board(new RunKey("ev", 0))?.Top(100).Select(e => $"{e.Player}={e.Points}@{e.AchievedAt}") ?? [])
        + "#" + state.Slot(new RunKey("ev", 0));

    [Fact]
    public void A_snapshot_restores_the_same_state_and_snapshot_plus_tail_equals_a_replay_from_scratch()
    {
        var rules = Rules(Tiers);
        var random = new Random(20261201);
        var actions = new List<LiveAction>();
        for (long seq = 1; seq <= 400; seq++)
        {
            string player = "p" + random.Next(12).ToString(System.Globalization.CultureInfo.InvariantCulture);
            actions.Add(random.Next(10) == 0 ? Profile(seq, player, random.Next(0, 3)) : Score(seq, player, random.Next(0, 8), random.Next(0, 600)));
        }
        var full = new PartitionState(3);
        var allGrants = Apply(full, rules, actions);

        for (int cut = 0; cut <= actions.Count; cut += 57)
        {
            var first = new PartitionState(3);
            var before = Apply(first, rules, actions.Take(cut));
            var (seq, data, players) = first.TakeSnapshot();
            Assert.Equal(Fingerprint(first), Fingerprint(Restored(seq, data, players)));
            var resumed = Restored(seq, data, players);
            var after = Apply(resumed, rules, actions.Skip(cut));
            Assert.Equal(Fingerprint(full), Fingerprint(resumed));
            Assert.Equal(allGrants.Select(g => g.Cause.GrantId), before.Concat(after).Select(g => g.Cause.GrantId));
        }
        Assert.NotEmpty(allGrants);
    }

    private static PartitionState Restored(long seq, byte[] data, List<(string Player, byte[] Data)> players)
    {
        var state = new PartitionState(3);
        state.Restore(seq, data, players);
        return state;
    }

    [Fact]
    public void Incremental_snapshots_hold_only_what_changed_and_together_restore_everything()
    {
        var rules = Rules(Tiers);
        var state = new PartitionState(0);
        Apply(state, rules, [Profile(1, "a", 2), Profile(2, "b", 2), Score(3, "a", 5), Score(4, "b", 5)]);
        var stored = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var (_, _, first) = state.TakeSnapshot();
        Assert.Equal(["a", "b"], first.Select(p => p.Player).Order());
        first.ForEach(p => stored[p.Player] = p.Data);
        Apply(state, rules, [Score(5, "b", 20)]);
        var (seq, data, second) = state.TakeSnapshot();
        Assert.Equal(["b"], second.Select(p => p.Player));
        second.ForEach(p => stored[p.Player] = p.Data);
        Assert.Empty(state.TakeSnapshot().Players);
        Assert.Equal(Fingerprint(state), Fingerprint(Restored(seq, data, [.. stored.Select(p => (p.Key, p.Value))])));
    }

    [Fact]
    public void A_tier_reached_with_no_points_added_is_in_the_next_snapshot_so_a_restart_does_not_owe_it_again()
    {
        // The hour's cap is used up by the first action; a release adding a lower tier then sees a
        // second action that adds 0 points but reaches the new tier.
        var before = Rules(Tiers, "max_per_hour = 5");
        var after = Rules("""
            tier "t5" {
              at     = 5
              reward = { gems = 1 }
            }

            """ + Tiers, "max_per_hour = 5");
        var state = new PartitionState(0);
        Apply(state, before, [Profile(1, "a", 1), Score(2, "a", 5)]);
        state.TakeSnapshot();
        var owed = Apply(state, after, [Score(3, "a", 5)]);
        Assert.Equal("tier:t5", Assert.Single(owed).Cause.Rule);
        var (seq, data, players) = state.TakeSnapshot();
        Assert.Equal("a", Assert.Single(players).Player);
        var restored = Restored(seq, data, players);
        Assert.DoesNotContain(Apply(restored, after, [Score(4, "a", 5, minutes: 61)]), g => g.Cause.Rule == "tier:t5");
    }

    [Fact]
    public void Players_outside_the_audience_count_nothing_until_their_profile_puts_them_in()
    {
        var rules = Rules(Tiers);
        var state = new PartitionState(0);
        Assert.Empty(Apply(state, rules, [Score(1, "a", 20)]));
        Assert.Null(state.Board(new RunKey("ev", 0)));
        var owed = Apply(state, rules, [Profile(2, "a", 5), Score(3, "a", 20)]);
        Assert.Equal("tier:t10", Assert.Single(owed).Cause.Rule);
        Assert.Equal("a3", owed[0].ActionId);
        Assert.Throws<InvalidOperationException>(() => Apply(state, rules, [Score(3, "a", 1)]));
    }

    [Fact]
    public void Profiles_merge_as_rfc_7396_patches()
    {
        Assert.Equal("""{"level":3,"region":"eu"}""", Encoding.UTF8.GetString(ProfilePatch.Apply(Encoding.UTF8.GetBytes("""{"level":1,"region":"eu"}"""), """{"level":3}"""u8)));
        Assert.Equal("""{"region":"eu"}""", Encoding.UTF8.GetString(ProfilePatch.Apply(Encoding.UTF8.GetBytes("""{"level":1,"region":"eu"}"""), """{"level":null}"""u8)));
        Assert.Equal("""{"a":{"b":1,"c":2}}""", Encoding.UTF8.GetString(ProfilePatch.Apply(Encoding.UTF8.GetBytes("""{"a":{"b":1}}"""), """{"a":{"c":2}}"""u8)));
        Assert.Equal("""{"x":1}""", Encoding.UTF8.GetString(ProfilePatch.Apply(null, """{"x":1}"""u8)));
    }

    [Fact]
    public void Damaged_stored_state_is_refused_with_a_clear_error()
    {
        var rules = Rules(Tiers);
        var state = new PartitionState(0);
        Apply(state, rules, [Profile(1, "a", 2), Score(2, "a", 12)]);
        var (_, data, players) = state.TakeSnapshot();
        var bytes = players[0].Data;
        Assert.Throws<InvalidDataException>(() => StateCodec.DecodePlayer("a", bytes[..^3]));
        Assert.Throws<InvalidDataException>(() => StateCodec.DecodePlayer("a", [9, .. bytes[1..]]));
        Assert.Throws<InvalidDataException>(() => StateCodec.DecodePlayer("a", [.. bytes, 0]));
        Assert.Throws<InvalidDataException>(() => StateCodec.DecodePartition([7, .. data[1..]]));
    }
}
