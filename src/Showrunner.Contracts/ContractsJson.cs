using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Showrunner.Contracts;

/// <summary>
/// The source-generated serializer of every API record. Each area of the API adds its records with
/// <c>[JsonSerializable]</c> on its own <c>partial</c> declaration of this class (one file per area),
/// so areas never edit each other's files.
/// </summary>
/// <remarks>
/// Wire rules (byte-compatible with the API as documented): property names are written as declared
/// with <c>[JsonPropertyName]</c> (snake_case); nulls are written (a documented field is always
/// present) unless a property says otherwise; non-ASCII is written unescaped, like the server always did.
/// </remarks>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    WriteIndented = false)]
public sealed partial class ContractsJson : JsonSerializerContext
{
    /// <summary>The options every API response is written with: the generated metadata plus relaxed escaping (as the server always wrote).</summary>
    public static JsonSerializerOptions WireOptions => LazyWire.Value;

    // Lazy: the generated Default must exist before options are derived from it.
    private static readonly Lazy<JsonSerializerOptions> LazyWire = new(CreateWireOptions);

    private static JsonSerializerOptions CreateWireOptions()
    {
        var options = new JsonSerializerOptions(Default.Options)
        {
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
        options.MakeReadOnly();
        return options;
    }
}
