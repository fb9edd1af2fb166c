using System.Buffers;
using System.Globalization;
using System.Text;

namespace Showrunner.Core.Ledger;

/// <summary>
/// Writes the ledger's canonical JSON (docs/ledger.md, "Canonical JSON"): no whitespace, object
/// keys in ascending byte order (enforced), integers as exact decimal digits, strings escaped as
/// RFC 8785 (JCS) escapes them. For integers within ±2^53 the output equals JCS; beyond that JCS
/// would write a rounded double, so we keep the digits exact instead (times are .NET ticks).
/// </summary>
internal sealed class CanonicalJsonWriter
{
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private readonly Stack<Scope> _scopes = new();

    public byte[] ToArray() => _buffer.WrittenSpan.ToArray();

    public void StartObject()
    {
        Separator();
        Raw("{"u8);
        _scopes.Push(new Scope(false, null, false));
    }

    public void EndObject()
    {
        _scopes.Pop();
        Raw("}"u8);
    }

    public void StartArray()
    {
        Separator();
        Raw("["u8);
        _scopes.Push(new Scope(true, null, false));
    }

    public void EndArray()
    {
        _scopes.Pop();
        Raw("]"u8);
    }

    /// <summary>Writes a key; keys of one object must come in ascending ordinal order.</summary>
    public void Key(string key)
    {
        var scope = _scopes.Pop();
        if (scope.LastKey is not null && string.CompareOrdinal(scope.LastKey, key) >= 0)
        {
            throw new InvalidOperationException($"Canonical JSON keys must ascend: '{key}' after '{scope.LastKey}'.");
        }
        if (scope.NeedComma)
        {
            Raw(","u8);
        }
        _scopes.Push(new Scope(false, key, true));
        WriteString(key);
        Raw(":"u8);
    }

    public void String(string value)
    {
        Separator();
        WriteString(value);
    }

    public void Number(long value)
    {
        Separator();
        // Invariant decimal digits, formatted in place (no string per number).
        var span = _buffer.GetSpan(20);
        if (!value.TryFormat(span, out int written, default, CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException("A 64-bit integer did not fit in 20 bytes.");
        }
        _buffer.Advance(written);
    }

    public void Null()
    {
        Separator();
        Raw("null"u8);
    }

    public void StringOrNull(string? value)
    {
        if (value is null)
        {
            Null();
        }
        else
        {
            String(value);
        }
    }

    /// <summary>Whether the string is a sequence of Unicode scalar values (no lone surrogates), so it has one UTF-8 form.</summary>
    public static bool IsWellFormed(string value)
    {
        for (int i = 0; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]))
            {
                if (i + 1 >= value.Length || !char.IsLowSurrogate(value[i + 1]))
                {
                    return false;
                }
                i++;
            }
            else if (char.IsLowSurrogate(value[i]))
            {
                return false;
            }
        }
        return true;
    }

    // Inside an array, values after the first are preceded by a comma; the value of a key
    // follows its colon directly (Key wrote the comma).
    private void Separator()
    {
        if (_scopes.Count == 0)
        {
            return;
        }
        var scope = _scopes.Pop();
        if (scope.IsArray && scope.NeedComma)
        {
            Raw(","u8);
        }
        _scopes.Push(scope with { NeedComma = true });
    }

    private void WriteString(string value)
    {
        if (!IsWellFormed(value))
        {
            throw new ArgumentException("A canonical JSON string must not contain lone surrogates.", nameof(value));
        }
        if (!NeedsEscaping(value))
        {
            // The common case (ids, names, hex): the UTF-8 bytes between quotes, written in place.
            Raw("\""u8);
            var span = _buffer.GetSpan(Encoding.UTF8.GetMaxByteCount(value.Length));
            _buffer.Advance(Encoding.UTF8.GetBytes(value, span));
            Raw("\""u8);
            return;
        }
        var text = new StringBuilder(value.Length + 2);
        text.Append('"');
        foreach (char c in value)
        {
            switch (c)
            {
                case '"': text.Append("\\\""); break;
                case '\\': text.Append("\\\\"); break;
                case '\b': text.Append("\\b"); break;
                case '\f': text.Append("\\f"); break;
                case '\n': text.Append("\\n"); break;
                case '\r': text.Append("\\r"); break;
                case '\t': text.Append("\\t"); break;
                default:
                    if (c < 0x20)
                    {
                        text.Append("\\u00").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        text.Append(c);
                    }
                    break;
            }
        }
        text.Append('"');
        Raw(Encoding.UTF8.GetBytes(text.ToString()));
    }

    private static bool NeedsEscaping(string value)
    {
        foreach (char c in value)
        {
            if (c < 0x20 || c == '"' || c == '\\')
            {
                return true;
            }
        }
        return false;
    }

    private void Raw(ReadOnlySpan<byte> bytes) => _buffer.Write(bytes);

    private readonly record struct Scope(bool IsArray, string? LastKey, bool NeedComma);
}
