using System.Reflection;
using Microsoft.Extensions.Logging;

namespace Showrunner.Server.Tests;

/// <summary>
/// Every log message of the server's assemblies has its own event id (STYLE.md: source-generated
/// log messages with stable ids): an operator's filter or alert on an id must never match two
/// different events. Two messages sharing an id fail this test with both names.
/// </summary>
public sealed class LogEventIdTests
{
    [Fact]
    public void No_two_log_messages_share_an_event_id()
    {
        var server = typeof(Program).Assembly;
        var assemblies = new[] { server }
            .Concat(server.GetReferencedAssemblies().Where(a => a.Name!.StartsWith("Showrunner.", StringComparison.Ordinal)).Select(Assembly.Load))
            .Distinct()
            .ToList();
        Assert.Contains(assemblies, a => a.GetName().Name == "Showrunner.Runtime");
        var messages = assemblies
            .SelectMany(a => a.GetTypes())
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Select(m => (Method: m, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(x => x.Attribute is not null)
            .Select(x => (Id: x.Attribute!.EventId, Name: x.Method.DeclaringType!.FullName + "." + x.Method.Name))
            .ToList();
        Assert.True(messages.Count > 50, $"only {messages.Count} log messages found");
        var shared = messages.GroupBy(m => m.Id).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(m => m.Name))}").ToList();
        Assert.True(shared.Count == 0, "event ids used twice: " + string.Join("; ", shared));
    }
}
