using System.Collections.Frozen;
using System.Text;
using Showrunner.Core.Rules.Binding;

namespace Showrunner.Core.Rules.Evaluation;

/// <summary>Where one field of a record lives in <see cref="RecordValues"/>: which typed array, and the index in it.</summary>
/// <param name="Name">The field name as declared (<c>chest_tier</c>).</param>
/// <param name="NameUtf8">The same name in UTF-8, for a JSON decoder to match property names without decoding them.</param>
/// <param name="Kind">Int, Decimal, String or Bool: the array the value goes to.</param>
/// <param name="Index">The index in that array (dense per kind, in declaration order).</param>
/// <param name="Required">Whether an action must carry the field; optional fields keep <see cref="Default"/> when absent.</param>
/// <param name="Default">The value an absent optional field has (a long, decimal, string or bool).</param>
public sealed record FieldSlot(string Name, byte[] NameUtf8, ValueKind Kind, int Index, bool Required, object? Default);

/// <summary>
/// The typed slots of one record schema (an action type, or the player attributes): each field's
/// array and index. Built once per release; immutable and safe to share between threads.
/// </summary>
public sealed class RecordLayout
{
    private readonly FieldSlot[] _bySchemaIndex;
    private readonly FrozenDictionary<string, FieldSlot> _byName;

    public RecordLayout(RecordSchema schema)
    {
        Schema = schema;
        int ints = 0, decimals = 0, strings = 0, bools = 0;
        _bySchemaIndex = new FieldSlot[schema.Fields.Count];
        foreach (var field in schema.Fields)
        {
            var kind = field.Type.Kind;
            int index = kind switch
            {
                ValueKind.Int => ints++,
                ValueKind.Decimal => decimals++,
                ValueKind.String => strings++,
                ValueKind.Bool => bools++,
                _ => throw new InvalidOperationException($"Field '{field.Name}' of {schema.Name} has no slot type ({field.Type})."),
            };
            _bySchemaIndex[field.Index] = new FieldSlot(field.Name, Encoding.UTF8.GetBytes(field.Name), kind, index, field.Required, field.Default);
        }
        IntCount = ints;
        DecimalCount = decimals;
        StringCount = strings;
        BoolCount = bools;
        _byName = _bySchemaIndex.ToFrozenDictionary(f => f.Name, StringComparer.Ordinal);
    }

    public RecordSchema Schema { get; }
    public int IntCount { get; }
    public int DecimalCount { get; }
    public int StringCount { get; }
    public int BoolCount { get; }

    /// <summary>Every field's slot, in declaration order.</summary>
    public IReadOnlyList<FieldSlot> Fields => _bySchemaIndex;

    public FieldSlot? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>The slot of a field the binder resolved (by its schema index).</summary>
    public FieldSlot SlotOf(FieldSchema field) => _bySchemaIndex[field.Index];

    /// <summary>A new set of values holding every field's default (0, 0m, "", false for required fields).</summary>
    public RecordValues CreateValues()
    {
        var values = new RecordValues(this);
        values.Reset();
        return values;
    }
}

/// <summary>
/// The decoded values of one record (an action's <c>data</c>, or a player's attributes), in typed
/// arrays so that compiled rules read them without boxing or type tests.
/// </summary>
/// <remarks>
/// <para>
/// Representation, for whoever fills it (the action decoder): one array per value type —
/// <see cref="Ints"/> (<c>int</c>, 64-bit), <see cref="Decimals"/>, <see cref="Strings"/>,
/// <see cref="Bools"/> — each indexed by <see cref="FieldSlot.Index"/>. A decoder keeps one
/// instance per partition, calls <see cref="Reset"/> (every field back to its default, no
/// allocation), then for each JSON property finds the slot (<see cref="RecordLayout.Find"/> or by
/// comparing <see cref="FieldSlot.NameUtf8"/> with <c>Utf8JsonReader.ValueTextEquals</c>) and
/// stores <c>reader.GetInt64()</c>, <c>GetDecimal()</c>, <c>GetString()</c> or <c>GetBoolean()</c>
/// into <c>Ints[slot.Index]</c>, … . Strings are compared ordinally; a decoder may intern them, it
/// need not.
/// </para>
/// <para>
/// Values are read, never written, by evaluation. An instance is not thread-safe: one writer,
/// and no evaluation while it is being filled.
/// </para>
/// </remarks>
public sealed class RecordValues
{
    public RecordValues(RecordLayout layout)
    {
        Layout = layout;
        Ints = new long[layout.IntCount];
        Decimals = new decimal[layout.DecimalCount];
        Strings = new string[layout.StringCount];
        Bools = new bool[layout.BoolCount];
    }

    public RecordLayout Layout { get; }

#pragma warning disable CA1819 // The arrays are the representation: compiled rules and decoders index them directly.
    public long[] Ints { get; }
    public decimal[] Decimals { get; }
    public string[] Strings { get; }
    public bool[] Bools { get; }
#pragma warning restore CA1819

    /// <summary>Sets every field to its default (optional fields) or to 0, 0m, "" or false (required ones).</summary>
    public void Reset()
    {
        foreach (var slot in Layout.Fields)
        {
            Set(slot, slot.Default);
        }
    }

    /// <summary>Stores a boxed value (long, decimal, string or bool; null means the zero value). For tests, tools and defaults, not the hot path.</summary>
    public void Set(FieldSlot slot, object? value)
    {
        switch (slot.Kind)
        {
            case ValueKind.Int:
                Ints[slot.Index] = value is null ? 0L : (long)value;
                break;
            case ValueKind.Decimal:
                Decimals[slot.Index] = value is null ? 0m : (decimal)value;
                break;
            case ValueKind.String:
                Strings[slot.Index] = value is null ? "" : (string)value;
                break;
            case ValueKind.Bool:
                Bools[slot.Index] = value is not null && (bool)value;
                break;
            default:
                throw new InvalidOperationException($"Field '{slot.Name}' has no slot type ({slot.Kind}).");
        }
    }

    /// <summary>The boxed value of a field (long, decimal, string or bool).</summary>
    public object Get(FieldSlot slot) => slot.Kind switch
    {
        ValueKind.Int => Ints[slot.Index],
        ValueKind.Decimal => Decimals[slot.Index],
        ValueKind.String => Strings[slot.Index],
        ValueKind.Bool => Bools[slot.Index],
        _ => throw new InvalidOperationException($"Field '{slot.Name}' has no slot type ({slot.Kind})."),
    };

    /// <summary>The values in schema order, boxed: the <see cref="EvaluationInput"/> form of <see cref="ExpressionCompiler"/>.</summary>
    public object?[] ToBoxed() => Layout.Fields.Select(Get).ToArray();
}
