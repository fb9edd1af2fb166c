using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Showrunner.Server.Api;

/// <summary>
/// Responses written from contract records (src/Showrunner.Contracts) with their wire metadata
/// (<see cref="Contracts.Wire.WireJson.Of{T}(JsonTypeInfo{T})"/>): the same bytes and headers as
/// <see cref="JsonOutput.WriteAsync"/> wrote by hand. docs/internals/contracts.md.
/// </summary>
internal static class ContractResults
{
    /// <summary>Writes <paramref name="value"/> as the response body (<c>application/json</c>, with its Content-Length).</summary>
    public static Task WriteAsync<T>(HttpContext context, int status, T value, JsonTypeInfo<T> wire) => Of(status, value, wire).WriteAsync(context);

    /// <summary>A response of <paramref name="value"/>, built but not yet written (what an approval keeps as its result).</summary>
    public static ApiResult Of<T>(int status, T value, JsonTypeInfo<T> wire, string? location = null) =>
        new(status, JsonSerializer.SerializeToUtf8Bytes(value, wire), "application/json", location);

    /// <summary>Writes <paramref name="value"/> as a property of a problem's extensions.</summary>
    public static Action<Utf8JsonWriter> Property<T>(string name, T value, JsonTypeInfo<T> wire) => w =>
    {
        w.WritePropertyName(name);
        JsonSerializer.Serialize(w, value, wire);
    };
}
