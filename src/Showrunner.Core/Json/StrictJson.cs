using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Showrunner.Core.Json;

/// <summary>What the strict reading policy found wrong with a JSON text (<see cref="StrictJson.Validate"/>).</summary>
public enum JsonViolationKind
{
    /// <summary>Not well-formed JSON (RFC 8259): a broken token, a comment, a trailing comma, nothing at all.</summary>
    Syntax,
    /// <summary>More after the one top-level value.</summary>
    TrailingData,
    /// <summary>Bytes that are not UTF-8 (also overlong forms and encoded surrogates).</summary>
    InvalidUtf8,
    /// <summary>A <c>\u</c> escape that leaves a lone UTF-16 surrogate, in a string or a member name.</summary>
    InvalidEscape,
    /// <summary>A member name that appears twice in one object (after unescaping).</summary>
    DuplicateMember,
    /// <summary>Objects and arrays nested deeper than the limit.</summary>
    TooDeep,
}

/// <summary>One refusal: its kind, where (0-based byte offset; 1-based line and byte in that line) and a sentence for people.</summary>
public readonly record struct JsonViolation(JsonViolationKind Kind, long Offset, long Line, long ByteInLine, string Detail)
{
    /// <summary>The stable name of <see cref="Kind"/> that problem documents carry (<c>violation</c>).</summary>
    public string Code => Kind switch
    {
        JsonViolationKind.Syntax => "syntax",
        JsonViolationKind.TrailingData => "trailing_data",
        JsonViolationKind.InvalidUtf8 => "invalid_utf8",
        JsonViolationKind.InvalidEscape => "invalid_escape",
        JsonViolationKind.DuplicateMember => "duplicate_member",
        _ => "too_deep",
    };

    /// <summary>True for the kinds any RFC 8259 parser refuses on its own (the others are the policy's additions).</summary>
    public bool IsSyntax => Kind is JsonViolationKind.Syntax or JsonViolationKind.TrailingData;
}

/// <summary>
/// The one strict JSON reading policy of the API (docs/api.md, "Request bodies"): a body is one
/// JSON value in UTF-8, without comments or trailing commas, without duplicate member names,
/// without escapes that leave lone UTF-16 surrogates, nested at most <see cref="DefaultMaxDepth"/>
/// levels. Whatever reads the body afterwards (System.Text.Json with default options) therefore
/// never meets an input that two parsers could read differently, or one that throws where a
/// string is unescaped.
/// </summary>
/// <remarks>
/// One forward pass with <see cref="Utf8JsonReader"/>, allocation-free unless member names are
/// checked for duplicates. Why not the framework's own settings alone: System.Text.Json checks
/// escapes only when a string is unescaped (so <c>{"\ud800actions":[]}</c> parses, and throws
/// <see cref="InvalidOperationException"/> later), does not check UTF-8 inside strings, and
/// <c>JsonDocumentOptions.AllowDuplicateProperties = false</c> neither says where the duplicate is
/// nor survives a lone surrogate in a member name (it throws InvalidOperationException). Pure and
/// thread-safe.
/// </remarks>
public static class StrictJson
{
    /// <summary>Deepest nesting of objects and arrays a body may have (<c>{"a":[1]}</c> is 2 deep).</summary>
    public const int DefaultMaxDepth = 64;

    /// <summary>Checks <paramref name="json"/> against the policy; null when it passes.</summary>
    /// <param name="maxDepth">Deepest nesting allowed (1 or more).</param>
    /// <param name="refuseDuplicateMembers">
    /// False only for a reader that reports duplicate members itself in a documented way (the
    /// action batch parser rejects the one action with <c>duplicate_field</c>).
    /// </param>
    public static JsonViolation? Validate(ReadOnlySpan<byte> json, int maxDepth = DefaultMaxDepth, bool refuseDuplicateMembers = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDepth, 1);
        if (!System.Text.Unicode.Utf8.IsValid(json))
        {
            long offset = FirstInvalidUtf8(json);
            return At(json, JsonViolationKind.InvalidUtf8, offset, "a byte sequence that is not UTF-8");
        }
        // The reader's own limit stays above ours, so that the policy reports the depth itself.
        var reader = new Utf8JsonReader(json, new JsonReaderOptions
        {
            CommentHandling = JsonCommentHandling.Disallow,
            AllowTrailingCommas = false,
            MaxDepth = maxDepth + 2,
        });
        MemberNames? names = refuseDuplicateMembers ? new MemberNames() : null;
        bool rootDone = false;
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        if (reader.CurrentDepth + 1 > maxDepth)
                        {
                            return At(json, JsonViolationKind.TooDeep, reader.TokenStartIndex,
                                $"objects and arrays nested deeper than {maxDepth} levels");
                        }
                        if (reader.TokenType == JsonTokenType.StartObject)
                        {
                            names?.Open();
                        }
                        break;
                    case JsonTokenType.EndObject:
                        names?.Close();
                        break;
                    case JsonTokenType.PropertyName:
                        if (reader.ValueIsEscaped && LoneSurrogateAt(reader.ValueSpan) is { } nameEscape)
                        {
                            return At(json, JsonViolationKind.InvalidEscape, reader.TokenStartIndex + 1 + nameEscape,
                                "an escape that leaves a lone UTF-16 surrogate in a member name");
                        }
                        if (names is not null && !names.Add(ref reader))
                        {
                            return At(json, JsonViolationKind.DuplicateMember, reader.TokenStartIndex,
                                $"the member \"{Printable(reader.GetString()!)}\" twice in one object");
                        }
                        break;
                    case JsonTokenType.String:
                        if (reader.ValueIsEscaped && LoneSurrogateAt(reader.ValueSpan) is { } valueEscape)
                        {
                            return At(json, JsonViolationKind.InvalidEscape, reader.TokenStartIndex + 1 + valueEscape,
                                "an escape that leaves a lone UTF-16 surrogate in a string");
                        }
                        break;
                }
                if (reader.CurrentDepth == 0 && reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray or JsonTokenType.PropertyName))
                {
                    rootDone = true;
                }
            }
        }
        catch (JsonException exception)
        {
            long line = (exception.LineNumber ?? 0) + 1, column = (exception.BytePositionInLine ?? 0) + 1;
            long offset = OffsetOf(json, line, column);
            return rootDone
                ? new JsonViolation(JsonViolationKind.TrailingData, offset, line, column,
                    $"The body has data after its one JSON value (line {line}, byte {column}).")
                : new JsonViolation(JsonViolationKind.Syntax, offset, line, column,
                    $"The body is not well-formed JSON (line {line}, byte {column}).");
        }
        if (!rootDone)
        {
            return At(json, JsonViolationKind.Syntax, json.Length, "no JSON value");
        }
        return null;
    }

    /// <summary>
    /// The index in an escaped string's raw bytes (between the quotes) of the first <c>\u</c> escape
    /// that leaves a lone surrogate, or null. The reader has already checked the escape syntax
    /// (four hex digits after <c>\u</c>), so only pairing is left to check.
    /// </summary>
    internal static int? LoneSurrogateAt(ReadOnlySpan<byte> raw)
    {
        int i = raw.IndexOf((byte)'\\');
        if (i < 0)
        {
            return null;
        }
        while (i < raw.Length)
        {
            if (raw[i] != (byte)'\\')
            {
                i++;
                continue;
            }
            if (raw[i + 1] != (byte)'u')
            {
                i += 2;
                continue;
            }
            int unit = Hex4(raw.Slice(i + 2, 4));
            if (unit is >= 0xDC00 and <= 0xDFFF)
            {
                return i;
            }
            if (unit is >= 0xD800 and <= 0xDBFF)
            {
                bool paired = i + 12 <= raw.Length && raw[i + 6] == (byte)'\\' && raw[i + 7] == (byte)'u' &&
                    Hex4(raw.Slice(i + 8, 4)) is >= 0xDC00 and <= 0xDFFF;
                if (!paired)
                {
                    return i;
                }
                i += 12;
                continue;
            }
            i += 6;
        }
        return null;
    }

    private static int Hex4(ReadOnlySpan<byte> digits)
    {
        int value = 0;
        foreach (byte digit in digits)
        {
            value = (value << 4) | (digit switch
            {
                >= (byte)'0' and <= (byte)'9' => digit - '0',
                >= (byte)'a' and <= (byte)'f' => digit - 'a' + 10,
                _ => digit - 'A' + 10,
            });
        }
        return value;
    }

    private static long FirstInvalidUtf8(ReadOnlySpan<byte> json)
    {
        int offset = 0;
        while (offset < json.Length)
        {
            if (Rune.DecodeFromUtf8(json[offset..], out _, out int consumed) != OperationStatus.Done)
            {
                return offset;
            }
            offset += consumed;
        }
        return offset;
    }

    private static JsonViolation At(ReadOnlySpan<byte> json, JsonViolationKind kind, long offset, string what)
    {
        var (line, column) = LineOf(json, offset);
        string detail = kind == JsonViolationKind.Syntax && offset >= json.Length && what == "no JSON value"
            ? $"The body holds no JSON value (line {line}, byte {column})."
            : $"The body has {what} at line {line}, byte {column}.";
        return new JsonViolation(kind, offset, line, column, detail);
    }

    private static (long Line, long Column) LineOf(ReadOnlySpan<byte> json, long offset)
    {
        var before = json[..(int)Math.Min(offset, json.Length)];
        int lastNewline = before.LastIndexOf((byte)'\n');
        return (before.Count((byte)'\n') + 1, offset - lastNewline);
    }

    private static long OffsetOf(ReadOnlySpan<byte> json, long line, long column)
    {
        int start = 0;
        for (long l = 1; l < line; l++)
        {
            int next = json[start..].IndexOf((byte)'\n');
            if (next < 0)
            {
                break;
            }
            start += next + 1;
        }
        return Math.Min(json.Length, start + column - 1);
    }

    /// <summary>A member name for a detail: control characters escaped, cut at 64 characters.</summary>
    private static string Printable(string name)
    {
        var builder = new StringBuilder();
        foreach (char c in name.Length > 64 ? name[..64] : name)
        {
            if (char.IsControl(c))
            {
                builder.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                builder.Append(c);
            }
        }
        return name.Length > 64 ? builder.Append('…').ToString() : builder.ToString();
    }

    /// <summary>
    /// The member names of the objects open at the moment, to find duplicates: one set per open
    /// object, reused when the object closes. Names compare after unescaping (<c>"a"</c> and
    /// <c>"\u0061"</c> are the same member), which is safe because escapes were checked first.
    /// </summary>
    private sealed class MemberNames
    {
        private readonly List<HashSet<string>> _open = [];
        private readonly Stack<HashSet<string>> _free = new();

        public void Open()
        {
            var set = _free.Count > 0 ? _free.Pop() : new HashSet<string>(StringComparer.Ordinal);
            _open.Add(set);
        }

        public void Close()
        {
            var set = _open[^1];
            _open.RemoveAt(_open.Count - 1);
            set.Clear();
            _free.Push(set);
        }

        public bool Add(ref Utf8JsonReader reader) => _open[^1].Add(reader.GetString()!);
    }
}
