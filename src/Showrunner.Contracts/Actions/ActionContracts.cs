using System.Text.Json.Serialization;
using Showrunner.Contracts.Wire;

namespace Showrunner.Contracts.Actions;

/// <summary>The answer of <c>POST /v1/actions</c>: one result per action, in the batch's order.</summary>
public sealed record ActionBatchResponse(IReadOnlyList<ActionResultResponse> Results);

/// <summary>
/// One action's result. <c>accepted</c> and <c>duplicate</c> carry <c>seq</c> and <c>partition</c>;
/// <c>rejected</c> carries <c>code</c>, <c>message</c> and, when one field is at fault, <c>field</c>.
/// <c>id</c> is always written (null when the action had none).
/// </summary>
public sealed record ActionResultResponse(
    string? Id,
    string Status,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? Seq = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Partition = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Code = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Message = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Field = null);

/// <summary>The answer of <c>GET /v1/actions/{id}</c>: the stored action; <c>data</c> is the JSON object it was sent with.</summary>
public sealed record ActionResponse(
    string Id,
    string Player,
    string Type,
    string At,
    [property: JsonConverter(typeof(RawJsonConverter))] string Data,
    long Seq,
    int Partition,
    string IngestedAt,
    string? Release);
