using System.Text;
using Showrunner.Core.Ledger;

namespace Showrunner.Core.Tests.Ledger;

[Trait("Category", "Unit")]
public sealed class GrantEntryTests
{
    private static readonly GrantCause Cause = new("summer-festival", 3, "player-1", "tier:bronze", CauseKind.Action, "a-17");

    // The grant id is an on-disk and on-wire contract: this value was computed independently
    // (Python hashlib) from the definition in docs/ledger.md and must never change.
    [Fact]
    public void Grant_id_matches_its_documented_derivation()
    {
        Assert.Equal(GoldenGrantId, Cause.GrantId);
        // The documented tier example (docs/ledger.md): fixed cause id "tier", computed independently with Python's hashlib.
        Assert.Equal("5a5c893f4bb5333d619906bdab623bbfa5dad6f64751ef05915d40780b5f1ae9", (Cause with { CauseId = "tier" }).GrantId);
    }

    private const string GoldenGrantId = "9776ca0954193fff5b763c1ba4ea24788b1006ae2a5fb690b0dd0764d279a795";

    [Fact]
    public void The_same_cause_always_gives_the_same_id_and_any_different_cause_a_different_one()
    {
        Assert.Equal(Cause.GrantId, (Cause with { }).GrantId);
        Assert.Equal(Cause.GrantId, new GrantCause("summer-festival", 3, "player-1", "tier:bronze", CauseKind.Action, "a-17").GrantId);
        GrantCause[] others =
        [
            Cause with { EventId = "summer-festival2" }, Cause with { Run = 4 }, Cause with { Player = "player-2" },
            Cause with { Rule = "tier:silver" }, Cause with { Kind = CauseKind.Operator }, Cause with { CauseId = "a-18" },
            // Length prefixes keep field boundaries: moving characters between fields changes the id.
            Cause with { EventId = "summer-festival3", Run = 3 }, Cause with { Player = "player-1t", Rule = "ier:bronze" },
        ];
        var ids = others.Select(c => c.GrantId).Append(Cause.GrantId).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.All(ids, id => Assert.Matches("^[0-9a-f]{64}$", id));
    }

    [Fact]
    public void Canonical_bytes_are_the_documented_json_and_decode_back_to_the_same_entry()
    {
        var entry = GrantEntry.Create(Cause with { Player = "pläyer \"1\"\\😀" }, [new RewardLine("gems", 250), new RewardLine("badge", 1)], LedgerFixture.Release,
            638_500_000_000_000_000L, null, null, 7, 12, LedgerFormat.GenesisPrevHash(), actionId: "srv1-0042");
        string expected = "{\"action\":\"srv1-0042\",\"author\":null,\"cause_id\":\"a-17\",\"cause_kind\":\"action\",\"event\":\"summer-festival\",\"grant_id\":\"" + entry.GrantId
            + "\",\"index\":12,\"partition\":7,\"player\":\"pläyer \\\"1\\\"\\\\😀\",\"reason\":null,\"release\":\"" + LedgerFixture.Release
            + "\",\"rewards\":[{\"amount\":250,\"name\":\"gems\"},{\"amount\":1,\"name\":\"badge\"}],\"rule\":\"tier:bronze\",\"run\":3,\"time\":638500000000000000,\"v\":1}";
        Assert.Equal(expected, Encoding.UTF8.GetString(entry.CanonicalBytes));
        var (decoded, error) = GrantEntry.Decode(entry.CanonicalBytes, entry.PrevHash);
        Assert.Null(error);
        Assert.Equal(entry.CanonicalBytes, decoded!.CanonicalBytes);
        Assert.Equal(entry.Hash, decoded.Hash);
    }

    [Fact]
    public void The_recorded_action_is_part_of_the_entry_but_not_of_the_grant_id()
    {
        var genesis = LedgerFormat.GenesisPrevHash();
        var first = GrantEntry.Create(Cause, [new RewardLine("gems", 250)], LedgerFixture.Release, 1, null, null, 0, 0, genesis, actionId: "a-1");
        var second = GrantEntry.Create(Cause, [new RewardLine("gems", 250)], LedgerFixture.Release, 1, null, null, 0, 0, genesis, actionId: "a-2");
        var none = GrantEntry.Create(Cause, [new RewardLine("gems", 250)], LedgerFixture.Release, 1, null, null, 0, 0, genesis);
        Assert.Equal(first.GrantId, second.GrantId);
        Assert.Equal(first.GrantId, none.GrantId);
        Assert.NotEqual(first.Hash, second.Hash);
        Assert.StartsWith("{\"action\":null,", Encoding.UTF8.GetString(none.CanonicalBytes), StringComparison.Ordinal);
        Assert.Equal("a-2", GrantEntry.Decode(second.CanonicalBytes, genesis).Entry!.ActionId);
        Assert.Throws<ArgumentException>(() => GrantEntry.Create(Cause, [new RewardLine("gems", 1)], LedgerFixture.Release, 1, null, null, 0, 0, genesis, actionId: "a\u0001"));
    }

    [Theory]
    [InlineData("{\"author\":null, \"cause_id\":\"a-17\"}", "whitespace")]
    [InlineData("[]", "not an object")]
    [InlineData("not json", "not json")]
    public void Anything_but_canonical_bytes_is_refused(string text, string why)
    {
        var (entry, error) = GrantEntry.Decode(Encoding.UTF8.GetBytes(text), LedgerFormat.GenesisPrevHash());
        Assert.Null(entry);
        Assert.False(string.IsNullOrEmpty(error), why);
    }

    [Fact]
    public void Reordered_keys_escapes_or_a_forged_grant_id_are_refused()
    {
        var entry = GrantEntry.Create(Cause, [new RewardLine("gems", 250)], LedgerFixture.Release, 1, null, null, 0, 0, LedgerFormat.GenesisPrevHash());
        string text = Encoding.UTF8.GetString(entry.CanonicalBytes);
        string[] variants =
        [
            text.Replace("\"author\":null,\"cause_id\":\"a-17\"", "\"cause_id\":\"a-17\",\"author\":null", StringComparison.Ordinal),
            text.Replace("\"a-17\"", "\"a\\u002d17\"", StringComparison.Ordinal),
            text.Replace(entry.GrantId, new string('0', 64), StringComparison.Ordinal),
            text.Replace("\"amount\":250", "\"amount\":250.0", StringComparison.Ordinal),
            text.Replace("\"v\":1", "\"v\":1,\"v\":1", StringComparison.Ordinal),
        ];
        foreach (string variant in variants)
        {
            Assert.NotEqual(text, variant);
            Assert.Null(GrantEntry.Decode(Encoding.UTF8.GetBytes(variant), entry.PrevHash).Entry);
        }
    }

    [Fact]
    public void Field_rules_are_enforced()
    {
        byte[] genesis = LedgerFormat.GenesisPrevHash();
        RewardLine[] gems = [new RewardLine("gems", 5)];
        Assert.Throws<ArgumentException>(() => GrantEntry.Create(Cause, [new RewardLine("gems", -5)], LedgerFixture.Release, 1, null, null, 0, 0, genesis));
        Assert.Throws<ArgumentException>(() => GrantEntry.Create(Cause, [new RewardLine("gems", 0)], LedgerFixture.Release, 1, null, null, 0, 0, genesis));
        Assert.Throws<ArgumentException>(() => GrantEntry.Create(Cause, [], LedgerFixture.Release, 1, null, null, 0, 0, genesis));
        Assert.Throws<ArgumentException>(() => GrantEntry.Create(Cause, [gems[0], gems[0]], LedgerFixture.Release, 1, null, null, 0, 0, genesis));
        Assert.Throws<ArgumentException>(() => GrantEntry.Create(Cause, gems, "ABC", 1, null, null, 0, 0, genesis));
        Assert.Throws<ArgumentException>(() => GrantEntry.Create(Cause, gems, LedgerFixture.Release, 1, "ops", "why", 0, 0, genesis));
        Assert.Throws<ArgumentException>(() => GrantEntry.Create(Cause with { Kind = CauseKind.Operator }, gems, LedgerFixture.Release, 1, null, null, 0, 0, genesis));
        Assert.Throws<ArgumentException>(() => GrantEntry.Create(Cause with { Player = "a\u0001" }, gems, LedgerFixture.Release, 1, null, null, 0, 0, genesis));
        Assert.Throws<ArgumentException>(() => GrantEntry.Create(Cause with { Player = "\ud800" }, gems, LedgerFixture.Release, 1, null, null, 0, 0, genesis));
        Assert.Throws<ArgumentException>(() => GrantEntry.Create(Cause, gems, LedgerFixture.Release, 1, null, null, 0, 0, new byte[31]));
        var correction = GrantEntry.Create(Cause with { Kind = CauseKind.Correction, CauseId = "req-9" }, [new RewardLine("gems", -5)],
            LedgerFixture.Release, 1, "ops@studio", "duplicate payout in ticket 7", 0, 0, genesis);
        Assert.Equal("ops@studio", correction.Author);
        Assert.Equal(correction.CanonicalBytes, GrantEntry.Decode(correction.CanonicalBytes, genesis).Entry!.CanonicalBytes);
    }

    [Fact]
    public void The_entry_hash_is_domain_separated_and_covers_prev_hash()
    {
        var first = GrantEntry.Create(Cause, [new RewardLine("gems", 5)], LedgerFixture.Release, 1, null, null, 0, 0, LedgerFormat.GenesisPrevHash());
        byte[] expected = System.Security.Cryptography.SHA256.HashData([.. "showrunner/ledger/entry/v1"u8, 0, .. new byte[32], .. first.CanonicalBytes]);
        Assert.Equal(expected, first.Hash);
        var other = GrantEntry.Create(Cause, [new RewardLine("gems", 5)], LedgerFixture.Release, 1, null, null, 0, 0, Enumerable.Repeat((byte)1, 32).ToArray());
        Assert.Equal(first.CanonicalBytes, other.CanonicalBytes);
        Assert.NotEqual(first.Hash, other.Hash);
        Assert.Equal(System.Security.Cryptography.SHA256.HashData([0, .. first.Hash]), first.LeafHash);
    }
}
