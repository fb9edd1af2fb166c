using System.Text.Json;
using Showrunner.Core.Actions;
using Showrunner.Core.Rules.Binding;

namespace Showrunner.Core.Rules.Releases;

/// <summary>
/// Checks an action's <c>data</c> object against the schema its release declares for the action's
/// type, and decodes the declared fields into their slots (long, decimal, string or bool, boxed;
/// the layout <see cref="Evaluation.EvaluationInput"/> reads).
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
internal sealed class ActionDecoder
{
    private readonly FieldSchema[] _fields;
    private readonly byte[][] _names;

    public ActionDecoder(RecordSchema schema)
    {
        Schema = schema;
        _fields = [.. schema.Fields];
        _names = [.. _fields.Select(f => System.Text.Encoding.UTF8.GetBytes(f.Name))];
    }

    public RecordSchema Schema { get; }
    public int SlotCount => _fields.Length;

    /// <summary>Decodes strictly: any problem rejects the action.</summary>
    public bool TryDecode(ReadOnlySpan<byte> data, object?[] slots, out ActionRejection? rejection)
    {
        rejection = Decode(data, slots, strict: true);
        return rejection is null;
    }

    /// <summary>
    /// Decodes leniently (a stored player profile, merged from actions checked under earlier
    /// releases): a field of the wrong type takes its default instead of failing.
    /// </summary>
    public object?[] DecodeLenient(ReadOnlySpan<byte> data)
    {
        var slots = new object?[_fields.Length];
        Decode(data, slots, strict: false);
        return slots;
    }

    private ActionRejection? Decode(ReadOnlySpan<byte> data, object?[] slots, bool strict)
    {
        if (slots.Length < _fields.Length)
        {
            throw new ArgumentException($"{_fields.Length} slots are needed.", nameof(slots));
        }
        Array.Clear(slots, 0, _fields.Length);
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
                seen[index] = true;
                if (reader.TokenType == JsonTokenType.Null)
                {
                    seen[index] = false;
                    continue;
                }
                if (Read(ref reader, field.Type.Kind) is { } value)
                {
                    slots[index] = value;
                }
                else
                {
                    Note(index, new ActionRejection(RejectionCodes.InvalidFieldType, Expected(field), "data." + field.Name));
                    reader.Skip();
                }
            }
        }
        for (int i = 0; i < _fields.Length; i++)
        {
            var field = _fields[i];
            if (slots[i] is not null)
            {
                continue;
            }
            if (field.Required && !seen[i])
            {
                Note(i, new ActionRejection(RejectionCodes.MissingField,
                    $"Field 'data.{field.Name}' ({field.Type}) is required by {Schema.Name}.", "data." + field.Name));
            }
            slots[i] = field.Default;
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
        for (int i = 0; i < _names.Length; i++)
        {
            if (reader.ValueTextEquals(_names[i]))
            {
                return i;
            }
        }
        return -1;
    }

    private static object? Read(ref Utf8JsonReader reader, ValueKind kind) => kind switch
    {
        ValueKind.String when reader.TokenType == JsonTokenType.String => reader.GetString(),
        ValueKind.Int when reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out long l) => l,
        ValueKind.Decimal when reader.TokenType == JsonTokenType.Number && reader.TryGetDecimal(out decimal m) => m,
        ValueKind.Bool when reader.TokenType is JsonTokenType.True or JsonTokenType.False => reader.GetBoolean(),
        _ => null,
    };

    private string Expected(FieldSchema field) => field.Type.Kind switch
    {
        ValueKind.Int => $"Field 'data.{field.Name}' must be a whole number between -9223372036854775808 and 9223372036854775807 ({Schema.Name}).",
        ValueKind.Decimal => $"Field 'data.{field.Name}' must be a number within ±7.9e28 ({Schema.Name}).",
        ValueKind.Bool => $"Field 'data.{field.Name}' must be true or false ({Schema.Name}).",
        _ => $"Field 'data.{field.Name}' must be a string ({Schema.Name}).",
    };
}
