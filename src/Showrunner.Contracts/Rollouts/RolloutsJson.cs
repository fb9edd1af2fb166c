using System.Text.Json.Serialization;
using Showrunner.Contracts.Rollouts;

namespace Showrunner.Contracts;

/// <summary>The source-generated serializer of the rollouts records (written through <see cref="ContractsJson.WireOptions"/>).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    WriteIndented = false)]
[JsonSerializable(typeof(RolloutGetResponse))]
[JsonSerializable(typeof(RolloutChangeResponse))]
[JsonSerializable(typeof(RolloutViewContract))]
[JsonSerializable(typeof(RolloutPlanContract))]
[JsonSerializable(typeof(RolloutStartRequest))]
[JsonSerializable(typeof(RolloutReasonRequest))]
public sealed partial class RolloutsJson : JsonSerializerContext;
