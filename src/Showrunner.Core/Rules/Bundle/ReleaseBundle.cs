using System.Security.Cryptography;
using System.Text;
using Showrunner.Core.Ledger;
using Showrunner.Core.Rules.Model;
using Showrunner.Core.Rules.Syntax;

namespace Showrunner.Core.Rules.Bundle;

/// <summary>One top-level definition of a bundle and the Merkle leaf hash of its canonical text.</summary>
public sealed record BundleDefinition(string Key, string Name, string Text, byte[] LeafHash);

/// <summary>What changed between two releases, definition by definition.</summary>
public sealed record BundleDiff(IReadOnlyList<string> Added, IReadOnlyList<string> Removed, IReadOnlyList<string> Changed)
{
    public bool IsEmpty => Added.Count == 0 && Removed.Count == 0 && Changed.Count == 0;
}

/// <summary>
/// An immutable release: the canonical text of all its definitions (independent of whitespace,
/// comments and file order), its id (lower-case hex SHA-256 of the canonical UTF-8 bytes), and a
/// Merkle root over its definitions so two releases diff definition by definition.
/// </summary>
/// <remarks>
/// Merkle tree as in RFC 6962 §2.1: leaves are the canonical bytes of each top-level block in
/// canonical order; leaf hash = SHA-256(0x00 ‖ bytes), node hash = SHA-256(0x01 ‖ left ‖ right),
/// a tree of n leaves splits at the largest power of two below n; the empty tree hashes to
/// SHA-256 of nothing.
/// </remarks>
public sealed class ReleaseBundle
{
    /// <summary>Largest total size of a release's sources.</summary>
    public const int MaxSourceBytes = 16 * 1024 * 1024;

    /// <summary>The parts of an event that decide what players earn.</summary>
    private static readonly string[] EarningBlocks = ["objective", "tier", "leaderboard", "community_goal"];

    private ReleaseBundle(string canonicalText, ReleaseDefinition release, IReadOnlyList<BundleDefinition> definitions,
        IReadOnlyDictionary<string, string> earningSignatures)
    {
        EarningSignatures = earningSignatures;
        CanonicalText = canonicalText;
        Release = release;
        Definitions = definitions;
        CanonicalBytes = Encoding.UTF8.GetBytes(canonicalText);
        Id = Convert.ToHexStringLower(SHA256.HashData(CanonicalBytes));
        MerkleRoot = Convert.ToHexStringLower(Root(definitions.Select(d => d.LeafHash).ToList()));
    }

    public string Id { get; }
    public string MerkleRoot { get; }
    public string CanonicalText { get; }
    public byte[] CanonicalBytes { get; }
    public ReleaseDefinition Release { get; }
    public IReadOnlyList<BundleDefinition> Definitions { get; }

    /// <summary>Per event id: the canonical text of its objectives, tiers, leaderboard and community goal.</summary>
    public IReadOnlyDictionary<string, string> EarningSignatures { get; }

    /// <summary>Checks the sources and, if they have no errors, builds the bundle.</summary>
    public static (ReleaseBundle? Bundle, List<Diagnostic> Diagnostics) Build(IReadOnlyList<SourceText> files)
    {
        long size = files.Sum(f => (long)Encoding.UTF8.GetByteCount(f.Text));
        if (size > MaxSourceBytes)
        {
            var first = files[0];
            var diagnostic = new Diagnostic("limit.source_size", $"The sources are {size} bytes; a release is at most {MaxSourceBytes}.", first.Span(0, 0), "");
            return (null, [diagnostic]);
        }
        var (release, diagnostics) = ReleaseChecker.Check(files, out var blocks);
        if (release is null)
        {
            return (null, diagnostics);
        }
        var definitions = CanonicalPrinter.Order(blocks).Select(block =>
        {
            string text = CanonicalPrinter.Block(block);
            return new BundleDefinition(CanonicalPrinter.KeyOf(block), CanonicalPrinter.NameOf(block), text, LeafHash(Encoding.UTF8.GetBytes(text)));
        }).ToList();
        string canonical = string.Join("\n", definitions.Select(d => d.Text));
        var signatures = blocks.Where(b => b.Type == "event" && b.Labels.Count == 1).ToDictionary(
            b => b.Labels[0].Value,
            b => string.Concat(b.Body.Blocks.Where(c => EarningBlocks.Contains(c.Type)).Select(CanonicalPrinter.Block)),
            StringComparer.Ordinal);
        return (new ReleaseBundle(canonical, release, definitions, signatures), diagnostics);
    }

    /// <summary>
    /// Reads a stored bundle back: it must check clean and already be in canonical form, so that one
    /// release has exactly one byte sequence and one id.
    /// </summary>
    public static (ReleaseBundle? Bundle, List<Diagnostic> Diagnostics) Load(string canonicalText, string name = "bundle.hcl")
    {
        var (bundle, diagnostics) = Build([new SourceText(name, canonicalText)]);
        if (bundle is not null && bundle.CanonicalText != canonicalText)
        {
            diagnostics.Add(new Diagnostic("bundle.not_canonical", "The bundle is not in canonical form: rebuild it with 'showrunner build'.",
                new SourceText(name, canonicalText).Span(0, 0), ""));
            return (null, diagnostics);
        }
        return (bundle, diagnostics);
    }

    public static BundleDiff Diff(ReleaseBundle before, ReleaseBundle after)
    {
        var old = before.Definitions.ToDictionary(d => d.Key, StringComparer.Ordinal);
        var @new = after.Definitions.ToDictionary(d => d.Key, StringComparer.Ordinal);
        var added = after.Definitions.Where(d => !old.ContainsKey(d.Key)).Select(d => d.Name).ToList();
        var removed = before.Definitions.Where(d => !@new.ContainsKey(d.Key)).Select(d => d.Name).ToList();
        var changed = after.Definitions.Where(d => old.TryGetValue(d.Key, out var o) && !o.LeafHash.AsSpan().SequenceEqual(d.LeafHash)).Select(d => d.Name).ToList();
        return new BundleDiff(added, removed, changed);
    }

    // The RFC 6962 hashing is shared with the ledger's Merkle logs (Ledger/MerkleHash.cs).
    internal static byte[] LeafHash(ReadOnlySpan<byte> data) => MerkleHash.Leaf(data);

    internal static byte[] NodeHash(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right) => MerkleHash.Node(left, right);

    /// <summary>RFC 6962 Merkle tree hash of leaf hashes.</summary>
    internal static byte[] Root(IReadOnlyList<byte[]> leaves) => MerkleHash.Root(leaves);
}
