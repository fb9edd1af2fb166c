using System.Security.Cryptography;
using Showrunner.Core.Ledger;

namespace Showrunner.Core.Tests.Ledger;

[Trait("Category", "Unit")]
public sealed class MerkleLogTests
{
    // Known answers: the eight reference leaves of Certificate Transparency and the root of each
    // prefix, from transparency-dev/merkle, testonly/constants.go (LeafInputs, RootHashes,
    // NodeHashes) and proof/verify_test.go (inclusionProofs, consistencyProofs; 1-based leaf
    // numbers there, 0-based indices here). Used as data only.
    private static readonly byte[][] ReferenceLeaves =
    [
        [], [0x00], [0x10], [0x20, 0x21], [0x30, 0x31], [0x40, 0x41, 0x42, 0x43],
        [0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
        Convert.FromHexString("606162636465666768696a6b6c6d6e6f"),
    ];

    private static readonly string[] ReferenceRoots =
    [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    public static TheoryData<long, long, string[]> ReferenceInclusionProofs => new()
    {
        { 0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"] },
        { 5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"] },
        { 2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"] },
        { 1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"] },
        { 0, 1, [] },
    };

    public static TheoryData<long, long, string[]> ReferenceConsistencyProofs => new()
    {
        { 1, 1, [] },
        { 1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"] },
        { 6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"] },
        { 2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"] },
        { 6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a", "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"] },
    };

    private static MerkleLog ReferenceLog()
    {
        var log = new MerkleLog(new InMemoryMerkleNodeStore());
        foreach (byte[] leaf in ReferenceLeaves)
        {
            log.Append(MerkleHash.Leaf(leaf));
        }
        return log;
    }

    private static byte[] Root(int size) => Convert.FromHexString(ReferenceRoots[size]);

    [Fact]
    public void Roots_of_every_prefix_match_the_certificate_transparency_reference()
    {
        var log = new MerkleLog(new InMemoryMerkleNodeStore());
        Assert.Equal(ReferenceRoots[0], Convert.ToHexStringLower(log.Root()));
        for (int n = 1; n <= ReferenceLeaves.Length; n++)
        {
            log.Append(MerkleHash.Leaf(ReferenceLeaves[n - 1]));
            Assert.Equal(ReferenceRoots[n], Convert.ToHexStringLower(log.Root()));
        }
        for (int n = 0; n <= ReferenceLeaves.Length; n++)
        {
            Assert.Equal(ReferenceRoots[n], Convert.ToHexStringLower(log.RootAt(n)));
            Assert.Equal(ReferenceRoots[n], Convert.ToHexStringLower(MerkleHash.Root(ReferenceLeaves.Take(n).Select(l => MerkleHash.Leaf(l)).ToList())));
        }
    }

    [Theory]
    [MemberData(nameof(ReferenceInclusionProofs))]
    public void Inclusion_proofs_match_the_reference_and_verify(long index, long size, string[] expected)
    {
        var log = ReferenceLog();
        var proof = log.InclusionProof(index, size);
        Assert.Equal(expected, proof.Select(Convert.ToHexStringLower));
        Assert.True(MerkleProof.VerifyInclusion(index, size, MerkleHash.Leaf(ReferenceLeaves[index]), proof, Root((int)size)));
    }

    [Theory]
    [MemberData(nameof(ReferenceConsistencyProofs))]
    public void Consistency_proofs_match_the_reference_and_verify(long first, long second, string[] expected)
    {
        var log = ReferenceLog();
        var proof = log.ConsistencyProof(first, second);
        Assert.Equal(expected, proof.Select(Convert.ToHexStringLower));
        Assert.True(MerkleProof.VerifyConsistency(first, second, Root((int)first), Root((int)second), proof));
    }

    [Fact]
    public void Consistency_edges_follow_the_definition_of_proof()
    {
        byte[] a = SHA256.HashData("a"u8);
        byte[] b = SHA256.HashData("b"u8);
        Assert.True(MerkleProof.VerifyConsistency(0, 0, a, a, []));
        Assert.False(MerkleProof.VerifyConsistency(0, 0, a, b, []));
        Assert.True(MerkleProof.VerifyConsistency(0, 5, a, b, []));
        Assert.False(MerkleProof.VerifyConsistency(0, 5, a, b, [a]));
        Assert.False(MerkleProof.VerifyConsistency(3, 3, a, a, [a]));
        Assert.False(MerkleProof.VerifyConsistency(2, 1, a, b, []));
        Assert.False(MerkleProof.VerifyConsistency(1, 2, a, b, []));
        Assert.False(MerkleProof.VerifyInclusion(0, 0, a, [], a));
        Assert.False(MerkleProof.VerifyInclusion(1, 1, a, [], a));
        Assert.True(MerkleProof.VerifyInclusion(0, 1, a, [], a));
        Assert.False(MerkleProof.VerifyInclusion(0, 1, a, [], b));
        Assert.False(MerkleProof.VerifyInclusion(0, 1, a, [new byte[31]], a));
    }

    // For every tree of up to 64 leaves: the log's roots equal the naive recursion, every
    // inclusion proof verifies, and it fails when any byte of the proof or the leaf changes, or
    // the index, size or root is wrong.
    [Fact]
    public void Every_inclusion_proof_up_to_64_leaves_verifies_and_every_tampering_fails()
    {
        var leaves = Enumerable.Range(0, 64).Select(i => MerkleHash.Leaf([(byte)i, (byte)(i * 7)])).ToList();
        var log = new MerkleLog(new InMemoryMerkleNodeStore());
        foreach (byte[] leaf in leaves)
        {
            log.Append(leaf);
        }
        for (int n = 1; n <= 64; n++)
        {
            byte[] root = MerkleHash.Root(leaves.Take(n).ToList());
            Assert.Equal(root, log.RootAt(n));
            for (int i = 0; i < n; i++)
            {
                var proof = log.InclusionProof(i, n);
                Assert.True(MerkleProof.VerifyInclusion(i, n, leaves[i], proof, root), $"n={n} i={i}");
                // A proof does not fix the size on its own (a size with the same path shape can
                // verify against the same root); the size is authenticated by the signed checkpoint.
                Assert.False(MerkleProof.VerifyInclusion(i, n * 2, leaves[i], proof, root));
                if (n > 1)
                {
                    Assert.False(MerkleProof.VerifyInclusion((i + 1) % n, n, leaves[i], proof, root));
                }
                Assert.False(MerkleProof.VerifyInclusion(i, n, leaves[i], [.. proof, root], root));
                if (proof.Count > 0)
                {
                    Assert.False(MerkleProof.VerifyInclusion(i, n, leaves[i], proof.Take(proof.Count - 1).ToList(), root));
                }
                for (int p = 0; p < proof.Count; p++)
                {
                    for (int at = 0; at < MerkleHash.Size; at++)
                    {
                        var tampered = proof.Select(h => (byte[])h.Clone()).ToList();
                        tampered[p][at] ^= 0x01;
                        Assert.False(MerkleProof.VerifyInclusion(i, n, leaves[i], tampered, root), $"n={n} i={i} p={p} at={at}");
                    }
                }
                for (int at = 0; at < MerkleHash.Size; at++)
                {
                    byte[] leaf = (byte[])leaves[i].Clone();
                    leaf[at] ^= 0x80;
                    Assert.False(MerkleProof.VerifyInclusion(i, n, leaf, proof, root));
                    byte[] wrongRoot = (byte[])root.Clone();
                    wrongRoot[at] ^= 0x80;
                    Assert.False(MerkleProof.VerifyInclusion(i, n, leaves[i], proof, wrongRoot));
                }
            }
        }
    }

    [Fact]
    public void Every_consistency_proof_up_to_64_leaves_verifies_and_every_tampering_fails()
    {
        var leaves = Enumerable.Range(0, 64).Select(i => MerkleHash.Leaf([(byte)(i * 3), (byte)i])).ToList();
        var log = new MerkleLog(new InMemoryMerkleNodeStore());
        foreach (byte[] leaf in leaves)
        {
            log.Append(leaf);
        }
        var roots = Enumerable.Range(0, 65).Select(n => MerkleHash.Root(leaves.Take(n).ToList())).ToList();
        for (int n = 0; n <= 64; n++)
        {
            for (int m = 0; m <= n; m++)
            {
                var proof = log.ConsistencyProof(m, n);
                Assert.True(MerkleProof.VerifyConsistency(m, n, roots[m], roots[n], proof), $"m={m} n={n}");
                if (m == 0 || m == n)
                {
                    Assert.Empty(proof);
                    continue;
                }
                Assert.False(MerkleProof.VerifyConsistency(m, n, roots[n], roots[m], proof));
                Assert.False(MerkleProof.VerifyConsistency(m, n, roots[m - 1], roots[n], proof));
                Assert.False(MerkleProof.VerifyConsistency(m, n, roots[m], roots[n - 1], proof));
                Assert.False(MerkleProof.VerifyConsistency(m, n, roots[m], roots[n], [.. proof, roots[m]]));
                Assert.False(MerkleProof.VerifyConsistency(m, n, roots[m], roots[n], proof.Take(proof.Count - 1).ToList()));
                for (int p = 0; p < proof.Count; p++)
                {
                    for (int at = 0; at < MerkleHash.Size; at++)
                    {
                        var tampered = proof.Select(h => (byte[])h.Clone()).ToList();
                        tampered[p][at] ^= 0x10;
                        Assert.False(MerkleProof.VerifyConsistency(m, n, roots[m], roots[n], tampered), $"m={m} n={n} p={p} at={at}");
                    }
                }
            }
        }
    }

    [Fact]
    public void A_log_reopened_from_its_store_continues_with_the_same_roots()
    {
        var store = new InMemoryMerkleNodeStore();
        var log = new MerkleLog(store);
        var leaves = Enumerable.Range(0, 100).Select(i => MerkleHash.Leaf(BitConverter.GetBytes(i))).ToList();
        for (int i = 0; i < 100; i++)
        {
            if (i % 13 == 0)
            {
                log = new MerkleLog(store);
            }
            Assert.Equal(i, log.Append(leaves[i]));
            Assert.Equal(MerkleHash.Root(leaves.Take(i + 1).ToList()), log.Root());
        }
    }

    // Proofs on a log of a million leaves read O(log n) nodes: at most two per level.
    [Fact]
    public void Proofs_and_roots_on_a_million_leaves_read_a_logarithmic_number_of_nodes()
    {
        const long n = 1_000_000;
        var store = new InMemoryMerkleNodeStore();
        var log = new MerkleLog(store);
        Span<byte> leaf = stackalloc byte[32];
        for (long i = 0; i < n; i++)
        {
            BitConverter.TryWriteBytes(leaf, i);
            log.Append(leaf);
        }
        Assert.Equal(0, store.ReadCount);
        byte[] root = log.Root();
        int maxReads = 2 * 20 + 2; // log2(1e6) < 20
        foreach (long index in new long[] { 0, 1, 524_287, 524_288, 999_998, 999_999, 123_457 })
        {
            foreach (long size in new long[] { index + 1, 777_777, n })
            {
                if (index >= size)
                {
                    continue;
                }
                long before = store.ReadCount;
                var proof = log.InclusionProof(index, size);
                byte[] sizeRoot = log.RootAt(size);
                Assert.InRange(store.ReadCount - before, 1, maxReads * 2);
                Assert.InRange(proof.Count, 0, 20);
                var leafHash = new byte[32];
                BitConverter.TryWriteBytes(leafHash, index);
                Assert.True(MerkleProof.VerifyInclusion(index, size, leafHash, proof, sizeRoot));
            }
        }
        long readsBefore = store.ReadCount;
        var consistency = log.ConsistencyProof(333_333, n);
        Assert.InRange(store.ReadCount - readsBefore, 1, maxReads);
        Assert.True(MerkleProof.VerifyConsistency(333_333, n, log.RootAt(333_333), root, consistency));
        readsBefore = store.ReadCount;
        var reopened = new MerkleLog(store);
        Assert.InRange(store.ReadCount - readsBefore, 1, 20);
        Assert.Equal(root, reopened.Root());
    }
}
