using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Showrunner.Core.Ledger;

/// <summary>The head of one partition's Merkle log: its size and the root of its first <c>Size</c> leaves.</summary>
public sealed record PartitionHead(long Size, byte[] Root);

/// <summary>
/// A statement of every partition's log head at one moment: sequence number, time (UTC ticks),
/// the id of the key that signs it, and for partition p (position p) its size and root.
/// Canonical bytes: docs/ledger.md, "Checkpoint".
/// </summary>
public sealed class Checkpoint
{
    public const int FormatVersion = 1;
    public const int PartitionCountMax = 65536;
    public const int CanonicalBytesMax = 16 * 1024 * 1024;

    private Checkpoint(long sequence, long timeTicks, string keyId, IReadOnlyList<PartitionHead> partitions)
    {
        Sequence = sequence;
        TimeTicks = timeTicks;
        KeyId = keyId;
        Partitions = partitions;
        CanonicalBytes = Encode();
    }

    public long Sequence { get; }
    public long TimeTicks { get; }
    public string KeyId { get; }
    public IReadOnlyList<PartitionHead> Partitions { get; }
    public byte[] CanonicalBytes { get; }

    /// <summary>The bytes the signature covers: "showrunner/ledger/checkpoint/v1" ‖ 0x00 ‖ canonical bytes.</summary>
    public byte[] SignedMessage()
    {
        byte[] domain = Encoding.UTF8.GetBytes(LedgerFormat.CheckpointDomain);
        return [.. domain, 0, .. CanonicalBytes];
    }

    public static Checkpoint Create(long sequence, long timeTicks, string keyId, IReadOnlyList<PartitionHead> partitions)
    {
        string? problem = Validate(sequence, timeTicks, keyId, partitions);
        if (problem is not null)
        {
            throw new ArgumentException(problem);
        }
        return new Checkpoint(sequence, timeTicks, keyId, [.. partitions.Select(p => p with { Root = (byte[])p.Root.Clone() })]);
    }

    /// <summary>Reads a checkpoint from its canonical bytes; anything else is refused.</summary>
    public static (Checkpoint? Checkpoint, string? Error) Decode(ReadOnlySpan<byte> canonicalBytes)
    {
        if (canonicalBytes.Length > CanonicalBytesMax)
        {
            return (null, "the checkpoint is too large");
        }
        long sequence, time;
        string keyId;
        var partitions = new List<PartitionHead>();
        try
        {
            using var document = JsonDocument.Parse(canonicalBytes.ToArray(), new JsonDocumentOptions { MaxDepth = 4 });
            var root = document.RootElement;
            if (root.GetProperty("v").GetInt64() != FormatVersion)
            {
                return (null, "unknown checkpoint format version");
            }
            sequence = root.GetProperty("sequence").GetInt64();
            time = root.GetProperty("time").GetInt64();
            keyId = root.GetProperty("key_id").GetString() ?? "";
            foreach (var head in root.GetProperty("partitions").EnumerateArray())
            {
                string hex = head.GetProperty("root").GetString() ?? "";
                if (hex.Length != 2 * MerkleHash.Size || !hex.All(char.IsAsciiHexDigitLower))
                {
                    return (null, "a partition root is not 64 lower-case hex digits");
                }
                partitions.Add(new PartitionHead(head.GetProperty("size").GetInt64(), Convert.FromHexString(hex)));
            }
        }
        catch (Exception exception) when (exception is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            return (null, "the checkpoint is not well-formed: " + exception.Message);
        }
        string? problem = Validate(sequence, time, keyId, partitions);
        if (problem is not null)
        {
            return (null, problem);
        }
        var checkpoint = new Checkpoint(sequence, time, keyId, partitions);
        return checkpoint.CanonicalBytes.AsSpan().SequenceEqual(canonicalBytes) ? (checkpoint, null) : (null, "the checkpoint is not in canonical form");
    }

    private static string? Validate(long sequence, long timeTicks, string keyId, IReadOnlyList<PartitionHead> partitions)
    {
        if (sequence < 0 || timeTicks < 0)
        {
            return "sequence and time must not be negative";
        }
        if (keyId is null || keyId.Length != 64 || !keyId.All(char.IsAsciiHexDigitLower))
        {
            return "key_id must be 64 lower-case hex digits";
        }
        if (partitions is null || partitions.Count == 0 || partitions.Count > PartitionCountMax)
        {
            return $"a checkpoint covers 1 to {PartitionCountMax} partitions";
        }
        foreach (var head in partitions)
        {
            if (head.Size < 0 || head.Root is null || head.Root.Length != MerkleHash.Size)
            {
                return "a partition head needs a size of at least 0 and a 32-byte root";
            }
        }
        return null;
    }

    private byte[] Encode()
    {
        var writer = new CanonicalJsonWriter();
        writer.StartObject();
        writer.Key("key_id");
        writer.String(KeyId);
        writer.Key("partitions");
        writer.StartArray();
        foreach (var head in Partitions)
        {
            writer.StartObject();
            writer.Key("root");
            writer.String(Convert.ToHexStringLower(head.Root));
            writer.Key("size");
            writer.Number(head.Size);
            writer.EndObject();
        }
        writer.EndArray();
        writer.Key("sequence");
        writer.Number(Sequence);
        writer.Key("time");
        writer.Number(TimeTicks);
        writer.Key("v");
        writer.Number(FormatVersion);
        writer.EndObject();
        return writer.ToArray();
    }
}

/// <summary>A checkpoint and its ECDSA P-256 / SHA-256 signature (DER, RFC 3279 Ecdsa-Sig-Value) over <see cref="Checkpoint.SignedMessage"/>.</summary>
public sealed record SignedCheckpoint(Checkpoint Checkpoint, byte[] Signature)
{
    /// <summary>True when the signature verifies with the public key and the checkpoint names that key's id.</summary>
    public bool Verify(LedgerPublicKey key) =>
        Checkpoint.KeyId == key.KeyId && key.VerifySignature(Checkpoint.SignedMessage(), Signature);
}

/// <summary>
/// A ledger verification key: an ECDSA P-256 public key. Its id is the lower-case hex SHA-256 of
/// its SubjectPublicKeyInfo DER, which is what a PEM "PUBLIC KEY" block holds in base64.
/// </summary>
public sealed class LedgerPublicKey : IDisposable
{
    private readonly ECDsa _key;

    private LedgerPublicKey(ECDsa key, byte[] subjectPublicKeyInfo)
    {
        _key = key;
        SubjectPublicKeyInfo = subjectPublicKeyInfo;
        KeyId = LedgerSigningKey.KeyIdOf(subjectPublicKeyInfo);
    }

    public string KeyId { get; }
    public byte[] SubjectPublicKeyInfo { get; }

    /// <summary>Reads a SubjectPublicKeyInfo PEM ("-----BEGIN PUBLIC KEY-----"); only P-256 keys are accepted.</summary>
    public static (LedgerPublicKey? Key, string? Error) FromPem(string pem)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
            if (key.KeySize != 256 || key.ExportParameters(false).Curve.Oid.Value != ECCurve.NamedCurves.nistP256.Oid.Value)
            {
                key.Dispose();
                return (null, "the key is not an ECDSA P-256 key");
            }
            return (new LedgerPublicKey(key, key.ExportSubjectPublicKeyInfo()), null);
        }
        catch (Exception exception) when (exception is ArgumentException or CryptographicException)
        {
            key.Dispose();
            return (null, "the public key PEM could not be read: " + exception.Message);
        }
    }

    public bool VerifySignature(byte[] message, byte[] signature)
    {
        try
        {
            return _key.VerifyData(message, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    public string ExportPem() => _key.ExportSubjectPublicKeyInfoPem();

    public void Dispose() => _key.Dispose();
}

/// <summary>
/// The ledger's signing key (ECDSA P-256). Created once per data directory and kept there as
/// PKCS#8 PEM; the public half is published as SubjectPublicKeyInfo PEM.
/// </summary>
/// <remarks>
/// Key creation draws from the operating system's random source, as a key must. Signatures are
/// ECDSA with a fresh random nonce each time (.NET offers no RFC 6979 on every platform), so
/// signing the same checkpoint twice gives two valid, different signatures; no ledger entry
/// depends on a signature, so replays still produce identical ledger bytes.
/// </remarks>
public sealed class LedgerSigningKey : IDisposable
{
    private readonly ECDsa _key;

    private LedgerSigningKey(ECDsa key)
    {
        _key = key;
        SubjectPublicKeyInfo = key.ExportSubjectPublicKeyInfo();
        KeyId = KeyIdOf(SubjectPublicKeyInfo);
    }

    public string KeyId { get; }
    public byte[] SubjectPublicKeyInfo { get; }

    public static LedgerSigningKey Create() => new(ECDsa.Create(ECCurve.NamedCurves.nistP256));

    /// <summary>Reads a PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----") holding a P-256 key.</summary>
    public static LedgerSigningKey FromPkcs8Pem(string pem)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
            if (key.ExportParameters(false).Curve.Oid.Value != ECCurve.NamedCurves.nistP256.Oid.Value)
            {
                throw new CryptographicException("The ledger key must be an ECDSA P-256 key.");
            }
            return new LedgerSigningKey(key);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    public string ExportPkcs8Pem() => _key.ExportPkcs8PrivateKeyPem();

    public string ExportPublicKeyPem() => _key.ExportSubjectPublicKeyInfoPem();

    /// <summary>Builds and signs the checkpoint of the given partition heads (position = partition number).</summary>
    public SignedCheckpoint Sign(long sequence, long timeTicks, IReadOnlyList<PartitionHead> partitions)
    {
        var checkpoint = Checkpoint.Create(sequence, timeTicks, KeyId, partitions);
        byte[] signature = _key.SignData(checkpoint.SignedMessage(), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        return new SignedCheckpoint(checkpoint, signature);
    }

    /// <summary>Lower-case hex SHA-256 of a SubjectPublicKeyInfo DER.</summary>
    public static string KeyIdOf(ReadOnlySpan<byte> subjectPublicKeyInfo) => Convert.ToHexStringLower(SHA256.HashData(subjectPublicKeyInfo));

    public void Dispose() => _key.Dispose();
}
