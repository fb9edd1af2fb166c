using System.Text.Json.Serialization;
using Showrunner.Contracts.Flags;

namespace Showrunner.Contracts;

/// <summary>The source-generated serializer of the flags records (written through <see cref="ContractsJson.WireOptions"/>).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    WriteIndented = false)]
[JsonSerializable(typeof(FlagListResponse))]
[JsonSerializable(typeof(FlagSetResponse))]
[JsonSerializable(typeof(FlagSetRequest))]
public sealed partial class FlagsJson : JsonSerializerContext;
