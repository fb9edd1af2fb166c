using System.CommandLine;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Showrunner.Core.Rules.Bundle;

namespace Showrunner.Cli;

/// <summary>
/// <c>publish</c>, <c>activate</c> and <c>rollback</c>: the commands that talk to a running server
/// (<c>--server URL</c>, default <c>$SHOWRUNNER_SERVER</c> or http://127.0.0.1:5080), sending the API
/// key of <c>--key</c> (default <c>$SHOWRUNNER_KEY</c>) as <c>Authorization: Bearer</c>. A refusal by the
/// server (a problem response) prints its code and detail and exits 1; so does an unreachable server.
/// A GET refused with 429 is retried after the server's Retry-After (a few times, at most a minute each).
/// </summary>
internal sealed class ServerCommands(TextWriter output, TextWriter errors, HttpMessageHandler? handler = null)
{
    public const string DefaultServer = "http://127.0.0.1:5080";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public const string KeyVariable = "SHOWRUNNER_KEY";
    /// <summary>How often a GET answered 429 is sent again.</summary>
    public const int RateLimitRetries = 5;
    private static readonly TimeSpan RetryAfterMax = TimeSpan.FromSeconds(60);

    public static string ServerFromEnvironment() => Environment.GetEnvironmentVariable("SHOWRUNNER_SERVER") is { Length: > 0 } server ? server : DefaultServer;

    public static string? KeyFromEnvironment() => Environment.GetEnvironmentVariable(KeyVariable) is { Length: > 0 } key ? key : null;

    /// <summary>The <c>--key</c> option (alias <c>--api-key</c>) of the commands that call a server.</summary>
    public static Option<string?> KeyOption(string name = "--key", params string[] aliases) => new(name, aliases)
    {
        Description = $"The API key sent as 'Authorization: Bearer' (default: ${KeyVariable}). A new server's admin key is in <data>/admin.key.",
        DefaultValueFactory = _ => KeyFromEnvironment(),
    };

    /// <summary>Whether the text can travel in an Authorization header: printable ASCII without spaces.</summary>
    public static bool IsSendableKey(string key) => key.Length is > 0 and <= 4096 && key.All(c => c is > ' ' and < (char)127);

    /// <summary>Builds (or reads) the bundle, uploads it with its id so the server verifies the hash, and optionally activates it.</summary>
    public async Task<int> PublishAsync(string source, string server, string? key, bool activate, long? expectedVersion, string? reason, bool json)
    {
        var (bundle, usage) = ReleaseCommands.OpenBundle(source, errors);
        if (bundle is null)
        {
            return usage ? ExitCodes.Usage : ExitCodes.Problems;
        }
        using var client = Client(server, key);
        if (client is null)
        {
            return ExitCodes.Usage;
        }
        var content = new ByteArrayContent(bundle.CanonicalBytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("text/plain") { CharSet = "utf-8" };
        var published = await SendAsync(client, HttpMethod.Post, $"v1/releases?id={bundle.Id}", content).ConfigureAwait(false);
        if (published is null)
        {
            return ExitCodes.Problems;
        }
        bool created = (bool?)published["created"] ?? false;
        if (!activate)
        {
            Report(json, published, $"{(created ? "published" : "already published")}: {bundle.Release.Name} {bundle.Id}");
            return ExitCodes.Ok;
        }
        if (!json)
        {
            output.WriteLine($"{(created ? "published" : "already published")}: {bundle.Release.Name} {bundle.Id}");
        }
        return await ChangeAsync(client, $"v1/releases/{bundle.Id}/activate", expectedVersion, reason, json).ConfigureAwait(false);
    }

    public async Task<int> ActivateAsync(string id, string server, string? key, long? expectedVersion, string? reason, bool json)
    {
        if (id.Length != 64 || !id.All(char.IsAsciiHexDigit))
        {
            errors.WriteLine($"error: '{id}' is not a release id (64 hexadecimal characters; 'showrunner inspect' shows a bundle's id).");
            return ExitCodes.Usage;
        }
        using var client = Client(server, key);
        return client is null ? ExitCodes.Usage : await ChangeAsync(client, $"v1/releases/{id.ToLowerInvariant()}/activate", expectedVersion, reason, json).ConfigureAwait(false);
    }

    public async Task<int> RollbackAsync(string server, string? key, long? expectedVersion, string? reason, bool json)
    {
        using var client = Client(server, key);
        return client is null ? ExitCodes.Usage : await ChangeAsync(client, "v1/releases/rollback", expectedVersion, reason, json).ConfigureAwait(false);
    }

    private async Task<int> ChangeAsync(HttpClient client, string path, long? expectedVersion, string? reason, bool json)
    {
        var body = new Contracts.Releases.ReleaseChangeRequest(expectedVersion, reason);
        var state = await SendAsync(client, HttpMethod.Post, path, new StringContent(
            JsonSerializer.Serialize(body, Contracts.ContractsJson.Wire<Contracts.Releases.ReleaseChangeRequest>()), Encoding.UTF8, "application/json")).ConfigureAwait(false);
        if (state is null)
        {
            return ExitCodes.Problems;
        }
        if (state["approval"] is { } approval)
        {
            // 202: the two-person rule holds the activation until a second person approves it.
            Report(json, state, $"pending approval: request {approval["id"]} ({approval["kind"]} {approval["subject"]}) waits for a second person " +
                $"until {approval["expires_at"]}; nothing changed yet. Another approver runs: showrunner approvals approve {approval["id"]}");
            return ExitCodes.PendingApproval;
        }
        var register = state.Deserialize(Contracts.ContractsJson.Wire<Contracts.Releases.RegisterResponse>())!;
        var release = register.Release;
        string text = register.Changed == false
            ? string.Create(CultureInfo.InvariantCulture, $"unchanged: {release?.Name} {release?.Id} is already active (version {register.Version})")
            : string.Create(CultureInfo.InvariantCulture, $"active: {release?.Name} {release?.Id} (version {register.Version}, {register.Kind}") +
              (register.RollbackTo is { } previous ? $"; rollback returns to {previous})" : ")");
        Report(json, state, text);
        return ExitCodes.Ok;
    }

    private void Report(bool json, JsonNode body, string text)
    {
        if (json)
        {
            CliJson.Write(output, writer => body.WriteTo(writer));
        }
        else
        {
            output.WriteLine(text);
        }
    }

    internal HttpClient? Client(string server, string? key)
    {
        if (!Uri.TryCreate(server.EndsWith('/') ? server : server + "/", UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            errors.WriteLine($"error: --server '{server}' is not an http:// or https:// URL.");
            return null;
        }
        if (key is not null && !IsSendableKey(key))
        {
            // The key itself is not printed: it may be a real one with a stray character.
            errors.WriteLine("error: --key (or $SHOWRUNNER_KEY) is not an API key: it must be printable ASCII without spaces.");
            return null;
        }
        var client = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        client.BaseAddress = uri;
        client.Timeout = Timeout;
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        return client;
    }

    /// <summary>Sends a request; returns the JSON body of a 2xx answer, or prints the problem (or the failure) and returns null.</summary>
    internal async Task<JsonNode?> SendAsync(HttpClient client, HttpMethod method, string path, HttpContent? content = null)
    {
        HttpResponseMessage response;
        try
        {
            for (int attempt = 0; ; attempt++)
            {
                using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative)) { Content = content };
                response = await client.SendAsync(request).ConfigureAwait(false);
                if (response.StatusCode != System.Net.HttpStatusCode.TooManyRequests || method != HttpMethod.Get || attempt == RateLimitRetries ||
                    response.Headers.RetryAfter?.Delta is not { } wait || wait > RetryAfterMax)
                {
                    break;
                }
                response.Dispose();
                await Task.Delay(wait).ConfigureAwait(false);
            }
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
        {
            errors.WriteLine($"error: cannot reach {client.BaseAddress}: {exception.Message}");
            return null;
        }
        using (response)
        {
            string text = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
            JsonNode? body = null;
            try
            {
                body = text.Length == 0 ? null : JsonNode.Parse(text);
            }
            catch (JsonException)
            {
                // Not JSON (a proxy's error page): reported below with the status.
            }
            if (response.IsSuccessStatusCode && body is not null)
            {
                return body;
            }
            int status = (int)response.StatusCode;
            if (body?["code"] is { } code)
            {
                errors.WriteLine($"error: {code} ({status.ToString(CultureInfo.InvariantCulture)}): {body["detail"]}");
                foreach (var problem in body["problems"]?.AsArray() ?? [])
                {
                    errors.WriteLine($"  {problem?["code"]} {problem?["event"]}: {problem?["message"]}");
                }
                foreach (var diagnostic in body["diagnostics"]?.AsArray() ?? [])
                {
                    errors.WriteLine($"  {diagnostic?["file"]}:{diagnostic?["line"]}:{diagnostic?["column"]}: {diagnostic?["code"]}: {diagnostic?["message"]}");
                }
            }
            else
            {
                errors.WriteLine($"error: the server answered {status.ToString(CultureInfo.InvariantCulture)} {response.ReasonPhrase}.");
            }
            if (status == 401 && client.DefaultRequestHeaders.Authorization is null)
            {
                errors.WriteLine($"hint: no API key was sent: pass --key KEY or set ${KeyVariable} (a new server's admin key is in <data>/admin.key).");
            }
            return null;
        }
    }
}
