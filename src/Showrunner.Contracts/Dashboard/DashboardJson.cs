using System.Text.Json.Serialization;
using Showrunner.Contracts.Dashboard;

namespace Showrunner.Contracts;

/// <summary>The source-generated serializer of the dashboard's snapshot (written through <see cref="ContractsJson.WireOptions"/>).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    WriteIndented = false)]
[JsonSerializable(typeof(DashboardSnapshotContract))]
public sealed partial class DashboardJson : JsonSerializerContext;
