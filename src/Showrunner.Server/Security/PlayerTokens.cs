using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Showrunner.Server.Security;

/// <summary>Why a player token was refused, or that it was not.</summary>
internal enum TokenStatus
{
    Valid,
    /// <summary>Not a token, a damaged one, or a signature that does not match (all look the same to the caller).</summary>
    Invalid,
    Expired,
}

/// <summary>A verified player token's claims.</summary>
internal sealed record PlayerToken(string Title, string Player, DateTimeOffset IssuedAt, DateTimeOffset ExpiresAt);

/// <summary>
/// Short-lived player tokens: <c>srt1.&lt;payload&gt;.&lt;signature&gt;</c>, both parts unpadded
/// base64url. The payload is a JSON object <c>{"title","player","iat","exp"}</c> (times in Unix
/// seconds); the signature is HMAC-SHA256 with the server's token key over the ASCII text
/// <c>srt1.&lt;payload&gt;</c>. A token is checked against the signature (in constant time) before
/// its payload is read, and expires at <c>exp</c> by the injected clock.
/// </summary>
/// <remarks>
/// Tokens are not stored: a token cannot be revoked before it expires except by replacing the
/// token key (<c>&lt;data&gt;/token.key</c>), which ends every token at once. That is why they are
/// short (docs/operations.md, "Player tokens").
/// </remarks>
internal sealed class PlayerTokens(byte[] key, TimeProvider time)
{
    public const string Prefix = "srt1.";
    /// <summary>Longest token accepted (a player id of 128 characters and a title of 64 fit with room).</summary>
    public const int MaxLength = 1024;
    public const int KeyBytes = 32;
    public const string KeyFileName = "token.key";
    public static readonly TimeSpan DefaultLifetime = TimeSpan.FromMinutes(15);
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromHours(24);

    public static bool LooksLikeToken(ReadOnlySpan<char> text) => text.StartsWith(Prefix, StringComparison.Ordinal);

    public (string Token, DateTimeOffset ExpiresAt) Issue(string title, string player, TimeSpan lifetime)
    {
        long issuedAt = time.GetUtcNow().ToUnixTimeSeconds();
        long expiresAt = issuedAt + (long)lifetime.TotalSeconds;
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("title", title);
            writer.WriteString("player", player);
            writer.WriteNumber("iat", issuedAt);
            writer.WriteNumber("exp", expiresAt);
            writer.WriteEndObject();
        }
        string signed = Prefix + Base64Url.EncodeToString(buffer.ToArray());
        string token = signed + "." + Base64Url.EncodeToString(Sign(signed));
        return (token, DateTimeOffset.FromUnixTimeSeconds(expiresAt));
    }

    public (TokenStatus Status, PlayerToken? Token) Verify(ReadOnlySpan<char> text)
    {
        if (text.Length > MaxLength || !LooksLikeToken(text))
        {
            return (TokenStatus.Invalid, null);
        }
        int dot = text.LastIndexOf('.');
        if (dot < Prefix.Length)
        {
            return (TokenStatus.Invalid, null);
        }
        var signedPart = text[..dot];
        Span<byte> signature = stackalloc byte[34];
        if (!ApiKeySecret.TryDecode(text[(dot + 1)..], signature, out int signatureLength) || signatureLength != 32)
        {
            return (TokenStatus.Invalid, null);
        }
        Span<byte> signedBytes = stackalloc byte[MaxLength];
        int signedLength = Encoding.ASCII.GetBytes(signedPart, signedBytes);
        Span<byte> expected = stackalloc byte[32];
        HMACSHA256.HashData(key, signedBytes[..signedLength], expected);
        if (!CryptographicOperations.FixedTimeEquals(expected, signature[..32]))
        {
            return (TokenStatus.Invalid, null);
        }
        // Signed by this server: the payload is what Issue wrote, but it is still read strictly.
        byte[] payload = new byte[MaxLength];
        if (!ApiKeySecret.TryDecode(signedPart[Prefix.Length..], payload, out int payloadLength))
        {
            return (TokenStatus.Invalid, null);
        }
        var claims = ReadClaims(payload.AsSpan(0, payloadLength));
        if (claims is null)
        {
            return (TokenStatus.Invalid, null);
        }
        return time.GetUtcNow() >= claims.ExpiresAt ? (TokenStatus.Expired, claims) : (TokenStatus.Valid, claims);
    }

    private static PlayerToken? ReadClaims(ReadOnlySpan<byte> payload)
    {
        string? title = null, player = null;
        long? issuedAt = null, expiresAt = null;
        try
        {
            var reader = new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = 2 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string name = reader.GetString()!;
                reader.Read();
                switch (name)
                {
                    case "title" when reader.TokenType == JsonTokenType.String:
                        title = reader.GetString();
                        break;
                    case "player" when reader.TokenType == JsonTokenType.String:
                        player = reader.GetString();
                        break;
                    case "iat" when reader.TokenType == JsonTokenType.Number:
                        issuedAt = reader.GetInt64();
                        break;
                    case "exp" when reader.TokenType == JsonTokenType.Number:
                        expiresAt = reader.GetInt64();
                        break;
                    default:
                        return null;
                }
            }
        }
        catch (Exception exception) when (exception is JsonException or FormatException or InvalidOperationException)
        {
            return null;
        }
        if (title is null || player is null || issuedAt is not { } iat || expiresAt is not { } exp ||
            iat < 0 || exp <= iat || exp - iat > (long)MaxLifetime.TotalSeconds)
        {
            return null;
        }
        return new PlayerToken(title, player, DateTimeOffset.FromUnixTimeSeconds(iat), DateTimeOffset.FromUnixTimeSeconds(exp));
    }

    private byte[] Sign(string signed) => HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(signed));

    /// <summary>
    /// The token key: <c>&lt;data&gt;/token.key</c> (32 random bytes, base64, mode 0600), created on
    /// the first start. Replacing it ends every token issued before.
    /// </summary>
    /// <exception cref="InvalidDataException">The file exists but is readable by others or does not hold 32 bytes of base64.</exception>
    public static (byte[] Key, bool Created) LoadOrCreateKey(string dataDirectory)
    {
        string path = Path.Combine(dataDirectory, KeyFileName);
        if (File.Exists(path))
        {
            if (SecretFile.IsExposed(path))
            {
                throw new InvalidDataException($"{path} is readable or writable by other users; run 'chmod 600 {path}'.");
            }
            byte[]? key = null;
            try
            {
                key = Convert.FromBase64String(File.ReadAllText(path).Trim());
            }
            catch (FormatException)
            {
                // Reported below with the rule.
            }
            if (key is not { Length: KeyBytes })
            {
                throw new InvalidDataException($"{path} does not hold {KeyBytes} bytes in base64; delete it to make a new one (every player token issued so far ends).");
            }
            return (key, false);
        }
        byte[] created = RandomNumberGenerator.GetBytes(KeyBytes);
        SecretFile.Write(path, Convert.ToBase64String(created) + "\n");
        return (created, true);
    }
}
