namespace Showrunner.Core.Actions;

/// <summary>
/// Stable codes for a request body refused as a whole (RFC 9457 problem responses). Nothing of a
/// refused body is applied.
/// </summary>
public static class BatchErrorCodes
{
    /// <summary>The body is not well-formed JSON.</summary>
    public const string MalformedJson = "malformed_json";
    /// <summary>The body is JSON but not <c>{"actions":[...]}</c>.</summary>
    public const string InvalidBody = "invalid_body";
    /// <summary>The actions array is empty.</summary>
    public const string EmptyBatch = "empty_batch";
    /// <summary>The actions array holds more actions than the limit.</summary>
    public const string TooManyActions = "too_many_actions";
    /// <summary>The body is larger than the limit (refused before it is read whole).</summary>
    public const string BodyTooLarge = "body_too_large";
    /// <summary>The Content-Type is not application/json.</summary>
    public const string UnsupportedMediaType = "unsupported_media_type";
}
