using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Showrunner.Contracts.Wire;

/// <summary>
/// The server's wire variant of a record's generated metadata: the same contract with relaxed escaping
/// (non-ASCII and <c>&lt;&gt;&amp;'</c> written as they are), as the API always wrote its bodies.
/// </summary>
public static class WireJson
{
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<JsonSerializerOptions, JsonSerializerOptions> WireOptions = [];

    /// <summary>
    /// <paramref name="generated"/> (e.g. <c>ActionsJson.Default.ActionBatchResponse</c>) with the wire
    /// options; the result is the same instance on every call for one context: keep it in a static field on a hot path.
    /// </summary>
    public static JsonTypeInfo<T> Of<T>(JsonTypeInfo<T> generated)
    {
        ArgumentNullException.ThrowIfNull(generated);
        var options = WireOptions.GetValue(generated.Options, static source =>
        {
            var wire = new JsonSerializerOptions(source) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
            wire.MakeReadOnly();
            return wire;
        });
        return (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T));
    }
}

/// <summary>
/// A property that holds a JSON document as text (an action's <c>data</c>, an approval's stored
/// <c>request</c> and <c>result</c>): written as that JSON, not as a string; read back as its text.
/// </summary>
public sealed class RawJsonConverter : JsonConverter<string>
{
    public override string Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var document = JsonDocument.ParseValue(ref reader);
        return document.RootElement.GetRawText();
    }

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteRawValue(value);
    }
}

/// <summary>One amount of a named currency, item or objective.</summary>
public sealed record NamedAmount(string Name, long Amount);

/// <summary>
/// Amounts by name as one JSON object in the list's order (<c>{"gems": 100, "blade": 1}</c>): rewards,
/// objectives. A repeated name on reading is refused (a grant never names a reward twice).
/// </summary>
public sealed class NamedAmountsConverter : JsonConverter<IReadOnlyList<NamedAmount>>
{
    public override IReadOnlyList<NamedAmount> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("Amounts are an object of whole numbers by name.");
        }
        var amounts = new List<NamedAmount>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            string name = reader.GetString()!;
            if (!reader.Read() || reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long amount))
            {
                throw new JsonException($"The amount of '{name}' is not a whole number.");
            }
            if (amounts.Exists(a => a.Name == name))
            {
                throw new JsonException($"'{name}' appears twice.");
            }
            amounts.Add(new NamedAmount(name, amount));
        }
        return amounts;
    }

    public override void Write(Utf8JsonWriter writer, IReadOnlyList<NamedAmount> value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        writer.WriteStartObject();
        foreach (var amount in value)
        {
            writer.WriteNumber(amount.Name, amount.Amount);
        }
        writer.WriteEndObject();
    }
}
