using System.Text.Json.Serialization;

namespace Showrunner.Contracts.Actions;

/// <summary>
/// The source-generated serializer of the actions area's records (one context per area: the
/// generator does not merge <c>[JsonSerializable]</c> spread over partial declarations, dotnet/runtime#99669).
/// Write with <see cref="Wire.WireJson.Of{T}(System.Text.Json.Serialization.Metadata.JsonTypeInfo{T})"/> for the server's escaping. Same options as <see cref="ContractsJson"/>.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    WriteIndented = false)]
[JsonSerializable(typeof(ActionBatchResponse))]
[JsonSerializable(typeof(ActionResponse))]
public sealed partial class ActionsJson : JsonSerializerContext;
