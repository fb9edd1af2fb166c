using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Showrunner.Contracts.Actions;
using Showrunner.Contracts.Approvals;
using Showrunner.Contracts.Audit;
using Showrunner.Contracts.Events;
using Showrunner.Contracts.Grants;
using Showrunner.Contracts.Keys;
using Showrunner.Contracts.Leaderboards;
using Showrunner.Contracts.Ledger;
using Showrunner.Contracts.Outbox;
using Showrunner.Contracts.Players;
using Showrunner.Contracts.Status;

namespace Showrunner.Contracts;

/// <summary>
/// The serializer of every API record. Each area of the API declares its records and its own
/// source-generated context in its own folder (<c>Flags/FlagsJson.cs</c>: <c>[JsonSerializable]</c> on
/// a <c>JsonSerializerContext</c> with the same <c>[JsonSourceGenerationOptions]</c> as this one), and adds that context
/// to <see cref="Areas"/> below: one line per area.
/// </summary>
/// <remarks>
/// <para>
/// Why one context per area and not <c>partial</c> declarations of this one: the System.Text.Json
/// source generator handles each <c>partial</c> declaration that carries <c>[JsonSerializable]</c> on
/// its own, so two areas that both use <c>string</c> emit <c>ContractsJson.String.g.cs</c> twice and
/// the build fails (CS8785). This declaration registers only <see cref="JsonElement"/> (a value passed
/// through as it came, like a rollout plan) so that it compiles with no area on it.
/// </para>
/// <para>
/// Wire rules (byte-compatible with the API as documented): property names are written as declared
/// with <c>[JsonPropertyName]</c> or snake_case; nulls are written (a documented field is always
/// present) unless a property says otherwise; non-ASCII is written unescaped, like the server always did.
/// </para>
/// </remarks>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    WriteIndented = false)]
[JsonSerializable(typeof(JsonElement))]
public sealed partial class ContractsJson : JsonSerializerContext
{
    /// <summary>Every area's context: the records <see cref="WireOptions"/> can write and read.</summary>
    private static IJsonTypeInfoResolver[] Areas =>
    [
        Default,
        ActionsJson.Default,
        ApprovalsJson.Default,
        AuditJson.Default,
        DashboardJson.Default,
        EventsJson.Default,
        FlagsJson.Default,
        GrantsJson.Default,
        KeysJson.Default,
        LeaderboardsJson.Default,
        LedgerJson.Default,
        OutboxJson.Default,
        PlayersJson.Default,
        ReleasesJson.Default,
        RolloutsJson.Default,
        StatusJson.Default,
    ];

    /// <summary>The options every API response is written with: every area's generated metadata plus relaxed escaping (as the server always wrote).</summary>
    public static JsonSerializerOptions WireOptions => LazyWire.Value;

    /// <summary>The metadata of <typeparamref name="T"/> under <see cref="WireOptions"/> (for <c>JsonSerializer</c> and typed approval commands).</summary>
    public static JsonTypeInfo<T> Wire<T>() => (JsonTypeInfo<T>)WireOptions.GetTypeInfo(typeof(T));

    // Lazy: the generated Default instances must exist before options are derived from them.
    private static readonly Lazy<JsonSerializerOptions> LazyWire = new(CreateWireOptions);

    private static JsonSerializerOptions CreateWireOptions()
    {
        var options = new JsonSerializerOptions(Default.Options)
        {
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            TypeInfoResolver = JsonTypeInfoResolver.Combine(Areas),
        };
        options.MakeReadOnly();
        return options;
    }
}
