using System.Text;
using Showrunner.Core.Ledger;
using Showrunner.Core.LiveEvents;
using Showrunner.Core.Reconciliation;
using Showrunner.Core.Rules.Releases;
using Showrunner.Storage;

namespace Showrunner.Cli;

/// <summary>
/// <c>reconcile</c>: replays a data directory's whole action log with the engine's own code and
/// compares the grants that gives with the ledger (docs/ledger.md, "Reconciliation"). Read-only;
/// the server may be running (one snapshot is read).
/// </summary>
internal sealed class ReconcileCommand(TextWriter output, TextWriter errors)
{
    public const int DefaultLimit = 100;
    public const int LimitMax = 100_000;
    public const string EntryUnreadable = "reconcile.entry_unreadable";
    public const string RecordUnreadable = "reconcile.record_unreadable";
    public const string ReleaseUnreadable = "reconcile.release_unreadable";

    public int Run(string dataDirectory, int limit, bool json)
    {
        if (limit is < 0 or > LimitMax)
        {
            errors.WriteLine($"error: --limit {limit} is out of range: list 0 to {LimitMax} differences (all are counted either way).");
            return ExitCodes.Usage;
        }
        if (!Directory.Exists(dataDirectory))
        {
            errors.WriteLine($"error: data_directory_missing: '{dataDirectory}' does not exist.");
            return ExitCodes.Usage;
        }
        IDataDirectoryReader reader;
        try
        {
            reader = DataDirectoryStores.Open(dataDirectory);
        }
        catch (StoreConfigurationException exception)
        {
            errors.WriteLine($"error: {exception.Code}: {exception.Message}");
            return ExitCodes.Problems;
        }
        using (reader)
        {
            try
            {
                var (replay, report, unreadable) = Reconcile(reader, limit);
                Print(reader.PartitionCount, replay.ActionsReplayed, report, unreadable, limit, json);
                return report.Differences == 0 && unreadable.Count == 0 ? ExitCodes.Ok : ExitCodes.Problems;
            }
            catch (ReplayException exception)
            {
                errors.WriteLine($"error: {exception.Code}: {exception.Message}");
                return ExitCodes.Problems;
            }
            catch (Exception exception) when (exception is StoreDataException or InvalidCastException)
            {
                errors.WriteLine($"error: store_damaged: reading {reader.Location} failed: {exception.Message}");
                return ExitCodes.Problems;
            }
        }
    }

    /// <summary>Replays the log, adds the recorded goals and finalizations, then compares every recorded entry.</summary>
    internal static (GrantReplay Replay, ReconciliationReport Report, List<(int Partition, long Index, string Error)> Unreadable) Reconcile(
        IDataDirectoryReader reader, int limit)
    {
        var storedTransitions = reader.Transitions();
        var transitions = storedTransitions.Select(FromStored).ToList();
        var releases = new Dictionary<long, LiveRules>();
        LiveRules ReleaseOf(long releaseRef)
        {
            if (releases.TryGetValue(releaseRef, out var cached))
            {
                return cached;
            }
            var (stored, bundle) = reader.Release(releaseRef)
                ?? throw new ReplayException(ReplayException.ReleaseUnknown, $"release ref {releaseRef} is recorded but not stored");
            var (loaded, diagnostics) = LoadedRelease.Load(Encoding.UTF8.GetString(bundle));
            if (loaded is null || loaded.Id != stored.Id)
            {
                throw new ReplayException(ReleaseUnreadable, loaded is null
                    ? $"release {stored.Id} (ref {releaseRef}) does not load: {string.Join("; ", diagnostics.Take(3).Select(d => d.Format()))}"
                    : $"release ref {releaseRef} is stored as {stored.Id}, but its bundle is release {loaded.Id}");
            }
            releases[releaseRef] = loaded.Live;
            return loaded.Live;
        }

        var eventFlags = reader.Flags().Where(f => f.Kind == "event").Select(f => new EventFlag(f.Target, f.Enabled, f.AtTicks)).ToList();
        var replay = new GrantReplay(reader.PartitionCount, RunControls.From(transitions, eventFlags), ReleaseOf);
        foreach (var (_, action) in reader.Actions())
        {
            replay.Apply(new LoggedAction(action.Partition, action.Seq, action.Id, action.Player, action.Type, action.IngestedAtTicks, action.Data, action.ReleaseRef));
        }
        foreach (var goal in reader.Goals())
        {
            replay.GoalReached(goal.EventId, goal.Run, goal.ReleaseRef, goal.AtTicks);
        }
        for (int i = 0; i < storedTransitions.Count; i++)
        {
            // The release the finalization was recorded under is the one whose prizes were paid.
            if (transitions[i].To == RunPhase.Finalized)
            {
                var row = storedTransitions[i];
                replay.Finalized(row.EventId, row.Run, row.ReleaseRef, row.AtTicks);
            }
        }

        var comparison = new GrantComparison(replay.Expected, limit);
        var unreadable = new List<(int, long, string)>();
        for (int partition = 0; partition < reader.PartitionCount; partition++)
        {
            foreach (var row in reader.Entries(partition))
            {
                var (entry, error) = GrantEntry.Decode(row.Entry, row.PrevHash);
                if (entry is null)
                {
                    // Not comparable; 'ledger verify' says more. Counted, and it fails the run.
                    unreadable.Add((partition, row.Index, error!));
                    continue;
                }
                comparison.Add(entry);
            }
        }
        return (replay, comparison.Finish(), unreadable);
    }

    /// <summary>A stored transition in the engine's terms (the conversion <c>LifecycleCoordinator.FromStored</c> makes, without the runtime).</summary>
    internal static RunTransition FromStored(StoredTransition row)
    {
        if (!Enum.TryParse<RunPhase>(row.From, ignoreCase: true, out var from) || !Enum.TryParse<RunPhase>(row.To, ignoreCase: true, out var to)
            || !Enum.TryParse<TransitionCause>(row.Cause, ignoreCase: true, out var cause)
            || !Enum.IsDefined(from) || !Enum.IsDefined(to) || !Enum.IsDefined(cause))
        {
            throw new ReplayException(RecordUnreadable,
                $"run transition {row.Sequence} of {row.EventId} run {row.Run} has phases or cause this build does not know ({row.From} -> {row.To}, {row.Cause})");
        }
        return new RunTransition(row.EventId, row.Run, row.Sequence, from, to, new DateTimeOffset(row.AtTicks, TimeSpan.Zero), cause);
    }

    private void Print(int partitions, long actions, ReconciliationReport report, List<(int Partition, long Index, string Error)> unreadable, int limit, bool json)
    {
        if (json)
        {
            CliJson.WriteObject(output, writer =>
            {
                writer.WriteBoolean("ok", report.Differences == 0 && unreadable.Count == 0);
                writer.WriteNumber("partitions", partitions);
                writer.WriteNumber("actions", actions);
                writer.WriteNumber("expected", report.Expected);
                writer.WriteNumber("recorded", report.Recorded);
                writer.WriteNumber("matched", report.Matched);
                writer.WriteNumber("operator_entries", report.OperatorEntries);
                writer.WriteNumber("correction_entries", report.CorrectionEntries);
                writer.WriteStartObject("differences");
                writer.WriteNumber("total", report.Differences);
                writer.WriteNumber("missing", report.Missing);
                writer.WriteNumber("extra", report.Extra);
                writer.WriteNumber("different", report.Different);
                writer.WriteEndObject();
                writer.WriteNumber("limit", limit);
                writer.WriteStartArray("listed");
                foreach (var difference in report.Listed)
                {
                    var (partition, index, cause, rewards) = Describe(difference);
                    writer.WriteStartObject();
                    writer.WriteString("kind", Name(difference.Kind));
                    writer.WriteString("grant_id", difference.GrantId);
                    writer.WriteNumber("partition", partition);
                    LedgerVerifyCommand.WriteNumberOrNull(writer, "index", index);
                    writer.WriteString("player", cause.Player);
                    writer.WriteString("event", cause.EventId);
                    writer.WriteNumber("run", cause.Run);
                    writer.WriteString("rule", cause.Rule);
                    writer.WriteString("cause_kind", GrantEntry.KindName(cause.Kind));
                    writer.WriteString("rewards", rewards);
                    writer.WriteStartArray("fields");
                    foreach (var field in difference.Fields)
                    {
                        writer.WriteStartObject();
                        writer.WriteString("field", field.Field);
                        writer.WriteString("expected", field.Expected);
                        writer.WriteString("recorded", field.Recorded);
                        writer.WriteEndObject();
                    }
                    writer.WriteEndArray();
                    writer.WriteEndObject();
                }
                writer.WriteEndArray();
                writer.WriteStartArray("unreadable_entries");
                foreach (var (partition, index, error) in unreadable.Take(limit))
                {
                    writer.WriteStartObject();
                    writer.WriteString("code", EntryUnreadable);
                    writer.WriteNumber("partition", partition);
                    writer.WriteNumber("index", index);
                    writer.WriteString("detail", error);
                    writer.WriteEndObject();
                }
                writer.WriteEndArray();
                writer.WriteNumber("unreadable_count", unreadable.Count);
            });
            return;
        }
        output.WriteLine($"replayed {actions} actions in {partitions} partitions: {report.Expected} grants expected, {report.Recorded} recorded " +
            $"({report.Matched} equal; {report.OperatorEntries} operator grants and {report.CorrectionEntries} corrections not compared)");
        foreach (var difference in report.Listed)
        {
            var (partition, index, cause, rewards) = Describe(difference);
            string where = index is { } i ? $"partition {partition} entry {i}" : $"partition {partition}";
            string line = $"{Name(difference.Kind),-9} {difference.GrantId} {where}: {cause.Player}, {cause.EventId} run {cause.Run}, {cause.Rule} ({rewards})";
            foreach (var field in difference.Fields)
            {
                line += $"; {field.Field} expected \"{field.Expected}\", recorded \"{field.Recorded}\"";
            }
            output.WriteLine(line);
        }
        foreach (var (partition, index, error) in unreadable.Take(limit))
        {
            errors.WriteLine($"error: {EntryUnreadable}: partition {partition}, entry {index}: {error} (run 'showrunner ledger verify')");
        }
        long listed = report.Listed.Count;
        string counts = report.Differences == 0
            ? "0 differences"
            : $"{report.Differences} differences: {report.Missing} missing, {report.Extra} extra, {report.Different} different" +
              (listed < report.Differences ? $" ({listed} listed; --limit {limit})" : "");
        output.WriteLine(unreadable.Count == 0 ? counts : $"{counts}; {unreadable.Count} entries unreadable");
    }

    private static (int Partition, long? Index, GrantCause Cause, string Rewards) Describe(GrantDifference difference) =>
        difference.Recorded is { } recorded
            ? (recorded.Partition, recorded.Index, recorded.Cause, GrantComparison.Rewards(recorded.Rewards))
            : (difference.Expected!.Partition, null, difference.Expected.Grant.Cause, GrantComparison.Rewards(difference.Expected.Grant.Rewards));

    private static string Name(DifferenceKind kind) => kind switch
    {
        DifferenceKind.Missing => "missing",
        DifferenceKind.Extra => "extra",
        _ => "different",
    };
}
