using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Showrunner.Core.Actions;

namespace Showrunner.Core.Audit;

/// <summary>
/// One entry of the audit log: who did what, when, to what, with its place in the log and its
/// hash link. Immutable; built by <see cref="Create"/> (new entries, every field checked) and
/// checked back by <see cref="AuditChain"/> (stored or served entries).
/// </summary>
/// <remarks>
/// The hash covers every field and the previous entry's hash (docs/audit.md, "Entry hash"):
/// <c>SHA-256("showrunner/audit/entry/v1" ‖ 0x00 ‖ prev_hash ‖ u64be(seq) ‖ F(at) ‖ F(actor) ‖
/// F(action) ‖ F(target) ‖ O(before) ‖ O(after) ‖ O(reason) ‖ O(details))</c>, with
/// <c>F(s) = u32be(len(utf8(s))) ‖ utf8(s)</c>, <c>O(null) = 0x00</c>, <c>O(s) = 0x01 ‖ F(s)</c>, and
/// <c>at</c> in its RFC 3339 form (<see cref="Rfc3339.Format"/>). Length prefixes make every field
/// boundary unambiguous, so no two different entries encode alike.
/// </remarks>
public sealed record AuditEntry(
    long Seq, long AtTicks, string Actor, string Action, string Target, string? Before, string? After, string? Reason, string? Details,
    byte[] PrevHash, byte[] Hash)
{
    public const string HashDomain = "showrunner/audit/entry/v1";
    public const int ActorLengthMax = 256;
    public const int ActionLengthMax = 64;
    public const int TargetLengthMax = 256;
    /// <summary>Longest <c>before</c> and <c>after</c> (ids, versions, phases, counts).</summary>
    public const int ValueLengthMax = 256;
    public const int ReasonLengthMax = 2000;
    /// <summary>Largest <c>details</c> object, in UTF-8 bytes.</summary>
    public const int DetailsBytesMax = 16 * 1024;
    public const int DetailsDepthMax = 8;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The prev_hash of entry 1: 32 zero bytes.</summary>
    public static byte[] GenesisPrevHash() => new byte[32];

    /// <summary>The entry at <paramref name="seq"/> after the entry whose hash is <paramref name="prevHash"/>.</summary>
    /// <exception cref="ArgumentException">A field breaks a rule of <see cref="Problem"/>; the message names it.</exception>
    public static AuditEntry Create(long seq, byte[] prevHash, long atTicks, string actor, string action, string target,
        string? before, string? after, string? reason, string? details)
    {
        ArgumentNullException.ThrowIfNull(prevHash);
        if (Problem(seq, atTicks, actor, action, target, before, after, reason, details) is { } problem)
        {
            throw new ArgumentException("Invalid audit entry: " + problem);
        }
        if (prevHash.Length != 32)
        {
            throw new ArgumentException("Invalid audit entry: prev_hash must be 32 bytes.", nameof(prevHash));
        }
        byte[] copy = (byte[])prevHash.Clone();
        return new AuditEntry(seq, atTicks, actor, action, target, before, after, reason, details, copy,
            ComputeHash(copy, seq, atTicks, actor, action, target, before, after, reason, details));
    }

    /// <summary>This entry's hash as recomputed from its fields and <see cref="PrevHash"/> (not the stored <see cref="Hash"/>).</summary>
    public byte[] ComputeHash() => ComputeHash(PrevHash, Seq, AtTicks, Actor, Action, Target, Before, After, Reason, Details);

    /// <summary>The first rule a field breaks, as a sentence naming the field; null when every field is valid.</summary>
    public static string? Problem(long seq, long atTicks, string? actor, string? action, string? target,
        string? before, string? after, string? reason, string? details)
    {
        if (seq < 1)
        {
            return $"seq is {seq}; entries are numbered from 1.";
        }
        if (atTicks < DateTime.UnixEpoch.Ticks || atTicks > DateTime.MaxValue.Ticks)
        {
            return "at is not a UTC time from 1970 to 9999.";
        }
        if (Identifier("actor", actor, ActorLengthMax) is { } actorProblem)
        {
            return actorProblem;
        }
        if (Identifier("action", action, ActionLengthMax) is { } actionProblem)
        {
            return actionProblem;
        }
        if (!action!.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '_' or '-'))
        {
            return "action is written in a-z, 0-9, '.', '_' and '-' (e.g. release.activate).";
        }
        if (Identifier("target", target, TargetLengthMax) is { } targetProblem)
        {
            return targetProblem;
        }
        if (before is not null && Identifier("before", before, ValueLengthMax) is { } beforeProblem)
        {
            return beforeProblem;
        }
        if (after is not null && Identifier("after", after, ValueLengthMax) is { } afterProblem)
        {
            return afterProblem;
        }
        if (reason is not null && (reason.Length is 0 or > ReasonLengthMax || !IsWellFormed(reason)))
        {
            return $"reason is null or 1 to {ReasonLengthMax} characters of well-formed text.";
        }
        if (details is not null && DetailsProblem(details) is { } detailsProblem)
        {
            return detailsProblem;
        }
        return null;
    }

    private static string? Identifier(string name, string? value, int max) =>
        value is null || value.Length == 0 || value.Length > max || value.Any(char.IsControl) || !IsWellFormed(value)
            ? $"{name} is 1 to {max} characters without control characters."
            : null;

    private static string? DetailsProblem(string details)
    {
        if (!IsWellFormed(details) || StrictUtf8.GetByteCount(details) > DetailsBytesMax)
        {
            return $"details is a JSON object of at most {DetailsBytesMax} bytes.";
        }
        try
        {
            using var document = JsonDocument.Parse(details, new JsonDocumentOptions { MaxDepth = DetailsDepthMax });
            return document.RootElement.ValueKind == JsonValueKind.Object ? null : "details is a JSON object (or null).";
        }
        catch (JsonException)
        {
            return $"details is a JSON object (or null) nested at most {DetailsDepthMax} deep.";
        }
    }

    /// <summary>No unpaired surrogate: the text has exactly one UTF-8 encoding, so the hash is well defined.</summary>
    private static bool IsWellFormed(string text)
    {
        try
        {
            StrictUtf8.GetByteCount(text);
            return true;
        }
        catch (EncoderFallbackException)
        {
            return false;
        }
    }

    private static byte[] ComputeHash(byte[] prevHash, long seq, long atTicks, string actor, string action, string target,
        string? before, string? after, string? reason, string? details)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.ASCII.GetBytes(HashDomain));
        hash.AppendData([0]);
        hash.AppendData(prevHash);
        Span<byte> number = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(number, (ulong)seq);
        hash.AppendData(number);
        Field(hash, Rfc3339.Format(atTicks));
        Field(hash, actor);
        Field(hash, action);
        Field(hash, target);
        Optional(hash, before);
        Optional(hash, after);
        Optional(hash, reason);
        Optional(hash, details);
        return hash.GetHashAndReset();
    }

    private static void Field(IncrementalHash hash, string value)
    {
        byte[] bytes = StrictUtf8.GetBytes(value);
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(length, (uint)bytes.Length);
        hash.AppendData(length);
        hash.AppendData(bytes);
    }

    private static void Optional(IncrementalHash hash, string? value)
    {
        if (value is null)
        {
            hash.AppendData([0]);
            return;
        }
        hash.AppendData([1]);
        Field(hash, value);
    }
}
