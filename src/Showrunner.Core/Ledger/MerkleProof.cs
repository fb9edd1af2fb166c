namespace Showrunner.Core.Ledger;

/// <summary>
/// Verification of RFC 9162 inclusion proofs (§2.1.3.2) and consistency proofs (§2.1.4.2),
/// step for step as the RFC writes them, so that a verifier written from the RFC alone agrees
/// with ours. Needs no log: only the proof, the sizes and the hashes.
/// </summary>
public static class MerkleProof
{
    /// <summary>
    /// True when <paramref name="proof"/> shows that the leaf with hash <paramref name="leafHash"/>
    /// is at <paramref name="leafIndex"/> in the tree of <paramref name="treeSize"/> leaves whose
    /// root is <paramref name="root"/>.
    /// </summary>
    public static bool VerifyInclusion(long leafIndex, long treeSize, ReadOnlySpan<byte> leafHash, IReadOnlyList<byte[]> proof, ReadOnlySpan<byte> root)
    {
        if (leafIndex < 0 || treeSize < 0 || leafHash.Length != MerkleHash.Size || root.Length != MerkleHash.Size || !AllHashes(proof))
        {
            return false;
        }
        // 1. leaf_index must be smaller than tree_size.
        if (leafIndex >= treeSize)
        {
            return false;
        }
        // 2. fn = leaf_index, sn = tree_size - 1; 3. r = hash.
        long fn = leafIndex;
        long sn = treeSize - 1;
        byte[] r = leafHash.ToArray();
        // 4. For each p in the inclusion path:
        foreach (byte[] p in proof)
        {
            // a. If sn is 0, fail.
            if (sn == 0)
            {
                return false;
            }
            // b. If LSB(fn) is set, or fn equals sn:
            if ((fn & 1) == 1 || fn == sn)
            {
                r = MerkleHash.Node(p, r);
                // If LSB(fn) is not set, shift both right until LSB(fn) is set or fn is 0.
                if ((fn & 1) == 0)
                {
                    while ((fn & 1) == 0 && fn != 0)
                    {
                        fn >>= 1;
                        sn >>= 1;
                    }
                }
            }
            else
            {
                r = MerkleHash.Node(r, p);
            }
            // c. Shift both right once.
            fn >>= 1;
            sn >>= 1;
        }
        // 5. sn must be 0 and r must equal the root.
        return sn == 0 && r.AsSpan().SequenceEqual(root);
    }

    /// <summary>
    /// True when <paramref name="proof"/> shows that the tree of <paramref name="firstSize"/>
    /// leaves with root <paramref name="firstRoot"/> is a prefix of the tree of
    /// <paramref name="secondSize"/> leaves with root <paramref name="secondRoot"/>.
    /// </summary>
    /// <remarks>
    /// The RFC's algorithm covers 0 &lt; first &lt; second. The edges follow from the definition of
    /// PROOF (§2.1.4.1): equal sizes are consistent with an empty proof when the roots are equal,
    /// and the empty tree is a prefix of every tree (empty proof); any other proof for them fails.
    /// </remarks>
    public static bool VerifyConsistency(long firstSize, long secondSize, ReadOnlySpan<byte> firstRoot, ReadOnlySpan<byte> secondRoot, IReadOnlyList<byte[]> proof)
    {
        if (firstSize < 0 || firstSize > secondSize || firstRoot.Length != MerkleHash.Size || secondRoot.Length != MerkleHash.Size || !AllHashes(proof))
        {
            return false;
        }
        if (firstSize == secondSize)
        {
            return proof.Count == 0 && firstRoot.SequenceEqual(secondRoot);
        }
        if (firstSize == 0)
        {
            return proof.Count == 0;
        }
        // 1. An empty path fails.
        if (proof.Count == 0)
        {
            return false;
        }
        // 2. If first is an exact power of 2, prepend first_hash to the path.
        var path = new List<byte[]>(proof.Count + 1);
        if ((firstSize & (firstSize - 1)) == 0)
        {
            path.Add(firstRoot.ToArray());
        }
        path.AddRange(proof);
        // 3. fn = first - 1, sn = second - 1.
        long fn = firstSize - 1;
        long sn = secondSize - 1;
        // 4. If LSB(fn) is set, shift both right until LSB(fn) is not set.
        while ((fn & 1) == 1)
        {
            fn >>= 1;
            sn >>= 1;
        }
        // 5. fr = sr = the first value of the path.
        byte[] fr = path[0];
        byte[] sr = path[0];
        // 6. For each subsequent value c:
        for (int i = 1; i < path.Count; i++)
        {
            byte[] c = path[i];
            // a. If sn is 0, fail.
            if (sn == 0)
            {
                return false;
            }
            // b. If LSB(fn) is set, or fn equals sn:
            if ((fn & 1) == 1 || fn == sn)
            {
                fr = MerkleHash.Node(c, fr);
                sr = MerkleHash.Node(c, sr);
                if ((fn & 1) == 0)
                {
                    while ((fn & 1) == 0 && fn != 0)
                    {
                        fn >>= 1;
                        sn >>= 1;
                    }
                }
            }
            else
            {
                sr = MerkleHash.Node(sr, c);
            }
            // c. Shift both right once.
            fn >>= 1;
            sn >>= 1;
        }
        // 7. fr must equal first_hash, sr must equal second_hash, and sn must be 0.
        return sn == 0 && fr.AsSpan().SequenceEqual(firstRoot) && sr.AsSpan().SequenceEqual(secondRoot);
    }

    /// <summary>No proof of a tree of fewer than 2^63 leaves is longer; anything longer is refused unread.</summary>
    public const int MaxProofLength = 128;

    private static bool AllHashes(IReadOnlyList<byte[]> proof)
    {
        if (proof is null || proof.Count > MaxProofLength)
        {
            return false;
        }
        foreach (byte[] hash in proof)
        {
            if (hash is null || hash.Length != MerkleHash.Size)
            {
                return false;
            }
        }
        return true;
    }
}
