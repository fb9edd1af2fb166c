using System.Text.Json;

namespace Showrunner.Core.Actions;

/// <summary>The outcome of parsing a request body: a batch error, or one item per array element.</summary>
public sealed class ParsedBatch
{
    private ParsedBatch(string? errorCode, string? errorMessage, BatchItem[] items)
    {
        ErrorCode = errorCode;
        ErrorMessage = errorMessage;
        Items = items;
    }

    /// <summary>Set when the body is refused as a whole (see <see cref="BatchErrorCodes"/>).</summary>
    public string? ErrorCode { get; }
    public string? ErrorMessage { get; }
    public BatchItem[] Items { get; }

    public static ParsedBatch Error(string code, string message) => new(code, message, []);
    public static ParsedBatch Of(BatchItem[] items) => new(null, null, items);
}

/// <summary>
/// Parses and validates <c>{"actions":[{"id","player","type","at","data"}, ...]}</c> in one pass
/// over the UTF-8 body with <see cref="Utf8JsonReader"/>.
/// </summary>
/// <remarks>
/// A body that is not well-formed JSON, or not of that shape, is refused whole. Inside a
/// well-formed body each action is judged on its own: one bad action never refuses its
/// neighbours. Unknown fields are ignored (forward compatibility); the checks run in the fixed
/// order id, player, type, at, data so the reported reason does not depend on field order.
/// Pure and deterministic: the clock is a parameter.
/// </remarks>
public static class ActionBatchParser
{
    private static readonly JsonReaderOptions ReaderOptions = new()
    {
        CommentHandling = JsonCommentHandling.Disallow,
        AllowTrailingCommas = false,
        MaxDepth = 128,
    };

    public static ParsedBatch Parse(ReadOnlySpan<byte> body, ActionLimits limits, long nowUtcTicks)
    {
        try
        {
            return ParseCore(body, limits, nowUtcTicks);
        }
        catch (JsonException exception)
        {
            return ParsedBatch.Error(BatchErrorCodes.MalformedJson,
                $"The body is not well-formed JSON (line {exception.LineNumber + 1}, byte {exception.BytePositionInLine + 1}).");
        }
    }

    private static ParsedBatch ParseCore(ReadOnlySpan<byte> body, ActionLimits limits, long nowUtcTicks)
    {
        var reader = new Utf8JsonReader(body, isFinalBlock: true, new JsonReaderState(ReaderOptions));
        if (!reader.Read())
        {
            return ParsedBatch.Error(BatchErrorCodes.MalformedJson, "The body is empty.");
        }
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return ParsedBatch.Error(BatchErrorCodes.InvalidBody, "The body must be a JSON object with an \"actions\" array.");
        }
        List<BatchItem>? items = null;
        string? shapeError = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            bool isActions = NameIs(ref reader, "actions"u8);
            reader.Read();
            if (!isActions)
            {
                reader.Skip();
                continue;
            }
            if (items is not null)
            {
                shapeError ??= "The body has more than one \"actions\" property.";
                reader.Skip();
                continue;
            }
            if (reader.TokenType != JsonTokenType.StartArray)
            {
                shapeError ??= "\"actions\" must be an array.";
                items = [];
                reader.Skip();
                continue;
            }
            items = [];
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (items.Count == limits.MaxActionsPerBatch)
                {
                    return ParsedBatch.Error(BatchErrorCodes.TooManyActions,
                        $"A batch holds at most {limits.MaxActionsPerBatch} actions.");
                }
                items.Add(ParseAction(ref reader, body, limits, nowUtcTicks));
            }
        }
        // Anything after the top-level object makes the document malformed.
        if (reader.Read())
        {
            return ParsedBatch.Error(BatchErrorCodes.MalformedJson, "The body has data after the top-level object.");
        }
        if (shapeError is not null)
        {
            return ParsedBatch.Error(BatchErrorCodes.InvalidBody, shapeError);
        }
        if (items is null)
        {
            return ParsedBatch.Error(BatchErrorCodes.InvalidBody, "The body has no \"actions\" array.");
        }
        if (items.Count == 0)
        {
            return ParsedBatch.Error(BatchErrorCodes.EmptyBatch, "The \"actions\" array is empty.");
        }
        return ParsedBatch.Of([.. items]);
    }

    private enum Field { Id, Player, Type, At, Data }

    private static BatchItem ParseAction(ref Utf8JsonReader reader, ReadOnlySpan<byte> body, ActionLimits limits, long nowUtcTicks)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return BatchItem.Rejected(null, new ActionRejection(RejectionCodes.InvalidAction, "Each action must be a JSON object."));
        }
        string? id = null, player = null, type = null, at = null;
        bool seenId = false, seenPlayer = false, seenType = false, seenAt = false, seenData = false;
        bool idIsString = true, playerIsString = true, typeIsString = true, atIsString = true;
        string? duplicate = null;
        ReadOnlySpan<byte> dataRaw = default;
        bool dataIsObject = true;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            // A name with a lone surrogate escape is none of ours (and would throw if compared).
            bool comparable = !reader.ValueIsEscaped || Json.StrictJson.LoneSurrogateAt(reader.ValueSpan) is null;
            Field? field = !comparable ? null
                : reader.ValueTextEquals("id"u8) ? Field.Id
                : reader.ValueTextEquals("player"u8) ? Field.Player
                : reader.ValueTextEquals("type"u8) ? Field.Type
                : reader.ValueTextEquals("at"u8) ? Field.At
                : reader.ValueTextEquals("data"u8) ? Field.Data
                : null;
            reader.Read();
            switch (field)
            {
                case Field.Id:
                    duplicate ??= seenId ? "id" : null;
                    seenId = true;
                    id = ReadString(ref reader, ref idIsString);
                    break;
                case Field.Player:
                    duplicate ??= seenPlayer ? "player" : null;
                    seenPlayer = true;
                    player = ReadString(ref reader, ref playerIsString);
                    break;
                case Field.Type:
                    duplicate ??= seenType ? "type" : null;
                    seenType = true;
                    type = ReadString(ref reader, ref typeIsString);
                    break;
                case Field.At:
                    duplicate ??= seenAt ? "at" : null;
                    seenAt = true;
                    at = ReadString(ref reader, ref atIsString);
                    break;
                case Field.Data:
                    duplicate ??= seenData ? "data" : null;
                    seenData = true;
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        int start = (int)reader.TokenStartIndex;
                        reader.Skip();
                        dataRaw = body[start..(int)reader.BytesConsumed];
                        dataIsObject = true;
                    }
                    else
                    {
                        dataIsObject = false;
                        reader.Skip();
                    }
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        // The id is reported back even when another field is wrong, so the sender can match results.
        string? reportedId = idIsString ? id : null;
        if (duplicate is not null)
        {
            return Reject(reportedId, RejectionCodes.DuplicateField, $"The field \"{duplicate}\" appears more than once.", duplicate);
        }
        if (!seenId)
        {
            return Reject(null, RejectionCodes.MissingField, "The field \"id\" is required.", "id");
        }
        if (!idIsString || !IsValidId(id!, limits.MaxIdLength))
        {
            return Reject(reportedId, RejectionCodes.InvalidId,
                $"\"id\" must be a string of 1 to {limits.MaxIdLength} printable ASCII characters without spaces.", "id");
        }
        if (!seenPlayer)
        {
            return Reject(id, RejectionCodes.MissingField, "The field \"player\" is required.", "player");
        }
        if (!playerIsString || !IsValidPlayer(player!, limits.MaxPlayerLength))
        {
            return Reject(id, RejectionCodes.InvalidPlayer,
                $"\"player\" must be a string of 1 to {limits.MaxPlayerLength} characters without control characters.", "player");
        }
        if (!seenType)
        {
            return Reject(id, RejectionCodes.MissingField, "The field \"type\" is required.", "type");
        }
        if (!typeIsString || !IsValidType(type!, limits.MaxTypeLength))
        {
            return Reject(id, RejectionCodes.InvalidType,
                $"\"type\" must be a lower-case dotted name such as \"combat.kill\" of at most {limits.MaxTypeLength} characters.", "type");
        }
        if (!seenAt)
        {
            return Reject(id, RejectionCodes.MissingField, "The field \"at\" is required.", "at");
        }
        long atTicks = 0;
        string? atError = "is not a string";
        if (!atIsString || !Rfc3339.TryParseUtc(at, out atTicks, out atError))
        {
            return Reject(id, RejectionCodes.InvalidAt, $"\"at\" must be an RFC 3339 UTC timestamp: it {atError}.", "at");
        }
        if (atTicks > nowUtcTicks + limits.MaxFutureSkew.Ticks)
        {
            return Reject(id, RejectionCodes.AtInFuture,
                $"\"at\" is more than {limits.MaxFutureSkew} ahead of the server clock ({Rfc3339.Format(nowUtcTicks)}).", "at");
        }
        if (atTicks < nowUtcTicks - limits.MaxAge.Ticks)
        {
            return Reject(id, RejectionCodes.AtTooOld,
                $"\"at\" is more than {limits.MaxAge} behind the server clock ({Rfc3339.Format(nowUtcTicks)}).", "at");
        }
        byte[] data;
        if (!seenData)
        {
            data = "{}"u8.ToArray();
        }
        else if (!dataIsObject)
        {
            return Reject(id, RejectionCodes.InvalidData, "\"data\" must be a JSON object.", "data");
        }
        else
        {
            var compacted = JsonCompactor.Compact(dataRaw, limits.MaxDataBytes, limits.MaxDataDepth);
            if (compacted.TooDeep)
            {
                return Reject(id, RejectionCodes.DataTooDeep, $"\"data\" nests deeper than {limits.MaxDataDepth} levels.", "data");
            }
            if (compacted.Bytes is null)
            {
                return Reject(id, RejectionCodes.DataTooLarge, $"\"data\" is larger than {limits.MaxDataBytes} bytes.", "data");
            }
            data = compacted.Bytes;
        }
        return BatchItem.Valid(new ValidAction(id!, player!, type!, atTicks, data));
    }

    /// <summary>
    /// Compares a member name without throwing: <see cref="Utf8JsonReader.ValueTextEquals(ReadOnlySpan{byte})"/>
    /// throws InvalidOperationException on a name with a lone surrogate escape (<c>{"\ud800actions":[]}</c>),
    /// which is well-formed JSON; such a name is simply not the one asked for.
    /// </summary>
    private static bool NameIs(ref Utf8JsonReader reader, ReadOnlySpan<byte> name) =>
        (!reader.ValueIsEscaped || Json.StrictJson.LoneSurrogateAt(reader.ValueSpan) is null) && reader.ValueTextEquals(name);

    private static BatchItem Reject(string? id, string code, string message, string field) =>
        BatchItem.Rejected(id, new ActionRejection(code, message, field));

    private static string? ReadString(ref Utf8JsonReader reader, ref bool isString)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            try
            {
                isString = true;
                return reader.GetString();
            }
            catch (InvalidOperationException)
            {
                // An escaped lone surrogate ("\ud800") is well-formed JSON but not a valid string:
                // the field is reported as having the wrong type.
                isString = false;
                return null;
            }
        }
        isString = false;
        reader.Skip();
        return null;
    }

    /// <summary>
    /// Whether <paramref name="id"/> is a valid action id: 1 to <paramref name="maxLength"/> printable
    /// ASCII characters without spaces. The server checks ids it receives outside a batch the same way.
    /// </summary>
    public static bool IsValidId(string id, int maxLength)
    {
        if (id.Length == 0 || id.Length > maxLength)
        {
            return false;
        }
        foreach (char c in id)
        {
            if (c is < '!' or > '~')
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// Whether <paramref name="player"/> is a valid player id: 1 to <paramref name="maxLength"/>
    /// characters, none a control character. Tokens and release previews check player ids the same way.
    /// </summary>
    public static bool IsValidPlayer(string player, int maxLength)
    {
        if (player.Length == 0 || player.Length > maxLength)
        {
            return false;
        }
        foreach (char c in player)
        {
            if (char.IsControl(c))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Lower-case dotted names: segments of [a-z][a-z0-9_]*, separated by single dots.</summary>
    internal static bool IsValidType(string type, int maxLength)
    {
        if (type.Length == 0 || type.Length > maxLength)
        {
            return false;
        }
        bool segmentStart = true;
        foreach (char c in type)
        {
            if (segmentStart)
            {
                if (c is < 'a' or > 'z')
                {
                    return false;
                }
                segmentStart = false;
            }
            else if (c == '.')
            {
                segmentStart = true;
            }
            else if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '_'))
            {
                return false;
            }
        }
        return !segmentStart;
    }
}
