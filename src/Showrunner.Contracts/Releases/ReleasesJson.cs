using System.Text.Json.Serialization;
using Showrunner.Contracts.Releases;

namespace Showrunner.Contracts;

/// <summary>The source-generated serializer of the releases records (written through <see cref="ContractsJson.WireOptions"/>).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    WriteIndented = false)]
[JsonSerializable(typeof(ReleaseDetail))]
[JsonSerializable(typeof(ReleaseListResponse))]
[JsonSerializable(typeof(RegisterResponse))]
[JsonSerializable(typeof(ReleaseChangeRequest))]
[JsonSerializable(typeof(ConfigResponse))]
public sealed partial class ReleasesJson : JsonSerializerContext;
