using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Showrunner.Core.Ledger;

/// <summary>What kind of thing caused a grant.</summary>
public enum CauseKind
{
    /// <summary>A player's action crossed a tier; the cause id is the action id.</summary>
    Action,
    /// <summary>The run was finalized (prize ranges); the cause id names the step, e.g. <c>final</c>.</summary>
    Finalization,
    /// <summary>The run's community goal was reached; the cause id names the goal.</summary>
    CommunityGoal,
    /// <summary>An operator granted by hand; the cause id is the operator's request id.</summary>
    Operator,
    /// <summary>An operator corrected an earlier grant; the cause id is the request id.</summary>
    Correction,
}

/// <summary>One reward of a grant: a name (item, currency) and a signed amount.</summary>
public sealed record RewardLine(string Name, long Amount);

/// <summary>
/// What caused a grant: the event run, the player, the rule that paid and the cause. Two equal
/// causes are one grant; <see cref="GrantId"/> is derived from exactly these fields.
/// </summary>
public sealed record GrantCause(string EventId, long Run, string Player, string Rule, CauseKind Kind, string CauseId)
{
    /// <summary>The deterministic grant id of this cause (docs/ledger.md, "Grant id").</summary>
    public string GrantId => LedgerFormat.GrantId(this);
}

/// <summary>
/// One ledger entry: a grant (or an operator grant or correction) with its place in its
/// partition's log and its hash link. Immutable; built by <see cref="Create"/> (for new entries)
/// or <see cref="Decode"/> (for stored or received bytes), both of which check every field.
/// </summary>
/// <remarks>
/// The canonical bytes (docs/ledger.md, "Entry") cover every field except <c>prev_hash</c> and
/// <c>hash</c>; hash = SHA-256("showrunner/ledger/entry/v1" ‖ 0x00 ‖ prev_hash ‖ canonical bytes).
/// Equal entries have equal bytes.
/// </remarks>
public sealed class GrantEntry
{
    public const int FormatVersion = 1;
    public const int IdentifierLengthMax = 256;
    public const int ReasonLengthMax = 2000;
    public const int RewardLinesMax = 32;
    public const int CanonicalBytesMax = 64 * 1024;

    private GrantEntry(GrantCause cause, IReadOnlyList<RewardLine> rewards, string releaseId, long timeTicks, string? author, string? reason,
        int partition, long index, byte[] prevHash, string? actionId)
    {
        Cause = cause;
        ActionId = actionId;
        GrantId = cause.GrantId;
        Rewards = rewards;
        ReleaseId = releaseId;
        TimeTicks = timeTicks;
        Author = author;
        Reason = reason;
        Partition = partition;
        Index = index;
        PrevHash = prevHash;
        CanonicalBytes = Encode();
        Hash = LedgerFormat.EntryHash(prevHash, CanonicalBytes);
    }

    public GrantCause Cause { get; }
    public string GrantId { get; }
    public string Player => Cause.Player;
    public string EventId => Cause.EventId;
    public long Run => Cause.Run;
    public CauseKind CauseKind => Cause.Kind;
    public string CauseId => Cause.CauseId;
    public string Rule => Cause.Rule;

    /// <summary>
    /// The action that caused the grant (a tier crossing, a late community-goal participant), or
    /// null. Recorded in the entry, never part of the grant id: rules that pay once per player per
    /// run keep one id whichever action crossed (docs/internals/live-events.md).
    /// </summary>
    public string? ActionId { get; }
    public IReadOnlyList<RewardLine> Rewards { get; }
    public string ReleaseId { get; }

    /// <summary>UTC time in .NET ticks (100 ns since 0001-01-01T00:00:00Z), as recorded for the cause.</summary>
    public long TimeTicks { get; }
    public string? Author { get; }
    public string? Reason { get; }
    public int Partition { get; }
    public long Index { get; }
    public byte[] PrevHash { get; }
    public byte[] Hash { get; }
    public byte[] CanonicalBytes { get; }

    /// <summary>The Merkle leaf hash of this entry: SHA-256(0x00 ‖ hash).</summary>
    public byte[] LeafHash => MerkleHash.Leaf(Hash);

    /// <summary>Builds a new entry; throws <see cref="ArgumentException"/> when a field breaks a rule (a bug in the caller).</summary>
    public static GrantEntry Create(GrantCause cause, IReadOnlyList<RewardLine> rewards, string releaseId, long timeTicks, string? author, string? reason,
        int partition, long index, ReadOnlySpan<byte> prevHash, string? actionId = null)
    {
        string? problem = Validate(cause, rewards, releaseId, timeTicks, author, reason, partition, index, prevHash.Length)
            ?? (actionId is null ? null : Identifier("action", actionId));
        if (problem is not null)
        {
            throw new ArgumentException(problem);
        }
        return new GrantEntry(cause, [.. rewards], releaseId, timeTicks, author, reason, partition, index, prevHash.ToArray(), actionId);
    }

    /// <summary>
    /// Reads an entry from its canonical bytes and its prev_hash. Refuses anything that is not
    /// exactly the canonical encoding of a valid entry (so one entry has one byte sequence), and
    /// a grant id that does not derive from the cause.
    /// </summary>
    public static (GrantEntry? Entry, string? Error) Decode(ReadOnlySpan<byte> canonicalBytes, ReadOnlySpan<byte> prevHash)
    {
        if (canonicalBytes.Length > CanonicalBytesMax)
        {
            return (null, $"the entry is {canonicalBytes.Length} bytes; at most {CanonicalBytesMax}");
        }
        if (prevHash.Length != MerkleHash.Size)
        {
            return (null, $"prev_hash is {prevHash.Length} bytes, not {MerkleHash.Size}");
        }
        GrantCause cause;
        List<RewardLine> rewards = [];
        string grantId, releaseId;
        string? author, reason, actionId;
        long timeTicks, index, partition;
        try
        {
            using var document = JsonDocument.Parse(canonicalBytes.ToArray(), new JsonDocumentOptions { MaxDepth = 4 });
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, "the entry is not a JSON object");
            }
            if (Int(root, "v") != FormatVersion)
            {
                return (null, $"unknown entry format version (expected {FormatVersion})");
            }
            if (!TryParseKind(Text(root, "cause_kind"), out var kind))
            {
                return (null, "unknown cause_kind");
            }
            cause = new GrantCause(Text(root, "event"), Int(root, "run"), Text(root, "player"), Text(root, "rule"), kind, Text(root, "cause_id"));
            foreach (var line in Member(root, "rewards").EnumerateArray())
            {
                rewards.Add(new RewardLine(Text(line, "name"), Int(line, "amount")));
            }
            actionId = TextOrNull(root, "action");
            grantId = Text(root, "grant_id");
            releaseId = Text(root, "release");
            author = TextOrNull(root, "author");
            reason = TextOrNull(root, "reason");
            timeTicks = Int(root, "time");
            index = Int(root, "index");
            partition = Int(root, "partition");
        }
        catch (Exception exception) when (exception is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            return (null, "the entry is not well-formed: " + exception.Message);
        }
        if (partition is < 0 or > int.MaxValue)
        {
            return (null, "partition is out of range");
        }
        string? problem = Validate(cause, rewards, releaseId, timeTicks, author, reason, (int)partition, index, prevHash.Length)
            ?? (actionId is null ? null : Identifier("action", actionId));
        if (problem is not null)
        {
            return (null, problem);
        }
        if (grantId != cause.GrantId)
        {
            return (null, "grant_id does not derive from the cause");
        }
        var entry = new GrantEntry(cause, rewards, releaseId, timeTicks, author, reason, (int)partition, index, prevHash.ToArray(), actionId);
        if (!entry.CanonicalBytes.AsSpan().SequenceEqual(canonicalBytes))
        {
            return (null, "the entry is not in canonical form");
        }
        return (entry, null);
    }

    public static string KindName(CauseKind kind) => kind switch
    {
        CauseKind.Action => "action",
        CauseKind.Finalization => "finalization",
        CauseKind.CommunityGoal => "community_goal",
        CauseKind.Operator => "operator",
        CauseKind.Correction => "correction",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public static bool TryParseKind(string name, out CauseKind kind)
    {
        foreach (var candidate in Enum.GetValues<CauseKind>())
        {
            if (KindName(candidate) == name)
            {
                kind = candidate;
                return true;
            }
        }
        kind = default;
        return false;
    }

    private byte[] Encode()
    {
        var writer = new CanonicalJsonWriter();
        writer.StartObject();
        writer.Key("action");
        writer.StringOrNull(ActionId);
        writer.Key("author");
        writer.StringOrNull(Author);
        writer.Key("cause_id");
        writer.String(CauseId);
        writer.Key("cause_kind");
        writer.String(KindName(CauseKind));
        writer.Key("event");
        writer.String(EventId);
        writer.Key("grant_id");
        writer.String(GrantId);
        writer.Key("index");
        writer.Number(Index);
        writer.Key("partition");
        writer.Number(Partition);
        writer.Key("player");
        writer.String(Player);
        writer.Key("reason");
        writer.StringOrNull(Reason);
        writer.Key("release");
        writer.String(ReleaseId);
        writer.Key("rewards");
        writer.StartArray();
        foreach (var line in Rewards)
        {
            writer.StartObject();
            writer.Key("amount");
            writer.Number(line.Amount);
            writer.Key("name");
            writer.String(line.Name);
            writer.EndObject();
        }
        writer.EndArray();
        writer.Key("rule");
        writer.String(Rule);
        writer.Key("run");
        writer.Number(Run);
        writer.Key("time");
        writer.Number(TimeTicks);
        writer.Key("v");
        writer.Number(FormatVersion);
        writer.EndObject();
        return writer.ToArray();
    }

    private static string? Validate(GrantCause cause, IReadOnlyList<RewardLine> rewards, string releaseId, long timeTicks, string? author, string? reason,
        int partition, long index, int prevHashLength)
    {
        string? problem = Identifier("event", cause.EventId) ?? Identifier("player", cause.Player) ?? Identifier("rule", cause.Rule)
            ?? Identifier("cause_id", cause.CauseId);
        if (problem is not null)
        {
            return problem;
        }
        if (!Enum.IsDefined(cause.Kind))
        {
            return "cause_kind is not one of the defined kinds";
        }
        if (cause.Run < 0 || timeTicks < 0 || partition < 0 || index < 0)
        {
            return "run, time, partition and index must not be negative";
        }
        if (releaseId is null || releaseId.Length != 64 || !releaseId.All(char.IsAsciiHexDigitLower))
        {
            return "release must be 64 lower-case hex digits";
        }
        if (prevHashLength != MerkleHash.Size)
        {
            return $"prev_hash must be {MerkleHash.Size} bytes";
        }
        bool manual = cause.Kind is CauseKind.Operator or CauseKind.Correction;
        if (manual)
        {
            problem = Identifier("author", author);
            if (problem is not null)
            {
                return problem;
            }
            if (string.IsNullOrEmpty(reason) || reason.Length > ReasonLengthMax || !CanonicalJsonWriter.IsWellFormed(reason))
            {
                return $"an operator grant or correction needs a reason of 1 to {ReasonLengthMax} characters";
            }
        }
        else if (author is not null || reason is not null)
        {
            return "only operator grants and corrections carry author and reason";
        }
        if (rewards is null || rewards.Count == 0 || rewards.Count > RewardLinesMax)
        {
            return $"a grant has 1 to {RewardLinesMax} reward lines";
        }
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in rewards)
        {
            problem = Identifier("reward name", line.Name);
            if (problem is not null)
            {
                return problem;
            }
            if (!names.Add(line.Name))
            {
                return $"reward '{line.Name}' appears twice";
            }
            if (line.Amount == 0 || (line.Amount < 0 && cause.Kind != CauseKind.Correction))
            {
                return $"reward '{line.Name}' has amount {line.Amount}: amounts are non-zero, and negative only in corrections";
            }
        }
        return null;
    }

    private static string? Identifier(string field, string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > IdentifierLengthMax)
        {
            return $"{field} must be 1 to {IdentifierLengthMax} characters";
        }
        if (!CanonicalJsonWriter.IsWellFormed(value) || ContainsControl(value))
        {
            return $"{field} must not contain control characters or lone surrogates";
        }
        return null;
    }

    private static bool ContainsControl(string value)
    {
        foreach (char c in value)
        {
            if (char.IsControl(c))
            {
                return true;
            }
        }
        return false;
    }

    private static JsonElement Member(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) ? value : throw new KeyNotFoundException($"'{name}' is missing");

    private static string Text(JsonElement element, string name) =>
        Member(element, name).GetString() ?? throw new FormatException($"'{name}' is null");

    private static string? TextOrNull(JsonElement element, string name)
    {
        var value = Member(element, name);
        return value.ValueKind == JsonValueKind.Null ? null : value.GetString();
    }

    private static long Int(JsonElement element, string name) =>
        Member(element, name).TryGetInt64(out long value) ? value : throw new FormatException($"'{name}' is not an integer");
}

/// <summary>The hashes and derivations of the ledger's formats (docs/ledger.md).</summary>
public static class LedgerFormat
{
    public const string GrantIdDomain = "showrunner/grant-id/v1";
    public const string EntryDomain = "showrunner/ledger/entry/v1";
    public const string CheckpointDomain = "showrunner/ledger/checkpoint/v1";

    /// <summary>
    /// SHA-256 of the domain, a zero byte, then each of event, run (decimal), player, rule,
    /// cause kind and cause id as a 4-byte big-endian UTF-8 length and the UTF-8 bytes; lower-case hex.
    /// </summary>
    public static string GrantId(GrantCause cause)
    {
        Span<char> run = stackalloc char[20];
        cause.Run.TryFormat(run, out int runLength, default, CultureInfo.InvariantCulture);
        string kind = GrantEntry.KindName(cause.Kind);
        int length = GrantIdDomainBytes.Length + 1 + (6 * 4) + runLength
            + Encoding.UTF8.GetByteCount(cause.EventId) + Encoding.UTF8.GetByteCount(cause.Player) + Encoding.UTF8.GetByteCount(cause.Rule)
            + Encoding.UTF8.GetByteCount(kind) + Encoding.UTF8.GetByteCount(cause.CauseId);
        byte[] rented = System.Buffers.ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var buffer = rented.AsSpan(0, length);
            GrantIdDomainBytes.CopyTo(buffer);
            buffer[GrantIdDomainBytes.Length] = 0;
            int at = GrantIdDomainBytes.Length + 1;
            at = Field(buffer, at, cause.EventId);
            at = Field(buffer, at, run[..runLength]);
            at = Field(buffer, at, cause.Player);
            at = Field(buffer, at, cause.Rule);
            at = Field(buffer, at, kind);
            at = Field(buffer, at, cause.CauseId);
            Span<byte> hash = stackalloc byte[32];
            SHA256.HashData(buffer[..at], hash);
            return Convert.ToHexStringLower(hash);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }

        // F(s) = u32be(len(utf8(s))) ‖ utf8(s)
        static int Field(Span<byte> buffer, int at, ReadOnlySpan<char> value)
        {
            int written = Encoding.UTF8.GetBytes(value, buffer[(at + 4)..]);
            BinaryPrimitives.WriteUInt32BigEndian(buffer[at..], (uint)written);
            return at + 4 + written;
        }
    }

    private static readonly byte[] GrantIdDomainBytes = Encoding.UTF8.GetBytes(GrantIdDomain);

    /// <summary>SHA-256(domain ‖ 0x00 ‖ prev_hash ‖ canonical entry bytes).</summary>
    public static byte[] EntryHash(ReadOnlySpan<byte> prevHash, ReadOnlySpan<byte> canonicalBytes)
    {
        byte[] domain = Encoding.UTF8.GetBytes(EntryDomain);
        var buffer = new byte[domain.Length + 1 + prevHash.Length + canonicalBytes.Length];
        domain.CopyTo(buffer, 0);
        buffer[domain.Length] = 0;
        prevHash.CopyTo(buffer.AsSpan(domain.Length + 1));
        canonicalBytes.CopyTo(buffer.AsSpan(domain.Length + 1 + prevHash.Length));
        return SHA256.HashData(buffer);
    }

    /// <summary>The prev_hash of the first entry of every partition.</summary>
    public static byte[] GenesisPrevHash() => new byte[MerkleHash.Size];
}
