namespace Showrunner.Core.Rules.Binding;

/// <summary>The kind of a value in the event language (the type of a field, config or expression).</summary>
public enum ValueKind
{
    Error,
    Bool,
    Int,
    Decimal,
    String,
    List,
}

/// <summary>
/// A static type of the expression language. Ints are 64-bit (overflow is an evaluation error),
/// decimals are .NET decimals (28 digits); there is no floating point anywhere.
/// </summary>
public sealed record RuleType(ValueKind Kind, RuleType? Element = null)
{
    public static readonly RuleType Error = new(ValueKind.Error);
    public static readonly RuleType Bool = new(ValueKind.Bool);
    public static readonly RuleType Int = new(ValueKind.Int);
    public static readonly RuleType Decimal = new(ValueKind.Decimal);
    public static readonly RuleType String = new(ValueKind.String);

    public static RuleType ListOf(RuleType element) => new(ValueKind.List, element);

    public bool IsNumeric => Kind is ValueKind.Int or ValueKind.Decimal;

    /// <summary>The schema keyword for a field type: <c>string</c>, <c>int</c>, <c>decimal</c>, <c>bool</c>.</summary>
    public static RuleType? FromKeyword(string keyword) => keyword switch
    {
        "string" => String,
        "int" => Int,
        "decimal" => Decimal,
        "bool" => Bool,
        _ => null,
    };

    public override string ToString() => Kind switch
    {
        ValueKind.List => $"list({Element})",
        _ => Kind.ToString().ToLowerInvariant(),
    };
}

/// <summary>One field of an action schema (or a player attribute): its type, its slot, and its default when optional.</summary>
public sealed record FieldSchema(string Name, RuleType Type, int Index, bool Required, object? Default);

/// <summary>The fields an expression may read from <c>action.</c> or <c>player.</c>, with their slots.</summary>
public sealed class RecordSchema(string name, IReadOnlyList<FieldSchema> fields)
{
    private readonly Dictionary<string, FieldSchema> _byName = fields.ToDictionary(f => f.Name, StringComparer.Ordinal);

    /// <summary>For messages: <c>action "combat.kill"</c> or <c>player attributes</c>.</summary>
    public string Name { get; } = name;
    public IReadOnlyList<FieldSchema> Fields { get; } = fields;

    public FieldSchema? Find(string field) => _byName.GetValueOrDefault(field);
}

/// <summary>What an expression may refer to where it is written.</summary>
/// <param name="Action">The schema of <c>action</c> (objectives), or null where there is no action (audiences).</param>
/// <param name="Player">The player attributes (from <c>player.profile</c>), or null where players are not in scope.</param>
/// <param name="Where">For messages: "an audience", "an objective's condition", ….</param>
internal sealed record BindingScope(RecordSchema? Action, RecordSchema? Player, string Where);
