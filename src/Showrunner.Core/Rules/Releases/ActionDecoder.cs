using System.Text.Json;
using Showrunner.Core.Actions;
using Showrunner.Core.Rules.Binding;
using Showrunner.Core.Rules.Evaluation;

namespace Showrunner.Core.Rules.Releases;

/// <summary>
/// Checks an action's <c>data</c> object against the schema its release declares for the action's
/// type, and decodes the declared fields into their typed slots (<see cref="RecordValues"/>, the
/// form the <see cref="ReleaseEvaluator"/> reads).
/// </summary>
/// <remarks>
/// Rules, in the order they are checked (docs/api.md, "Schema validation"):
/// <list type="bullet">
/// <item>Fields the schema does not declare are ignored (senders may be newer than the release).</item>
/// <item>A declared field given twice is <c>duplicate_field</c>.</item>
/// <item>A declared field of the wrong JSON type — or an <c>int</c> that is not a whole number in the
/// 64-bit range, or a <c>decimal</c> outside ±7.9e28 — is <c>invalid_field_type</c>.</item>
/// <item><c>null</c> counts as absent. An absent required field is <c>missing_field</c>; an absent optional
/// field takes its declared default.</item>
/// </list>
/// The reported field is <c>data.&lt;name&gt;</c>. Only the first problem is reported, in schema order.
/// </remarks>
public sealed class ActionDecoder
{
    private readonly FieldSlot[] _fields;

    public ActionDecoder(RecordLayout layout)
    {
        Layout = layout;
        _fields = [.. layout.Fields];
    }

    /// <summary>The slots this decoder fills: the evaluator's layout for the action type.</summary>
    public RecordLayout Layout { get; }
    private string SchemaName => Layout.Schema.Name;

    /// <summary>Decodes strictly into <paramref name="values"/> (reset first): any problem rejects the action.</summary>
    public bool TryDecode(ReadOnlySpan<byte> data, RecordValues values, out ActionRejection? rejection)
    {
        rejection = Decode(data, values, strict: true);
        return rejection is null;
    }

    /// <summary>
    /// Decodes leniently (a stored player profile, merged from actions checked under earlier
    /// releases): a field of the wrong type keeps its default instead of failing.
    /// </summary>
    public RecordValues DecodeLenient(ReadOnlySpan<byte> data)
    {
        var values = new RecordValues(Layout);
        Decode(data, values, strict: false);
        return values;
    }

    private ActionRejection? Decode(ReadOnlySpan<byte> data, RecordValues values, bool strict)
    {
        if (values.Layout != Layout)
        {
            throw new ArgumentException("The values must have this decoder's layout.", nameof(values));
        }
        values.Reset();
        Span<bool> seen = stackalloc bool[_fields.Length];
        ActionRejection? first = null;
        int firstIndex = int.MaxValue;
        var reader = new Utf8JsonReader(data, new JsonReaderOptions { MaxDepth = 256 });
        if (data.Length > 0 && reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                int index = IndexOf(ref reader);
                reader.Read();
                if (index < 0)
                {
                    reader.Skip();
                    continue;
                }
                var field = _fields[index];
                if (seen[index])
                {
                    Note(index, new ActionRejection(RejectionCodes.DuplicateField, $"Field 'data.{field.Name}' appears twice.", "data." + field.Name));
                    reader.Skip();
                    continue;
                }
                if (reader.TokenType == JsonTokenType.Null)
                {
                    continue;
                }
                seen[index] = true;
                if (!TryStore(ref reader, field, values))
                {
                    Note(index, new ActionRejection(RejectionCodes.InvalidFieldType, Expected(field), "data." + field.Name));
                    values.Set(field, field.Default);
                    reader.Skip();
                }
            }
        }
        for (int i = 0; i < _fields.Length; i++)
        {
            var field = _fields[i];
            if (field.Required && !seen[i])
            {
                Note(i, new ActionRejection(RejectionCodes.MissingField,
                    $"Field 'data.{field.Name}' ({Kind(field)}) is required by {SchemaName}.", "data." + field.Name));
            }
        }
        return strict ? first : null;

        void Note(int index, ActionRejection problem)
        {
            if (index < firstIndex)
            {
                firstIndex = index;
                first = problem;
            }
        }
    }

    private int IndexOf(ref Utf8JsonReader reader)
    {
        for (int i = 0; i < _fields.Length; i++)
        {
            if (reader.ValueTextEquals(_fields[i].NameUtf8))
            {
                return i;
            }
        }
        return -1;
    }

    private static bool TryStore(ref Utf8JsonReader reader, FieldSlot field, RecordValues values)
    {
        switch (field.Kind)
        {
            case ValueKind.String when reader.TokenType == JsonTokenType.String:
                // An escaped string can still be invalid UTF-16 (a lone surrogate such as "\udc00"),
                // which GetString refuses with an exception: that is the sender's bad input, answered
                // as a wrong field type, never an exception on the executor's thread.
                if (reader.ValueIsEscaped && !IsValidText(ref reader))
                {
                    return false;
                }
                values.Strings[field.Index] = reader.GetString()!;
                return true;
            case ValueKind.Int when reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out long l):
                values.Ints[field.Index] = l;
                return true;
            case ValueKind.Decimal when reader.TokenType == JsonTokenType.Number && reader.TryGetDecimal(out decimal m):
                values.Decimals[field.Index] = m;
                return true;
            case ValueKind.Bool when reader.TokenType is JsonTokenType.True or JsonTokenType.False:
                values.Bools[field.Index] = reader.GetBoolean();
                return true;
            default:
                return false;
        }
    }

    /// <summary>Whether the current (escaped) string token unescapes to valid UTF-16 text.</summary>
    private static bool IsValidText(ref Utf8JsonReader reader)
    {
        int length = reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length;
        char[] scratch = System.Buffers.ArrayPool<char>.Shared.Rent(Math.Max(1, length));
        try
        {
            reader.CopyString(scratch);
            return true;
        }
        catch (InvalidOperationException)
        {
            // The one failure CopyString reports for a complete string token: invalid UTF-16 or UTF-8 inside it.
            return false;
        }
        finally
        {
            System.Buffers.ArrayPool<char>.Shared.Return(scratch);
        }
    }

    private static string Kind(FieldSlot field) => field.Kind.ToString().ToLowerInvariant();

    private string Expected(FieldSlot field) => field.Kind switch
    {
        ValueKind.Int => $"Field 'data.{field.Name}' must be a whole number between -9223372036854775808 and 9223372036854775807 ({SchemaName}).",
        ValueKind.Decimal => $"Field 'data.{field.Name}' must be a number within ±7.9e28 ({SchemaName}).",
        ValueKind.Bool => $"Field 'data.{field.Name}' must be true or false ({SchemaName}).",
        _ => $"Field 'data.{field.Name}' must be a string ({SchemaName}).",
    };
}
