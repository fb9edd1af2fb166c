using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Showrunner.Runtime.Rollouts;

namespace Showrunner.Runtime.Releases;

/// <summary>
/// How the release and rollout commands that wait for approval are stored (the approval's
/// <c>request</c>, shown by <c>GET /v1/approvals</c>): snake_case, nulls written, non-ASCII
/// unescaped, as the server always stored them; read strictly (an unknown member or a missing one
/// makes the text unreadable, never half-read).
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(ApprovedActivation))]
[JsonSerializable(typeof(ApprovedRolloutStart))]
[JsonSerializable(typeof(ApprovedRolloutStep))]
internal sealed partial class OperatorCommandsJson : JsonSerializerContext
{
    /// <summary>The stored form: the generated metadata with the relaxed escaping of the audit log and the API.</summary>
    public static OperatorCommandsJson Stored { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        RespectRequiredConstructorParameters = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
