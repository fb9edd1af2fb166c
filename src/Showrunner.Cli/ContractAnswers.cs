using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

namespace Showrunner.Cli;

/// <summary>
/// Answers of the API read as the server's own contract records (src/Showrunner.Contracts), so the
/// CLI and the server share one definition of every field. Fields an answer leaves out read as null
/// (an older server); a field of another JSON kind is an error naming the endpoint's contract.
/// </summary>
internal static class ContractAnswers
{
    public static T Read<T>(JsonNode answer, JsonTypeInfo<T> contract) where T : class =>
        answer.Deserialize(contract) ?? throw new JsonException($"The server's answer is not a {typeof(T).Name}.");
}
