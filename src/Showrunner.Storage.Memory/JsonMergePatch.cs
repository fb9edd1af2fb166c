using System.Text.Json;
using System.Text.Json.Nodes;

namespace Showrunner.Storage.Memory;

/// <summary>
/// RFC 7396 JSON merge patch over compact JSON objects, as the SQLite store's <c>json_patch</c>
/// merges player profiles: a member of the patch replaces the target's (objects merge
/// recursively), a null member removes one; members keep their first position.
/// </summary>
internal static class JsonMergePatch
{
    // Characters as sent (SQLite's json functions do not escape them either); compact.
    private static readonly JsonSerializerOptions Compact = new() { WriteIndented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The target (null: an empty object) patched with <paramref name="patch"/> (UTF-8 JSON), as compact JSON.</summary>
    public static string Apply(string? target, byte[] patch)
    {
        var patchNode = JsonNode.Parse(patch);
        var merged = Merge(target is null ? new JsonObject() : JsonNode.Parse(target), patchNode);
        return merged?.ToJsonString(Compact) ?? "null";
    }

    private static JsonNode? Merge(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject patchObject)
        {
            return patch?.DeepClone();
        }
        var result = target as JsonObject ?? new JsonObject();
        foreach (var (name, value) in patchObject)
        {
            if (value is null)
            {
                result.Remove(name);
                continue;
            }
            var existing = result[name];
            var merged = Merge(existing, value);
            if (!ReferenceEquals(merged, existing))
            {
                result[name] = merged?.Parent is null ? merged : merged.DeepClone();
            }
        }
        return result;
    }
}
