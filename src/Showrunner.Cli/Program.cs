using System.CommandLine;
using Showrunner.Cli;

// The `showrunner` command. Exit codes: 0 ok, 1 problems found, 2 usage. docs/cli.md.
return ShowrunnerCommand.Run(args, Console.Out, Console.Error);

namespace Showrunner.Cli
{
    internal static class ShowrunnerCommand
    {
        public static int Run(string[] args, TextWriter output, TextWriter errors)
        {
            var commands = new ReleaseCommands(output, errors);
            var json = new Option<bool>("--json") { Description = "Print one JSON document instead of text." };

            var directory = new Argument<string>("dir") { Description = "A directory of .hcl sources (read recursively)." };
            var check = new Command("check", "Check a release's sources and report every problem.") { directory, json };
            check.SetAction(result => commands.Check(result.GetValue(directory)!, result.GetValue(json)));

            var buildDirectory = new Argument<string>("dir") { Description = "A directory of .hcl sources." };
            var outputFile = new Option<string>("--output", "-o") { Description = "Where to write the bundle.", Required = true };
            var build = new Command("build", "Build the canonical, content-addressed release bundle.") { buildDirectory, outputFile, json };
            build.SetAction(result => commands.Build(result.GetValue(buildDirectory)!, result.GetValue(outputFile)!, result.GetValue(json)));

            var before = new Argument<string>("a") { Description = "A bundle file or a directory of sources." };
            var after = new Argument<string>("b") { Description = "A bundle file or a directory of sources." };
            var at = new Option<DateTimeOffset?>("--at") { Description = "Judge whether B may replace A at this UTC time (default: now)." };
            var diff = new Command("diff", "Name the definitions added, removed and changed from A to B, and whether B may replace A.") { before, after, at, json };
            diff.SetAction(result => commands.Diff(result.GetValue(before)!, result.GetValue(after)!, result.GetValue(json),
                result.GetValue(at)?.ToUniversalTime() ?? DateTimeOffset.UtcNow));

            var file = new Argument<string>("file") { Description = "A bundle file built by 'showrunner build'." };
            var inspect = new Command("inspect", "Show what a bundle holds: id, Merkle root, definitions, events.") { file, json };
            inspect.SetAction(result => commands.Inspect(result.GetValue(file)!, result.GetValue(json)));

            var root = new RootCommand("Showrunner: live events for online games.") { check, build, diff, inspect };
            var parsed = root.Parse(args);
            if (parsed.Errors.Count > 0)
            {
                foreach (var error in parsed.Errors)
                {
                    errors.WriteLine("error: " + error.Message);
                }
                errors.WriteLine("Run 'showrunner --help' for usage.");
                return ExitCodes.Usage;
            }
            return parsed.Invoke(new InvocationConfiguration { Output = output, Error = errors });
        }
    }
}
