using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;

namespace Showrunner.Server.Tests;

/// <summary>
/// Log event ids are an operator interface (STYLE.md: source-generated log messages with stable
/// ids): an alert on an id must never match two events, and an id must say which area it comes
/// from. The registry is the "Ranges" table of docs/internals/logging.md; these tests read it and
/// check every <c>[LoggerMessage]</c> of the server's assemblies against it: two messages sharing an
/// id fail with both sites, a message outside its area's range fails with its site and the range.
/// </summary>
[Trait("Category", "Unit")]
public sealed partial class LogEventIdTests
{
    private const string RegistryPath = "docs/internals/logging.md";

    [Fact]
    public void No_two_log_messages_share_an_event_id()
    {
        var messages = LogMessages();
        Assert.True(messages.Count > 50, $"only {messages.Count} log messages found");
        var shared = messages.GroupBy(m => m.Id).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(" and ", g.Select(m => m.Site))}").ToList();
        Assert.True(shared.Count == 0, "event ids used twice (the newer message takes a free id of its area's range in " + RegistryPath + "): " + string.Join("; ", shared));
    }

    [Fact]
    public void Every_log_message_has_an_id_in_a_range_of_its_area()
    {
        var ranges = Registry();
        var wrong = new List<string>();
        foreach (var message in LogMessages())
        {
            var owner = ranges.SelectMany(r => r.Owners).Where(o => Owns(o, message.TypeName)).MaxBy(o => o.Length);
            if (owner is null)
            {
                wrong.Add($"{message.Site} (id {message.Id}): no row of {RegistryPath} owns {message.TypeName}; claim a free range for its area there");
                continue;
            }
            var own = ranges.Where(r => r.Owners.Contains(owner)).ToList();
            if (!own.Any(r => r.Contains(message.Id)))
            {
                var holder = ranges.FirstOrDefault(r => r.Contains(message.Id));
                wrong.Add($"{message.Site} (id {message.Id}) is outside the range of its area `{owner}` " +
                    $"({string.Join(", ", own.Select(r => r.Text))}); id {message.Id} lies in {(holder is null ? "no range" : $"{holder.Text} ({holder.Area})")}");
            }
        }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [Fact]
    public void The_registry_ranges_are_well_formed_and_do_not_overlap()
    {
        var ranges = Registry();
        Assert.True(ranges.Count >= 10, $"only {ranges.Count} rows read from the Ranges table of {RegistryPath}");
        var problems = ranges.Where(r => r.First < 1 || r.Last < r.First).Select(r => $"{r.Text}: not a range of positive ids").ToList();
        var sorted = ranges.OrderBy(r => r.First).ToList();
        for (int i = 1; i < sorted.Count; i++)
        {
            if (sorted[i].First <= sorted[i - 1].Last)
            {
                problems.Add($"{sorted[i - 1].Text} ({sorted[i - 1].Area}) and {sorted[i].Text} ({sorted[i].Area}) overlap");
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void A_message_is_owned_by_the_longest_matching_prefix_at_a_name_boundary()
    {
        Assert.True(Owns("Showrunner.Server.Hosting", "Showrunner.Server.Hosting.IngestHostedService"));
        Assert.True(Owns("Showrunner.Server.Hosting.OutboxHostedService", "Showrunner.Server.Hosting.OutboxHostedService+Log"));
        Assert.True(Owns("StartupLog", "StartupLog"));
        Assert.False(Owns("Showrunner.Server.Host", "Showrunner.Server.Hosting.IngestHostedService"));
        Assert.False(Owns("Showrunner.Runtime.Ledger", "Showrunner.Runtime.LedgerTools.X"));
    }

    private sealed record LogMessage(int Id, string TypeName, string Site);

    private sealed record IdRange(int First, int Last, string Area, IReadOnlyList<string> Owners, string Text)
    {
        public bool Contains(int id) => id >= First && id <= Last;
    }

    /// <summary>Whether <paramref name="owner"/> (a namespace or type name) is <paramref name="typeName"/> or encloses it.</summary>
    private static bool Owns(string owner, string typeName) =>
        typeName == owner || (typeName.StartsWith(owner, StringComparison.Ordinal) && typeName[owner.Length] is '.' or '+');

    /// <summary>Every <c>[LoggerMessage]</c> method of the server and of every Showrunner assembly it references, transitively.</summary>
    private static List<LogMessage> LogMessages()
    {
        var assemblies = new Dictionary<string, Assembly>(StringComparer.Ordinal);
        var pending = new Queue<Assembly>([typeof(Program).Assembly]);
        while (pending.TryDequeue(out var assembly))
        {
            if (!assemblies.TryAdd(assembly.GetName().Name!, assembly))
            {
                continue;
            }
            foreach (var reference in assembly.GetReferencedAssemblies().Where(a => a.Name!.StartsWith("Showrunner.", StringComparison.Ordinal)))
            {
                pending.Enqueue(Assembly.Load(reference));
            }
        }
        Assert.Contains("Showrunner.Runtime", assemblies.Keys);
        return assemblies.Values
            .SelectMany(a => a.GetTypes())
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Select(m => (Method: m, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(x => x.Attribute is not null)
            .Select(x => new LogMessage(x.Attribute!.EventId, x.Method.DeclaringType!.FullName!,
                $"{x.Method.DeclaringType.FullName}.{x.Method.Name} ({x.Method.DeclaringType.Assembly.GetName().Name})"))
            .ToList();
    }

    /// <summary>The rows of the "Ranges" table: <c>| first–last | area | `owner`, `owner` |</c> (a dash for a free range).</summary>
    private static List<IdRange> Registry()
    {
        string path = Path.Combine(RepositoryRoot(), RegistryPath);
        var lines = File.ReadAllLines(path);
        int start = Array.FindIndex(lines, l => l.Trim() == "## Ranges");
        Assert.True(start >= 0, $"{RegistryPath} has no '## Ranges' section");
        var ranges = new List<IdRange>();
        foreach (string line in lines.Skip(start + 1).TakeWhile(l => !l.StartsWith("## ", StringComparison.Ordinal)))
        {
            var row = RangeRow().Match(line);
            if (!row.Success)
            {
                continue;
            }
            var owners = OwnerName().Matches(row.Groups["owners"].Value).Select(m => m.Groups[1].Value).ToList();
            ranges.Add(new IdRange(int.Parse(row.Groups["first"].Value, CultureInfo.InvariantCulture), int.Parse(row.Groups["last"].Value, CultureInfo.InvariantCulture),
                row.Groups["area"].Value.Trim(), owners, $"{row.Groups["first"].Value}–{row.Groups["last"].Value}"));
        }
        return ranges;
    }

    /// <summary>The repository root: the first directory above the test's build that holds Showrunner.slnx.</summary>
    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Showrunner.slnx")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new InvalidOperationException("Cannot find the repository root (Showrunner.slnx) above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"^\|\s*(?<first>\d+)\s*[–-]\s*(?<last>\d+)\s*\|(?<area>[^|]*)\|(?<owners>[^|]*)\|\s*$")]
    private static partial Regex RangeRow();

    [GeneratedRegex(@"`([^`]+)`")]
    private static partial Regex OwnerName();
}
