using System.Text.Json;
using Showrunner.Contracts;

namespace Showrunner.Server.Api;

/// <summary>
/// Answers written from contract records (Showrunner.Contracts) through <see cref="ContractsJson.WireOptions"/>:
/// the same bytes, status, <c>Content-Type: application/json</c> and <c>Content-Length</c> as <see cref="JsonOutput"/>.
/// </summary>
internal static class ContractOutput
{
    public static ApiResult Result<T>(int status, T value, string? location = null) =>
        new(status, JsonSerializer.SerializeToUtf8Bytes(value, ContractsJson.Wire<T>()), "application/json", location);

    public static Task WriteAsync<T>(HttpContext context, int status, T value) => Result(status, value).WriteAsync(context);
}
