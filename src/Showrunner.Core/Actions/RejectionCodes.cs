namespace Showrunner.Core.Actions;

/// <summary>
/// Stable codes for why a single action was rejected. They are part of the HTTP contract
/// (docs/api.md lists each with its cause); never rename one, only add.
/// </summary>
public static class RejectionCodes
{
    /// <summary>The array element is not a JSON object.</summary>
    public const string InvalidAction = "invalid_action";
    /// <summary>A required field (id, player, type, at, or a required <c>data</c> field of the active release) is absent.</summary>
    public const string MissingField = "missing_field";
    /// <summary>The same field appears twice in one action (or a declared field twice in its <c>data</c>).</summary>
    public const string DuplicateField = "duplicate_field";
    /// <summary>The id is not a string of 1–128 printable ASCII characters.</summary>
    public const string InvalidId = "invalid_id";
    /// <summary>The player is not a string of 1–128 characters without control characters.</summary>
    public const string InvalidPlayer = "invalid_player";
    /// <summary>The type is not a lower-case dotted name such as <c>combat.kill</c>.</summary>
    public const string InvalidType = "invalid_type";
    /// <summary>The at field is not an RFC 3339 UTC timestamp.</summary>
    public const string InvalidAt = "invalid_at";
    /// <summary>The at field lies further in the future than the skew tolerance.</summary>
    public const string AtInFuture = "at_in_future";
    /// <summary>The at field lies further in the past than the accepted age.</summary>
    public const string AtTooOld = "at_too_old";
    /// <summary>The data field is present but not a JSON object.</summary>
    public const string InvalidData = "invalid_data";
    /// <summary>The data object is larger than the limit once whitespace is removed.</summary>
    public const string DataTooLarge = "data_too_large";
    /// <summary>The data object nests deeper than the limit.</summary>
    public const string DataTooDeep = "data_too_deep";
    /// <summary>The id was already used for an action with different content.</summary>
    public const string IdConflict = "id_conflict";
    /// <summary>A field of <c>data</c> declared by the active release has the wrong JSON type or is out of range.</summary>
    public const string InvalidFieldType = "invalid_field_type";

    /// <summary>Every code, for documentation and tests.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        InvalidAction, MissingField, DuplicateField, InvalidId, InvalidPlayer, InvalidType, InvalidAt,
        AtInFuture, AtTooOld, InvalidData, DataTooLarge, DataTooDeep, IdConflict, InvalidFieldType,
    ];
}

/// <summary>Why one action was rejected: a stable code, a human message and the field at fault.</summary>
public sealed record ActionRejection(string Code, string Message, string? Field = null);
