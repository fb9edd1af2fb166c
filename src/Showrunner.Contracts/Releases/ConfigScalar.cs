using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Showrunner.Contracts.Releases;

/// <summary>
/// One config value: a whole number (<see cref="long"/>), a decimal, a boolean or a string, written
/// as the JSON number, boolean or string it is (a decimal keeps its scale: <c>1.50</c> stays <c>1.50</c>).
/// </summary>
[JsonConverter(typeof(ConfigScalarConverter))]
public readonly record struct ConfigScalar
{
    public ConfigScalar(object value)
    {
        ArgumentNullException.ThrowIfNull(value);
        Value = value is long or decimal or bool or string
            ? value
            : throw new ArgumentException($"A config value is a long, decimal, bool or string, not {value.GetType().Name}.", nameof(value));
    }

    /// <summary>A <see cref="long"/>, <see cref="decimal"/>, <see cref="bool"/> or <see cref="string"/>.</summary>
    public object Value { get; }

    public override string ToString() => Value switch
    {
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => (string)Value,
    };
}

/// <summary>Writes and reads <see cref="ConfigScalar"/> as a bare JSON value.</summary>
public sealed class ConfigScalarConverter : JsonConverter<ConfigScalar>
{
    public override ConfigScalar Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
    {
        JsonTokenType.True => new ConfigScalar(true),
        JsonTokenType.False => new ConfigScalar(false),
        JsonTokenType.String => new ConfigScalar(reader.GetString()!),
        JsonTokenType.Number when reader.TryGetInt64(out long whole) => new ConfigScalar(whole),
        JsonTokenType.Number => new ConfigScalar(reader.GetDecimal()),
        _ => throw new JsonException($"A config value is a number, a boolean or a string, not {reader.TokenType}."),
    };

    public override void Write(Utf8JsonWriter writer, ConfigScalar value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        switch (value.Value)
        {
            case long l:
                writer.WriteNumberValue(l);
                break;
            case decimal m:
                writer.WriteNumberValue(m);
                break;
            case bool b:
                writer.WriteBooleanValue(b);
                break;
            default:
                writer.WriteStringValue((string)value.Value);
                break;
        }
    }
}
