using System.CommandLine;
using System.Text;
using System.Text.Json.Nodes;
using Showrunner.Contracts.Keys;

namespace Showrunner.Cli;

/// <summary>
/// <c>keys create|list|revoke</c>: API keys of a running server (<c>POST/GET/DELETE /v1/keys</c>,
/// admin keys only), through <see cref="ServerCommands"/>' client, so refusals and an unreachable
/// server are reported the same way (exit 1). The secret of a new key is printed once and is not
/// kept anywhere by the command.
/// </summary>
internal sealed class KeysCommands(ServerCommands remote, TextWriter output, TextWriter errors)
{
    /// <summary>Most pages <c>keys list</c> follows (1,000 keys each): a server that keeps answering "next" cannot loop it forever.</summary>
    public const int MaxPages = 1_000;

    public static Command Build(ServerCommands remote, TextWriter output, TextWriter errors, Option<string> server, Option<string?> key, Option<bool> json)
    {
        var commands = new KeysCommands(remote, output, errors);
        var name = new Option<string>("--name") { Description = "Who or what the key is for (1 to 100 characters).", Required = true };
        var role = new Option<string?>("--role") { Description = "An operator key with this role: viewer, operator, approver or admin." };
        var title = new Option<string?>("--title") { Description = "A game-server key for this game title instead." };
        var create = new Command("create", "Create an API key (an operator key with --role, a game-server key with --title); prints its secret once.")
            { name, role, title, server, key, json };
        create.SetAction((result, _) => commands.CreateAsync(result.GetValue(name)!, result.GetValue(role), result.GetValue(title),
            result.GetValue(server)!, result.GetValue(key), result.GetValue(json)));

        var list = new Command("list", "List the server's API keys (never their secrets), revoked ones included.") { server, key, json };
        list.SetAction((result, _) => commands.ListAsync(result.GetValue(server)!, result.GetValue(key), result.GetValue(json)));

        var id = new Argument<string>("id") { Description = "The key id (12 hex characters; 'keys list' shows them)." };
        var revoke = new Command("revoke", "Revoke an API key: refused from the next request on. The last active admin key cannot be revoked.")
            { id, server, key, json };
        revoke.SetAction((result, _) => commands.RevokeAsync(result.GetValue(id)!, result.GetValue(server)!, result.GetValue(key), result.GetValue(json)));

        return new Command("keys", "API keys of a server (admin key needed).") { create, list, revoke };
    }

    public async Task<int> CreateAsync(string name, string? role, string? title, string server, string? key, bool json)
    {
        if ((role is null) == (title is null))
        {
            errors.WriteLine("error: give exactly one of --role (an operator key) and --title (a game-server key).");
            return ExitCodes.Usage;
        }
        using var client = remote.Client(server, key);
        if (client is null)
        {
            return ExitCodes.Usage;
        }
        var body = new JsonObject { ["name"] = name, ["kind"] = role is null ? "game_server" : "operator" };
        if (role is null)
        {
            body["title"] = title;
        }
        else
        {
            body["role"] = role;
        }
        var created = await remote.SendAsync(client, HttpMethod.Post, "v1/keys", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json")).ConfigureAwait(false);
        if (created is null)
        {
            return ExitCodes.Problems;
        }
        if (json)
        {
            CliJson.Write(output, writer => created.WriteTo(writer));
            return ExitCodes.Ok;
        }
        var createdKey = ContractAnswers.Read(created, KeysJson.Default.KeyResponse);
        output.WriteLine($"created {Describe(createdKey)}");
        output.WriteLine($"secret (shown once, store it now): {createdKey.Secret}");
        return ExitCodes.Ok;
    }

    public async Task<int> ListAsync(string server, string? key, bool json)
    {
        using var client = remote.Client(server, key);
        if (client is null)
        {
            return ExitCodes.Usage;
        }
        var keys = new JsonArray();
        string? path = "v1/keys?limit=1000";
        for (int page = 0; path is not null; page++)
        {
            if (page == MaxPages)
            {
                errors.WriteLine($"error: the server kept answering more pages after {MaxPages}.");
                return ExitCodes.Problems;
            }
            var answer = await remote.SendAsync(client, HttpMethod.Get, path).ConfigureAwait(false);
            if (answer is null)
            {
                return ExitCodes.Problems;
            }
            foreach (var item in answer["keys"]?.AsArray() ?? [])
            {
                keys.Add(item?.DeepClone());
            }
            path = (string?)answer["next"] is { } next ? next.TrimStart('/') : null;
        }
        if (json)
        {
            CliJson.Write(output, writer => new JsonObject { ["keys"] = keys }.WriteTo(writer));
            return ExitCodes.Ok;
        }
        var listed = keys.Select(item => ContractAnswers.Read(item!, KeysJson.Default.KeyResponse)).ToList();
        foreach (var item in listed)
        {
            string revoked = item.RevokedAt is { } at ? $"  revoked {at} by {item.RevokedBy}" : "";
            output.WriteLine($"{Describe(item)}, created {item.CreatedAt} by {item.CreatedBy}{revoked}");
        }
        output.WriteLine($"{listed.Count} {(listed.Count == 1 ? "key" : "keys")}, {listed.Count(k => k.RevokedAt is null)} active");
        return ExitCodes.Ok;
    }

    public async Task<int> RevokeAsync(string id, string server, string? key, bool json)
    {
        if (id.Length != 12 || !id.All(char.IsAsciiHexDigitLower))
        {
            errors.WriteLine($"error: '{id}' is not a key id (12 lower-case hex characters; 'showrunner keys list' shows them).");
            return ExitCodes.Usage;
        }
        using var client = remote.Client(server, key);
        if (client is null)
        {
            return ExitCodes.Usage;
        }
        var revoked = await remote.SendAsync(client, HttpMethod.Delete, "v1/keys/" + id).ConfigureAwait(false);
        if (revoked is null)
        {
            return ExitCodes.Problems;
        }
        if (json)
        {
            CliJson.Write(output, writer => revoked.WriteTo(writer));
            return ExitCodes.Ok;
        }
        var revokedKey = ContractAnswers.Read(revoked, KeysJson.Default.KeyResponse);
        output.WriteLine(revokedKey.Changed == false ? $"already revoked: {Describe(revokedKey)}" : $"revoked {Describe(revokedKey)}");
        return ExitCodes.Ok;
    }

    private static string Describe(KeyResponse key) => key.Kind == "game_server"
        ? $"game-server key {key.Id} (title {key.Title}) for '{key.Name}'"
        : $"operator key {key.Id} (role {key.Role}) for '{key.Name}'";
}
