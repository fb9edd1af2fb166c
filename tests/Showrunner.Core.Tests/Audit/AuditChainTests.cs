using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Showrunner.Core.Actions;
using Showrunner.Core.Audit;

namespace Showrunner.Core.Tests.Audit;

/// <summary>
/// The audit entry's hash is exactly the documented encoding (docs/audit.md), and the chain check
/// finds every kind of tampering — an edited field, a deleted, duplicated or reordered entry, a
/// re-hashed entry, a log cut back or rewritten — at the first entry it breaks.
/// </summary>
[Trait("Category", "Unit")]
public sealed class AuditChainTests
{
    private static readonly long Start = new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero).UtcTicks;

    /// <summary>A chain of <paramref name="count"/> entries with every kind of field, one second apart.</summary>
    internal static List<AuditEntry> Chain(int count)
    {
        var entries = new List<AuditEntry>();
        byte[] previous = AuditEntry.GenesisPrevHash();
        for (int i = 1; i <= count; i++)
        {
            var entry = AuditEntry.Create(i, previous, Start + i * TimeSpan.TicksPerSecond, "key:k" + (i % 3), i % 2 == 0 ? "release.activate" : "grant.create",
                "target-" + i, i % 2 == 0 ? "before-" + i : null, "after-" + i, i % 3 == 0 ? null : "reason ü " + i,
                i % 4 == 0 ? null : "{\"n\":" + i + ",\"s\":\"x\"}");
            entries.Add(entry);
            previous = entry.Hash;
        }
        return entries;
    }

    // The documented formula, written out independently of AuditEntry: an outside verifier's view.
    private static byte[] DocumentedHash(byte[] prevHash, long seq, string at, string actor, string action, string target,
        string? before, string? after, string? reason, string? details)
    {
        var bytes = new List<byte>();
        bytes.AddRange(Encoding.ASCII.GetBytes("showrunner/audit/entry/v1"));
        bytes.Add(0);
        bytes.AddRange(prevHash);
        var seqBytes = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(seqBytes, (ulong)seq);
        bytes.AddRange(seqBytes);
        void F(string s)
        {
            byte[] utf8 = Encoding.UTF8.GetBytes(s);
            var length = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(length, (uint)utf8.Length);
            bytes.AddRange(length);
            bytes.AddRange(utf8);
        }
        void O(string? s)
        {
            if (s is null)
            {
                bytes.Add(0);
                return;
            }
            bytes.Add(1);
            F(s);
        }
        F(at);
        F(actor);
        F(action);
        F(target);
        O(before);
        O(after);
        O(reason);
        O(details);
        return SHA256.HashData(bytes.ToArray());
    }

    [Fact]
    public void The_hash_is_the_documented_encoding_of_every_field_and_the_previous_hash()
    {
        var first = AuditEntry.Create(1, AuditEntry.GenesisPrevHash(), Start, "key:alice", "grant.create", "g-1", null, "g-1", "outage #12",
            "{\"player\":\"p-9\"}");
        Assert.Equal(DocumentedHash(new byte[32], 1, "2026-11-22T12:00:00Z", "key:alice", "grant.create", "g-1", null, "g-1", "outage #12",
            "{\"player\":\"p-9\"}"), first.Hash);
        var second = AuditEntry.Create(2, first.Hash, Start + 1234567, "system:gates", "release.rollback", "r-2", "r-2", "r-1", null, null);
        Assert.Equal(DocumentedHash(first.Hash, 2, "2026-11-22T12:00:00.1234567Z", "system:gates", "release.rollback", "r-2", "r-2", "r-1", null, null),
            second.Hash);
        // The vector docs/audit.md quotes for entry 1.
        Assert.Equal("2026-11-22T12:00:00Z", Rfc3339.Format(first.AtTicks));
        Assert.Equal(64, Convert.ToHexStringLower(first.Hash).Length);
        Assert.Equal(DocumentedVectorHash, Convert.ToHexStringLower(first.Hash));
    }

    /// <summary>The hash of entry 1 in docs/audit.md's worked example.</summary>
    internal const string DocumentedVectorHash = "dcd26cbcd97abb5d745fcb0ea00a867750465402eff679847aa9be8b226b738e";

    [Fact]
    public void A_null_field_and_an_empty_looking_one_hash_differently_and_field_boundaries_are_unambiguous()
    {
        var withNull = AuditEntry.Create(1, new byte[32], Start, "key:a", "x.y", "t", null, "ab", null, null);
        var moved = AuditEntry.Create(1, new byte[32], Start, "key:a", "x.y", "t", "a", "b", null, null);
        var shifted = AuditEntry.Create(1, new byte[32], Start, "key:a", "x.y", "ta", null, "b", null, null);
        Assert.NotEqual(withNull.Hash, moved.Hash);
        Assert.NotEqual(withNull.Hash, shifted.Hash);
        Assert.NotEqual(moved.Hash, shifted.Hash);
    }

    [Fact]
    public void An_untouched_chain_verifies_and_reports_its_head()
    {
        var chain = Chain(12);
        var result = AuditChain.Verify(chain);
        Assert.Equal((AuditVerification.Ok, 12L, 12L), (result.Code, result.Entries, result.HeadSeq));
        Assert.Equal(chain[^1].Hash, result.HeadHash);
        var empty = AuditChain.Verify([]);
        Assert.Equal((AuditVerification.Ok, 0L), (empty.Code, empty.Entries));
        Assert.Equal(new byte[32], empty.HeadHash);
    }

    public static TheoryData<string> Fields => new() { "at", "actor", "action", "target", "before", "after", "reason", "details" };

    [Theory]
    [MemberData(nameof(Fields))]
    public void Editing_any_field_of_one_entry_fails_at_exactly_that_entry(string field)
    {
        var chain = Chain(8);
        var e = chain[3];
        chain[3] = field switch
        {
            "at" => e with { AtTicks = e.AtTicks + 1 },
            "actor" => e with { Actor = "key:mallory" },
            "action" => e with { Action = "grant.correct" },
            "target" => e with { Target = e.Target + "x" },
            "before" => e with { Before = e.Before is null ? "x" : null },
            "after" => e with { After = "other" },
            "reason" => e with { Reason = e.Reason is null ? "because" : e.Reason + "!" },
            _ => e with { Details = "{\"n\":999}" },
        };
        var result = AuditChain.Verify(chain);
        Assert.Equal((AuditVerification.HashMismatch, (long?)4, 3L), (result.Code, result.FirstBadSeq, result.Entries));
    }

    [Fact]
    public void Deleting_duplicating_or_reordering_entries_fails_at_the_first_entry_out_of_place()
    {
        var chain = Chain(8);
        var deleted = chain.Where(e => e.Seq != 5).ToList();
        Assert.Equal((AuditVerification.SeqGap, (long?)5), Result(deleted));

        var duplicated = chain.Take(5).Append(chain[4]).Concat(chain.Skip(5)).ToList();
        Assert.Equal((AuditVerification.SeqGap, (long?)6), Result(duplicated));

        // Rows swapped in place: entry 3's content now carries seq 4 and the other way round.
        var swapped = chain.ToList();
        (swapped[2], swapped[3]) = (chain[3] with { Seq = 3 }, chain[2] with { Seq = 4 });
        Assert.Equal((AuditVerification.PrevHashMismatch, (long?)3), Result(swapped));

        // Or listed out of order.
        var reordered = chain.ToList();
        (reordered[2], reordered[3]) = (chain[3], chain[2]);
        Assert.Equal((AuditVerification.SeqGap, (long?)3), Result(reordered));
    }

    [Fact]
    public void An_entry_rehashed_on_its_own_breaks_the_link_of_the_next_one()
    {
        var chain = Chain(8);
        var e = chain[3];
        chain[3] = AuditEntry.Create(e.Seq, e.PrevHash, e.AtTicks, "key:mallory", e.Action, e.Target, e.Before, e.After, e.Reason, e.Details);
        Assert.Equal((AuditVerification.PrevHashMismatch, (long?)5), Result(chain));
        // A wrong genesis link is named too.
        var first = Chain(2);
        first[0] = first[0] with { PrevHash = Enumerable.Repeat((byte)1, 32).ToArray() };
        Assert.Equal((AuditVerification.PrevHashMismatch, (long?)1), Result(first));
    }

    [Fact]
    public void A_truncated_or_rewritten_log_is_found_only_against_a_head_kept_earlier()
    {
        var chain = Chain(10);
        byte[] head = chain[^1].Hash;
        // Cut back: the rest still verifies on its own.
        Assert.Equal(AuditVerification.Ok, AuditChain.Verify(chain.Take(7)).Code);
        var truncated = AuditChain.Verify(chain.Take(7), head);
        Assert.Equal((AuditVerification.HeadMissing, (long?)null, 7L), (truncated.Code, truncated.FirstBadSeq, truncated.Entries));

        // Rewritten from entry 4 on with every later hash recomputed: consistent, but the head is gone.
        var rewritten = chain.Take(3).ToList();
        foreach (var e in chain.Skip(3))
        {
            rewritten.Add(AuditEntry.Create(e.Seq, rewritten[^1].Hash, e.AtTicks, e.Actor, e.Action, e.Target, e.Before, "forged", e.Reason, e.Details));
        }
        Assert.Equal(AuditVerification.Ok, AuditChain.Verify(rewritten).Code);
        Assert.Equal(AuditVerification.HeadMissing, AuditChain.Verify(rewritten, head).Code);

        // The log grew since the head was kept: the head is an earlier entry, and that is fine.
        var grown = AuditChain.Verify(Chain(14), head);
        Assert.Equal((AuditVerification.Ok, "the expected head is entry 10"), (grown.Code, grown.Detail));
    }

    [Fact]
    public void An_entry_dated_before_its_predecessor_is_reported()
    {
        var chain = Chain(3);
        var e = chain[2];
        chain[2] = AuditEntry.Create(3, chain[1].Hash, chain[1].AtTicks - 1, e.Actor, e.Action, e.Target, e.Before, e.After, e.Reason, e.Details);
        Assert.Equal((AuditVerification.TimeReversed, (long?)3), Result(chain));
    }

    [Theory]
    [InlineData("actor", "")]
    [InlineData("actor", "key:\u0001")]
    [InlineData("action", "Grant.Create")]
    [InlineData("action", "grant create")]
    [InlineData("target", "")]
    [InlineData("details", "[1,2]")]
    [InlineData("details", "{\"a\":")]
    [InlineData("details", "\"text\"")]
    [InlineData("reason", "")]
    public void Create_refuses_a_field_that_breaks_the_rules_and_names_it(string field, string value)
    {
        var exception = Assert.Throws<ArgumentException>(() => AuditEntry.Create(1, new byte[32], Start,
            field == "actor" ? value : "key:a", field == "action" ? value : "x.y", field == "target" ? value : "t", null, null,
            field == "reason" ? value : null, field == "details" ? value : null));
        Assert.Contains(field, exception.Message, StringComparison.Ordinal);
        // The verifier reports the same entry as malformed rather than hashing it.
        var stored = new AuditEntry(1, Start, field == "actor" ? value : "key:a", field == "action" ? value : "x.y", field == "target" ? value : "t",
            null, null, field == "reason" ? value : null, field == "details" ? value : null, new byte[32], new byte[32]);
        Assert.Equal((AuditVerification.EntryMalformed, (long?)1), Result([stored]));
    }

    [Fact]
    public void Text_with_an_unpaired_surrogate_has_no_single_encoding_and_is_refused()
    {
        string lone = "lone " + (char)0xD800 + " surrogate";
        Assert.Contains("reason", Assert.Throws<ArgumentException>(() => AuditEntry.Create(1, new byte[32], Start, "key:a", "x.y", "t", null, null, lone, null)).Message,
            StringComparison.Ordinal);
        Assert.Contains("target", Assert.Throws<ArgumentException>(() => AuditEntry.Create(1, new byte[32], Start, "key:a", "x.y", lone, null, null, null, null)).Message,
            StringComparison.Ordinal);
    }

    [Fact]
    public void Limits_are_enforced_at_their_documented_size()
    {
        string longest = new('a', AuditEntry.TargetLengthMax);
        Assert.Equal(longest, AuditEntry.Create(1, new byte[32], Start, "key:a", "x.y", longest, null, null, null, null).Target);
        Assert.Throws<ArgumentException>(() => AuditEntry.Create(1, new byte[32], Start, "key:a", "x.y", longest + "a", null, null, null, null));
        string details = "{\"a\":\"" + new string('x', AuditEntry.DetailsBytesMax - 8) + "\"}";
        Assert.Equal(AuditEntry.DetailsBytesMax, Encoding.UTF8.GetByteCount(details));
        Assert.NotNull(AuditEntry.Create(1, new byte[32], Start, "key:a", "x.y", "t", null, null, null, details).Details);
        Assert.Throws<ArgumentException>(() => AuditEntry.Create(1, new byte[32], Start, "key:a", "x.y", "t", null, null, null, details.Insert(6, "x")));
        Assert.Throws<ArgumentException>(() => AuditEntry.Create(0, new byte[32], Start, "key:a", "x.y", "t", null, null, null, null));
        Assert.Throws<ArgumentException>(() => AuditEntry.Create(1, new byte[31], Start, "key:a", "x.y", "t", null, null, null, null));
    }

    private static (string, long?) Result(IEnumerable<AuditEntry> entries)
    {
        var result = AuditChain.Verify(entries);
        return (result.Code, result.FirstBadSeq);
    }
}
