namespace Showrunner.Core.Actions;

/// <summary>
/// Removes insignificant whitespace from an already validated JSON value, so the stored form of
/// <c>data</c> does not depend on how the sender formatted it. Key order and string escapes are
/// kept byte for byte. Measures nesting depth on the way.
/// </summary>
internal static class JsonCompactor
{
    internal readonly record struct Result(byte[]? Bytes, bool TooDeep);

    /// <summary>Compacts <paramref name="json"/>; <c>Bytes</c> is null when the result exceeds <paramref name="maxBytes"/>.</summary>
    public static Result Compact(ReadOnlySpan<byte> json, int maxBytes, int maxDepth)
    {
        // Upper bound first: a compacted value is never longer than its source.
        Span<byte> output = json.Length <= 16 * 1024 ? stackalloc byte[json.Length] : new byte[json.Length];
        int length = 0, depth = 0;
        bool inString = false, escaped = false;
        foreach (byte b in json)
        {
            if (inString)
            {
                output[length++] = b;
                if (escaped)
                {
                    escaped = false;
                }
                else if (b == (byte)'\\')
                {
                    escaped = true;
                }
                else if (b == (byte)'"')
                {
                    inString = false;
                }
                continue;
            }
            switch (b)
            {
                case (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n':
                    continue;
                case (byte)'"':
                    inString = true;
                    break;
                case (byte)'{' or (byte)'[':
                    if (++depth > maxDepth)
                    {
                        return new Result(null, true);
                    }
                    break;
                case (byte)'}' or (byte)']':
                    depth--;
                    break;
            }
            output[length++] = b;
        }
        return length > maxBytes ? new Result(null, false) : new Result(output[..length].ToArray(), false);
    }
}
