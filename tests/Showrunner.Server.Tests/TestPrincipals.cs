using System.Collections.Concurrent;
using Showrunner.Server.Security;

namespace Showrunner.Server.Tests;

/// <summary>
/// Named operators for tests of who did what: <see cref="As"/> creates a real operator key with the
/// role (through the admin key) and returns a client that sends it, so every request goes through
/// the server's own authentication; <see cref="Actor"/> names the key as the audit log and the
/// ledger's <c>author</c> do (<c>key:ID</c>). Names are per test class (its tests run one at a time),
/// so test classes use distinct names.
/// </summary>
internal static class TestPrincipals
{
    private static readonly ConcurrentDictionary<string, string> Actors = new(StringComparer.Ordinal);

    /// <summary>A client whose every request runs as a new operator key named <paramref name="name"/> with <paramref name="role"/>.</summary>
    public static HttpClient As(ShowrunnerFactory factory, string name, Role role)
    {
        var (id, secret) = factory.CreateKeyAsync(role.ToString().ToLowerInvariant(), name: name).GetAwaiter().GetResult();
        Actors[name] = "key:" + id;
        return factory.ClientWith(secret);
    }

    /// <summary>The actor of the key <see cref="As"/> last created under <paramref name="name"/>.</summary>
    public static string Actor(string name) =>
        Actors.TryGetValue(name, out string? actor) ? actor : throw new InvalidOperationException($"No test principal named {name} was created.");
}
