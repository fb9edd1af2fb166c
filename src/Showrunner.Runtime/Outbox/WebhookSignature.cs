using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Showrunner.Runtime.Outbox;

/// <summary>
/// The signature on every webhook request (docs/webhooks.md):
/// <c>X-Showrunner-Signature: sha256=HEX</c> where HEX is the lowercase hex HMAC-SHA256, keyed with
/// the UTF-8 bytes of the shared secret, over the ASCII timestamp (Unix seconds, the
/// <c>X-Showrunner-Timestamp</c> header), one '.' and the raw body bytes.
/// </summary>
public static class WebhookSignature
{
    public const string SignatureHeader = "X-Showrunner-Signature";
    public const string TimestampHeader = "X-Showrunner-Timestamp";
    public const string IdempotencyKeyHeader = "Idempotency-Key";
    public const string AttemptHeader = "X-Showrunner-Attempt";
    public const string Prefix = "sha256=";

    /// <summary>The header value (<c>sha256=…</c>) for a body sent at <paramref name="timestampSeconds"/>.</summary>
    public static string Compute(ReadOnlySpan<byte> key, long timestampSeconds, ReadOnlySpan<byte> body)
    {
        var timestamp = timestampSeconds.ToString(CultureInfo.InvariantCulture);
        var signed = new byte[timestamp.Length + 1 + body.Length];
        Encoding.ASCII.GetBytes(timestamp, signed);
        signed[timestamp.Length] = (byte)'.';
        body.CopyTo(signed.AsSpan(timestamp.Length + 1));
        return Prefix + Convert.ToHexStringLower(HMACSHA256.HashData(key, signed));
    }

    public static string Compute(string secret, long timestampSeconds, ReadOnlySpan<byte> body) =>
        Compute(Encoding.UTF8.GetBytes(secret), timestampSeconds, body);

    /// <summary>
    /// What a receiver does: checks that the timestamp is within <paramref name="tolerance"/> of
    /// <paramref name="now"/> (either way) and that the signature matches, in constant time.
    /// </summary>
    public static SignatureCheck Verify(string secret, string? timestampHeader, string? signatureHeader, ReadOnlySpan<byte> body, DateTimeOffset now, TimeSpan tolerance)
    {
        if (timestampHeader is null || !long.TryParse(timestampHeader, NumberStyles.None, CultureInfo.InvariantCulture, out long timestamp))
        {
            return SignatureCheck.MalformedTimestamp;
        }
        if (signatureHeader is null || !signatureHeader.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return SignatureCheck.Mismatch;
        }
        if (Math.Abs(now.ToUnixTimeSeconds() - timestamp) > (long)tolerance.TotalSeconds)
        {
            return SignatureCheck.OutsideTolerance;
        }
        var expected = Encoding.ASCII.GetBytes(Compute(secret, timestamp, body));
        var actual = Encoding.ASCII.GetBytes(signatureHeader);
        return CryptographicOperations.FixedTimeEquals(expected, actual) ? SignatureCheck.Valid : SignatureCheck.Mismatch;
    }
}

public enum SignatureCheck
{
    Valid,
    MalformedTimestamp,
    OutsideTolerance,
    Mismatch,
}
