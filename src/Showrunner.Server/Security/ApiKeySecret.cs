using System.Buffers.Text;
using System.Security.Cryptography;

namespace Showrunner.Server.Security;

/// <summary>
/// The text form of an API key: <c>sr_&lt;id&gt;_&lt;secret&gt;</c>, where <c>id</c> is the key's
/// public id (12 lower-case hex characters, 6 random bytes) and <c>secret</c> is 32 random bytes
/// from <see cref="RandomNumberGenerator"/> in unpadded base64url (43 characters). The id inside
/// the text finds the stored key without a scan; the store holds only SHA-256 of the secret bytes.
/// </summary>
internal static class ApiKeySecret
{
    public const string Prefix = "sr_";
    public const int IdLength = 12;
    public const int SecretBytes = 32;
    public const int SecretTextLength = 43;
    /// <summary>The whole key's length: every key has exactly this many characters.</summary>
    public const int Length = 3 + IdLength + 1 + SecretTextLength;

    /// <summary>A new key: its id, its text (shown once, never stored), and the SHA-256 of its secret (stored).</summary>
    public static (string Id, string Text, byte[] SecretSha256) Create()
    {
        Span<byte> id = stackalloc byte[IdLength / 2];
        RandomNumberGenerator.Fill(id);
        Span<byte> secret = stackalloc byte[SecretBytes];
        RandomNumberGenerator.Fill(secret);
        try
        {
            string keyId = Convert.ToHexStringLower(id);
            return (keyId, Prefix + keyId + "_" + Base64Url.EncodeToString(secret), SHA256.HashData(secret));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
        }
    }

    /// <summary>Whether the text looks like a key at all (the prefix): tells keys from player tokens.</summary>
    public static bool LooksLikeKey(ReadOnlySpan<char> text) => text.StartsWith(Prefix, StringComparison.Ordinal);

    public static bool IsValidId(ReadOnlySpan<char> id)
    {
        if (id.Length != IdLength)
        {
            return false;
        }
        foreach (char c in id)
        {
            if (!char.IsAsciiHexDigitLower(c))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// Decodes unpadded base64url; false for any other text. (<see cref="Base64Url.TryDecodeFromChars"/>
    /// throws on characters outside the alphabet instead of answering false, so they are checked first.)
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<char> text, Span<byte> destination, out int written)
    {
        written = 0;
        return Base64Url.IsValid(text, out int length) && length <= destination.Length && Base64Url.TryDecodeFromChars(text, destination, out written);
    }

    /// <summary>
    /// Splits a key's text into its id and the SHA-256 of its secret; false when the text is not
    /// exactly the key format (wrong length, characters or separators).
    /// </summary>
    public static bool TryParse(ReadOnlySpan<char> text, out string id, Span<byte> secretSha256)
    {
        id = "";
        if (text.Length != Length || !LooksLikeKey(text) || text[Prefix.Length + IdLength] != '_')
        {
            return false;
        }
        var idText = text.Slice(Prefix.Length, IdLength);
        if (!IsValidId(idText))
        {
            return false;
        }
        Span<byte> secret = stackalloc byte[SecretBytes + 2];
        try
        {
            if (!TryDecode(text[(Prefix.Length + IdLength + 1)..], secret, out int written) || written != SecretBytes)
            {
                return false;
            }
            SHA256.HashData(secret[..SecretBytes], secretSha256);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
        }
        id = idText.ToString();
        return true;
    }
}
