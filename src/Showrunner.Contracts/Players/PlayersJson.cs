using System.Text.Json.Serialization;

namespace Showrunner.Contracts.Players;

/// <summary>
/// The source-generated serializer of the players area's records (one context per area: the
/// generator does not merge <c>[JsonSerializable]</c> spread over partial declarations, dotnet/runtime#99669).
/// Write with <see cref="Wire.WireJson.Of{T}(System.Text.Json.Serialization.Metadata.JsonTypeInfo{T})"/> for the server's escaping. Same options as <see cref="ContractsJson"/>.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    WriteIndented = false)]
[JsonSerializable(typeof(PlayerEventsResponse))]
[JsonSerializable(typeof(PlayerRewardsResponse))]
[JsonSerializable(typeof(PlayerTokenResponse))]
public sealed partial class PlayersJson : JsonSerializerContext;
