using System.CommandLine;
using Showrunner.Cli;

// The `showrunner` command. Exit codes: 0 ok, 1 problems found, 2 usage, 3 waiting for approval. docs/cli.md.
return ShowrunnerCommand.Run(args, Console.Out, Console.Error);

namespace Showrunner.Cli
{
    internal static class ShowrunnerCommand
    {
        public static int Run(string[] args, TextWriter output, TextWriter errors, HttpMessageHandler? handler = null)
        {
            var commands = new ReleaseCommands(output, errors);
            var remote = new ServerCommands(output, errors, handler);
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

            var server = new Option<string>("--server")
            {
                Description = $"The server's base URL (default: $SHOWRUNNER_SERVER, else {ServerCommands.DefaultServer}).",
                DefaultValueFactory = _ => ServerCommands.ServerFromEnvironment(),
            };
            var apiKey = ServerCommands.KeyOption("--key", "--api-key");
            var expectedVersion = new Option<long?>("--expected-version")
            {
                Description = "Change the active release only if the register is still at this version (GET /v1/releases/active shows it).",
            };
            var reason = new Option<string?>("--reason") { Description = "Why, for the register's history (at most 500 characters)." };

            var source = new Argument<string>("source") { Description = "A directory of .hcl sources, or a bundle file built by 'showrunner build'." };
            var activate = new Option<bool>("--activate") { Description = "Activate the release once it is published." };
            var publish = new Command("publish", "Upload a release to a server (the server verifies its id); with --activate, make it active.")
                { source, server, apiKey, activate, expectedVersion, reason, json };
            publish.SetAction((result, _) => remote.PublishAsync(result.GetValue(source)!, result.GetValue(server)!, result.GetValue(apiKey), result.GetValue(activate),
                result.GetValue(expectedVersion), result.GetValue(reason), result.GetValue(json)));

            var releaseId = new Argument<string>("id") { Description = "The release id (64 hex characters)." };
            var activateCommand = new Command("activate", "Make a published release the active one; in force on every partition when this returns.")
                { releaseId, server, apiKey, expectedVersion, reason, json };
            activateCommand.SetAction((result, _) => remote.ActivateAsync(result.GetValue(releaseId)!, result.GetValue(server)!, result.GetValue(apiKey),
                result.GetValue(expectedVersion), result.GetValue(reason), result.GetValue(json)));

            var rollback = new Command("rollback", "Return to the release the active one replaced.") { server, apiKey, expectedVersion, reason, json };
            rollback.SetAction((result, _) => remote.RollbackAsync(result.GetValue(server)!, result.GetValue(apiKey), result.GetValue(expectedVersion),
                result.GetValue(reason), result.GetValue(json)));

            var ledger = new LedgerCommands(output, errors);
            var receiptFile = new Argument<string>("file") { Description = "A receipt (GET /v1/rewards/{grant_id}/receipt saved to a file)." };
            var keyFile = new Option<string>("--key") { Description = "The ledger's public key, PEM (GET /v1/ledger/key?format=pem).", Required = true };
            var verifyReceipt = new Command("verify", "Check a grant receipt offline: entry hash, inclusion proof, checkpoint signature, key id.") { receiptFile, keyFile, json };
            verifyReceipt.SetAction(result => ledger.VerifyReceipt(result.GetValue(receiptFile)!, result.GetValue(keyFile)!, result.GetValue(json)));
            var receipt = new Command("receipt", "Receipts of reward grants.") { verifyReceipt };

            var verifyCommand = new LedgerVerifyCommand(output, errors, handler);
            var data = new Option<string?>("--data") { Description = "A data directory (read-only; the server may be running)." };
            var ledgerServer = new Option<string?>("--server") { Description = "A running server's base URL, to verify over its ledger endpoints instead." };
            var ledgerKey = new Option<string?>("--key")
            {
                Description = "The ledger's public key, PEM (default: derived from the data directory's key file; with --server, the key the server serves).",
            };
            // --key here is the ledger's public key (as in receipt verify), so the API key is --api-key.
            var ledgerApiKey = ServerCommands.KeyOption("--api-key");
            var verifyLedger = new Command("verify", "Verify the whole ledger: every entry's hash link, every checkpoint's signature and root, unique grant ids.")
                { data, ledgerServer, ledgerKey, ledgerApiKey, json };
            verifyLedger.SetAction(result => verifyCommand.Run(result.GetValue(data), result.GetValue(ledgerServer), result.GetValue(ledgerKey),
                result.GetValue(json), result.GetValue(ledgerApiKey)));
            var ledgerCommand = new Command("ledger", "The grant ledger.") { verifyLedger };

            var reconcileCommand = new ReconcileCommand(output, errors);
            var reconcileData = new Option<string>("--data") { Description = "A data directory (read-only; the server may be running).", Required = true };
            var limit = new Option<int>("--limit")
            {
                Description = $"List at most this many differences (all are counted; 0 to {ReconcileCommand.LimitMax}).",
                DefaultValueFactory = _ => ReconcileCommand.DefaultLimit,
            };
            var reconcile = new Command("reconcile", "Replay the action log from scratch and compare the grants it gives with the ledger.") { reconcileData, limit, json };
            reconcile.SetAction(result => reconcileCommand.Run(result.GetValue(reconcileData)!, result.GetValue(limit), result.GetValue(json)));

            var simulateCommand = new SimulateCommand(output, errors);
            var candidate = new Argument<string>("candidate") { Description = "The candidate release: a directory of .hcl sources or a bundle file." };
            var simulateData = new Option<string>("--data") { Description = "A data directory (read-only; the server may be running).", Required = true };
            var windowFrom = new Option<string?>("--from") { Description = "The window's start, RFC 3339 UTC, by ingest time (default: its end minus 1h)." };
            var windowTo = new Option<string?>("--to") { Description = "The window's end, excluded (default: the end of the log)." };
            var windowLast = new Option<string?>("--last") { Description = "The window is this last stretch of the log, such as 1h, 30m or 2d (default 1h)." };
            var baselineRelease = new Option<string?>("--baseline") { Description = "Compare with this stored release for every action (default: the release recorded on each action)." };
            var maxActions = new Option<long>("--max-actions")
            {
                Description = $"Refuse a window of more actions than this (1 to {SimulateCommand.MaxActionsLimit}).",
                DefaultValueFactory = _ => SimulateCommand.DefaultMaxActions,
            };
            var warnFactor = new Option<string>("--warn-factor")
            {
                Description = "Warn (exit 1) for an event whose candidate reward rate exceeds the baseline's by more than this factor.",
                DefaultValueFactory = _ => SimulateCommand.DefaultWarnFactor,
            };
            var simulate = new Command("simulate", "Replay a window of the action log against the baseline and a candidate release; report per event, side by side.")
                { candidate, simulateData, windowFrom, windowTo, windowLast, baselineRelease, maxActions, warnFactor, json };
            simulate.SetAction(result => simulateCommand.Run(new SimulateOptions(result.GetValue(candidate)!, result.GetValue(simulateData)!,
                result.GetValue(windowFrom), result.GetValue(windowTo), result.GetValue(windowLast), result.GetValue(baselineRelease),
                result.GetValue(maxActions), result.GetValue(warnFactor)!, result.GetValue(json))));

            var auditCommand = new AuditVerifyCommand(output, errors, handler);
            var auditData = new Option<string?>("--data") { Description = "A data directory (read-only; the server may be running)." };
            var auditServer = new Option<string?>("--server") { Description = "A running server's base URL, to verify over GET /v1/audit instead." };
            var expectHead = new Option<string?>("--expect-head")
            {
                Description = "A head hash recorded earlier (kept off-site): fail unless it is still an entry of the chain (detects truncation and rewrites).",
            };
            var auditKey = ServerCommands.KeyOption("--api-key", "--key");
            var verifyAudit = new Command("verify", "Recompute the audit log's hash chain and report the first bad entry.") { auditData, auditServer, expectHead, auditKey, json };
            verifyAudit.SetAction(result => auditCommand.Run(result.GetValue(auditData), result.GetValue(auditServer), result.GetValue(expectHead), result.GetValue(json),
                result.GetValue(auditKey)));
            var audit = new Command("audit", "The audit log of operator acts.") { verifyAudit };

            var outbox = OutboxCommands.Build(remote, output, errors, server, apiKey, json);
            var keys = KeysCommands.Build(remote, output, errors, server, apiKey, json);
            var approvals = ApprovalCommands.Build(remote, output, server, apiKey, json);
            var rolloutCommands = RolloutCommands.Build(remote, output, errors, server, apiKey, json);
            var demo = DemoCommand.Build(output, errors);
            var root = new RootCommand("Showrunner: live events for online games.") { demo, check, build, diff, inspect, publish, activateCommand, rollback, receipt, ledgerCommand, reconcile, simulate, outbox, keys, audit, approvals, rolloutCommands[0], rolloutCommands[1] };
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
            var configuration = new InvocationConfiguration { Output = output, Error = errors };
            if (parsed.CommandResult.Command == demo)
            {
                // Ctrl+C cancels the demo, which then waits for its server to stop cleanly: give it the time.
                configuration.ProcessTerminationTimeout = DemoCommand.StopTimeout + TimeSpan.FromSeconds(5);
            }
            return parsed.InvokeAsync(configuration).GetAwaiter().GetResult();
        }
    }
}
