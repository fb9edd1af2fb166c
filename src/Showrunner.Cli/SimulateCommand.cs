using System.Globalization;
using System.Text;
using System.Text.Json;
using Showrunner.Core.Actions;
using Showrunner.Core.LiveEvents;
using Showrunner.Core.Reconciliation;
using Showrunner.Core.Rules.Model;
using Showrunner.Core.Rules.Releases;
using Showrunner.Core.Simulation;
using Showrunner.Storage;

namespace Showrunner.Cli;

/// <summary>What <c>simulate</c> was asked (the raw option values; <see cref="SimulateCommand.Run"/> checks them).</summary>
internal sealed record SimulateOptions(string Candidate, string DataDirectory, string? From = null, string? To = null, string? Last = null,
    string? Baseline = null, long MaxActions = SimulateCommand.DefaultMaxActions, string WarnFactor = SimulateCommand.DefaultWarnFactor, bool Json = false);

/// <summary>
/// <c>simulate</c>: replays a window of a data directory's action log against the baseline and a
/// candidate release and reports, per event, side by side, what each would have done
/// (docs/cli.md, "simulate"). Read-only; the server may be running (one snapshot is read).
/// Exit codes: 0 a report without warnings, 1 a report with warning lines, 2 no report (bad
/// input, or a directory or log that cannot be used).
/// </summary>
internal sealed class SimulateCommand(TextWriter output, TextWriter errors)
{
    public const long DefaultMaxActions = 5_000_000;
    public const long MaxActionsLimit = 1_000_000_000;
    public const string DefaultWarnFactor = "2";
    public static readonly TimeSpan DefaultLast = TimeSpan.FromHours(1);

    public const string WindowInvalid = "simulate.window_invalid";
    public const string WindowTooLarge = "simulate.window_too_large";
    public const string LogEmpty = "simulate.log_empty";
    public const string OptionInvalid = "simulate.option_invalid";
    public const string BaselineUnknown = "simulate.baseline_unknown";
    public const string CandidateInvalid = "simulate.candidate_invalid";
    public const string ReleaseUnreadable = "simulate.release_unreadable";
    public const string RecordUnreadable = "simulate.record_unreadable";

    public int Run(SimulateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!TryParseOptions(options, out var from, out var to, out var last, out decimal factor))
        {
            return ExitCodes.Usage;
        }
        var (bundle, _) = ReleaseCommands.OpenBundle(options.Candidate, errors);
        if (bundle is null)
        {
            errors.WriteLine($"error: {CandidateInvalid}: the candidate '{options.Candidate}' cannot be used (see above); nothing was read.");
            return ExitCodes.Usage;
        }
        var candidate = LoadedRelease.From(bundle);
        if (!Directory.Exists(options.DataDirectory))
        {
            errors.WriteLine($"error: data_directory_missing: '{options.DataDirectory}' does not exist.");
            return ExitCodes.Usage;
        }
        IDataDirectoryReader reader;
        try
        {
            reader = DataDirectoryStores.Open(options.DataDirectory);
        }
        catch (StoreConfigurationException exception)
        {
            errors.WriteLine($"error: {exception.Code}: {exception.Message}");
            return ExitCodes.Usage;
        }
        using (reader)
        {
            try
            {
                return Simulate(reader, options, candidate, from, to, last, factor);
            }
            catch (SimulationException exception)
            {
                errors.WriteLine($"error: {exception.Code}: {exception.Message}");
                return ExitCodes.Usage;
            }
            catch (Exception exception) when (exception is StoreDataException or InvalidCastException)
            {
                errors.WriteLine($"error: store_damaged: reading {reader.Location} failed: {exception.Message}");
                return ExitCodes.Usage;
            }
        }
    }

    private int Simulate(IDataDirectoryReader reader, SimulateOptions options, LoadedRelease candidate, long? from, long? to, TimeSpan? last, decimal factor)
    {
        var releases = new Dictionary<long, LiveRules>();
        LiveRules ReleaseOf(long releaseRef)
        {
            if (releases.TryGetValue(releaseRef, out var cached))
            {
                return cached;
            }
            var (stored, bundle) = reader.Release(releaseRef)
                ?? throw new SimulationException(SimulationException.ReleaseUnknown, $"release ref {releaseRef} is recorded but not stored");
            var rules = Load(stored, bundle);
            releases[releaseRef] = rules;
            return rules;
        }

        LiveRules? baseline = null;
        if (options.Baseline is { } baselineId)
        {
            if (reader.FindRelease(baselineId) is not { } found)
            {
                errors.WriteLine($"error: {BaselineUnknown}: release {baselineId} is not stored in '{options.DataDirectory}' (GET /v1/releases lists the published ones).");
                return ExitCodes.Usage;
            }
            baseline = Load(found.Release, found.Bundle);
            releases[found.Release.Ref] = baseline;
        }

        var (logCount, lastIngested) = reader.ActionLogExtent();
        long end;
        if (to is { } given)
        {
            end = given;
        }
        else if (lastIngested is { } latest)
        {
            // The end of the log: just past its latest ingest time, so the last action is in the window.
            end = latest + 1;
        }
        else
        {
            errors.WriteLine($"error: {LogEmpty}: the action log of '{options.DataDirectory}' is empty; there is no window to default to (give --from and --to).");
            return ExitCodes.Usage;
        }
        long start = from ?? Math.Max(0, end - (last ?? DefaultLast).Ticks);
        if (start >= end)
        {
            errors.WriteLine($"error: {WindowInvalid}: the window's start {Time(start)} is not before its end {Time(end)}.");
            return ExitCodes.Usage;
        }
        var window = new SimulationWindow(start, end);
        long inWindow = reader.CountActionsIngested(start, end);
        if (inWindow > options.MaxActions)
        {
            errors.WriteLine($"error: {WindowTooLarge}: the window {Time(start)} to {Time(end)} holds {inWindow} actions; at most {options.MaxActions} are simulated " +
                "(--max-actions). Choose a shorter window, or raise the limit if the machine has the memory and time.");
            return ExitCodes.Usage;
        }

        List<RunTransition> transitions;
        try
        {
            transitions = [.. reader.Transitions().Select(ReconcileCommand.FromStored)];
        }
        catch (ReplayException exception)
        {
            errors.WriteLine($"error: {RecordUnreadable}: {exception.Message}");
            return ExitCodes.Usage;
        }
        // As reconcile reads them: event kill switches block counting like a pause, on both sides.
        var eventFlags = reader.Flags().Where(f => f.Kind == "event").Select(f => new EventFlag(f.Target, f.Enabled, f.AtTicks)).ToList();
        var goals = reader.Goals().Select(g => new RecordedGoal(g.EventId, g.Run, g.AtTicks, g.ReleaseRef)).ToList();
        var simulation = new LogSimulation(reader.PartitionCount, window, transitions, eventFlags, goals, ReleaseOf, baseline, candidate.Live);
        foreach (var (_, action) in reader.Actions())
        {
            simulation.Apply(new LoggedAction(action.Partition, action.Seq, action.Id, action.Player, action.Type, action.IngestedAtTicks, action.Data, action.ReleaseRef));
        }
        var result = simulation.Finish();
        if (result.ActionsBefore + result.ActionsInWindow + result.ActionsAfter != logCount || result.ActionsInWindow != inWindow)
        {
            // The counts and the walk read one snapshot: they must agree.
            throw new InvalidOperationException($"The log walk saw {result.ActionsInWindow} window actions of {logCount}; the counts said {inWindow}.");
        }
        var warnings = SimulationWarnings.Of(result, factor);
        if (options.Json)
        {
            PrintJson(result, candidate, baseline is not null, factor, warnings);
        }
        else
        {
            PrintText(result, candidate, baseline is not null, factor, warnings);
        }
        return warnings.Count == 0 ? ExitCodes.Ok : ExitCodes.Problems;
    }

    private static LiveRules Load(StoredRelease stored, byte[] bundle)
    {
        var (loaded, diagnostics) = LoadedRelease.Load(Encoding.UTF8.GetString(bundle));
        if (loaded is null || loaded.Id != stored.Id)
        {
            throw new SimulationException(ReleaseUnreadable, loaded is null
                ? $"release {stored.Id} (ref {stored.Ref}) does not load: {string.Join("; ", diagnostics.Take(3).Select(d => d.Format()))}"
                : $"release ref {stored.Ref} is stored as {stored.Id}, but its bundle is release {loaded.Id}");
        }
        return loaded.Live;
    }

    /// <summary>Checks every option before anything is read; prints the first problem.</summary>
    private bool TryParseOptions(SimulateOptions options, out long? from, out long? to, out TimeSpan? last, out decimal factor)
    {
        from = null;
        to = null;
        last = null;
        factor = 0;
        if (options.From is { } fromText)
        {
            if (!Rfc3339.TryParseUtc(fromText, out long ticks, out string? error))
            {
                return Fail(WindowInvalid, $"--from '{fromText}' is not an RFC 3339 UTC time such as 2026-11-22T12:00:00Z: it {error}.");
            }
            from = ticks;
        }
        if (options.To is { } toText)
        {
            if (!Rfc3339.TryParseUtc(toText, out long ticks, out string? error))
            {
                return Fail(WindowInvalid, $"--to '{toText}' is not an RFC 3339 UTC time such as 2026-11-22T13:00:00Z: it {error}.");
            }
            to = ticks;
        }
        if (options.Last is { } lastText)
        {
            if (options.To is not null || options.From is not null)
            {
                return Fail(WindowInvalid, "--last ends the window at the end of the log; give --last alone, or --from and/or --to.");
            }
            if (!ReleaseChecker.TryParseDuration(lastText, out var duration) || duration <= TimeSpan.Zero)
            {
                return Fail(WindowInvalid, $"--last '{lastText}' is not a duration such as 1h, 30m or 2d12h (whole d, h, m, s; more than 0, at most 10 years).");
            }
            last = duration;
        }
        if (from is { } f && to is { } t && f >= t)
        {
            return Fail(WindowInvalid, $"--from {options.From} is not before --to {options.To}.");
        }
        if (options.Baseline is { } baseline && (baseline.Length != 64 || !baseline.All(char.IsAsciiHexDigitLower)))
        {
            return Fail(OptionInvalid, $"--baseline '{baseline}' is not a release id (64 lowercase hex characters).");
        }
        if (options.MaxActions is < 1 or > MaxActionsLimit)
        {
            return Fail(OptionInvalid, $"--max-actions {options.MaxActions} is out of range: 1 to {MaxActionsLimit}.");
        }
        if (!decimal.TryParse(options.WarnFactor, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out factor)
            || factor < SimulationWarnings.FactorMin || factor > SimulationWarnings.FactorMax)
        {
            return Fail(OptionInvalid, $"--warn-factor '{options.WarnFactor}' is not a decimal number from {SimulationWarnings.FactorMin} to {SimulationWarnings.FactorMax} (such as 2 or 1.5).");
        }
        return true;
    }

    private bool Fail(string code, string message)
    {
        errors.WriteLine($"error: {code}: {message}");
        return false;
    }

    private static string Time(long ticks) => new DateTimeOffset(ticks, TimeSpan.Zero).ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    // ---- Output -------------------------------------------------------------------------------

    private const int LabelWidth = 28;
    private const int NumberWidth = 14;

    private void PrintText(SimulationResult result, LoadedRelease candidate, bool fixedBaseline, decimal factor, IReadOnlyList<SimulationWarning> warnings)
    {
        output.WriteLine($"candidate  {candidate.Id} (release \"{candidate.Name}\")");
        output.WriteLine(fixedBaseline
            ? $"baseline   {result.Baseline.ReleaseIds[0]} (--baseline, for every action of the window)"
            : $"baseline   the release recorded on each action: {(result.Baseline.ReleaseIds.Count == 0 ? "none" : string.Join(", ", result.Baseline.ReleaseIds))}");
        output.WriteLine($"window     {Time(result.Window.FromTicks)} to {Time(result.Window.ToTicks)} (ingest time, end excluded): {result.ActionsInWindow} actions; " +
            $"{result.ActionsBefore} before it replayed for the state, {result.ActionsAfter} after it not applied");
        output.WriteLine();
        output.WriteLine($"{"",-LabelWidth}{"baseline",NumberWidth}{"candidate",NumberWidth}{"delta",NumberWidth}");
        foreach (string eventId in EventIds(result))
        {
            var before = result.Baseline.Events.GetValueOrDefault(eventId);
            var after = result.Candidate.Events.GetValueOrDefault(eventId);
            output.WriteLine(before is null ? $"{eventId} (not in the baseline)" : after is null ? $"{eventId} (not in the candidate)" : eventId);
            foreach (var (label, baselineValue, candidateValue) in Rows(before, after))
            {
                output.WriteLine($"  {label,-(LabelWidth - 2)}{Cell(before is null ? null : baselineValue),NumberWidth}{Cell(after is null ? null : candidateValue),NumberWidth}" +
                    $"{Delta(candidateValue - baselineValue),NumberWidth}");
            }
            var beforeNotes = before?.Notes ?? [];
            var afterNotes = after?.Notes ?? [];
            foreach (string note in beforeNotes.Union(afterNotes))
            {
                bool both = beforeNotes.Contains(note) && afterNotes.Contains(note);
                output.WriteLine($"  note{(both ? "" : beforeNotes.Contains(note) ? " (baseline)" : " (candidate)")}: {note}");
            }
        }
        output.WriteLine("total");
        foreach (var (label, baselineValue, candidateValue) in TotalRows(result))
        {
            output.WriteLine($"  {label,-(LabelWidth - 2)}{Cell(baselineValue),NumberWidth}{Cell(candidateValue),NumberWidth}{Delta(candidateValue - baselineValue),NumberWidth}");
        }
        foreach (var warning in warnings)
        {
            output.WriteLine($"warning: {warning.Code}: {warning.Message}");
        }
        output.WriteLine(warnings.Count == 0
            ? $"ok: no event's reward rate exceeds the baseline's by more than {factor.ToString(CultureInfo.InvariantCulture)}×, and none mints what the baseline does not"
            : $"{warnings.Count} warning{(warnings.Count == 1 ? "" : "s")} (--warn-factor {factor.ToString(CultureInfo.InvariantCulture)})");
    }

    private static string Cell(long? value) => value is { } v ? v.ToString(CultureInfo.InvariantCulture) : "-";

    private static string Delta(long value) => value > 0 ? "+" + value.ToString(CultureInfo.InvariantCulture) : value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Events of either side, in ordinal id order.</summary>
    private static List<string> EventIds(SimulationResult result) =>
        [.. result.Baseline.Events.Keys.Union(result.Candidate.Events.Keys).Order(StringComparer.Ordinal)];

    /// <summary>The rows of one event: (label, baseline, candidate), zero for a side without the event.</summary>
    private static IEnumerable<(string Label, long Baseline, long Candidate)> Rows(EventTally? before, EventTally? after)
    {
        yield return ("participants", before?.Participants.Count ?? 0, after?.Participants.Count ?? 0);
        yield return ("actions matched", before?.ActionsMatched ?? 0, after?.ActionsMatched ?? 0);
        yield return ("points", before?.Points ?? 0, after?.Points ?? 0);
        yield return ("grants", before?.Grants ?? 0, after?.Grants ?? 0);
        foreach (string name in Names(before?.Minted, after?.Minted))
        {
            yield return ($"minted {name}", before?.Minted.GetValueOrDefault(name) ?? 0, after?.Minted.GetValueOrDefault(name) ?? 0);
        }
        foreach (string tier in Names(before?.Tiers, after?.Tiers))
        {
            yield return ($"tier {tier}", before?.Tiers.GetValueOrDefault(tier) ?? 0, after?.Tiers.GetValueOrDefault(tier) ?? 0);
        }
        if (before?.HasCommunityGoal == true || after?.HasCommunityGoal == true)
        {
            yield return ("community-goal rewards", before?.GoalGrants ?? 0, after?.GoalGrants ?? 0);
        }
        if (before?.HasPrizes == true || after?.HasPrizes == true)
        {
            yield return ("prizes", before?.PrizeGrants ?? 0, after?.PrizeGrants ?? 0);
        }
    }

    private static IEnumerable<(string Label, long Baseline, long Candidate)> TotalRows(SimulationResult result)
    {
        var (before, after) = (result.Baseline, result.Candidate);
        yield return ("participants", before.Participants, after.Participants);
        yield return ("actions matched", before.ActionsMatched, after.ActionsMatched);
        yield return ("actions refused", before.ActionsRefused, after.ActionsRefused);
        yield return ("grants", before.Grants, after.Grants);
        var (beforeMinted, afterMinted) = (before.Minted(), after.Minted());
        foreach (string name in Names(beforeMinted, afterMinted))
        {
            yield return ($"minted {name}", beforeMinted.GetValueOrDefault(name), afterMinted.GetValueOrDefault(name));
        }
    }

    private static List<string> Names(IEnumerable<KeyValuePair<string, long>>? before, IEnumerable<KeyValuePair<string, long>>? after) =>
        [.. (before ?? []).Select(p => p.Key).Union((after ?? []).Select(p => p.Key)).Order(StringComparer.Ordinal)];

    private void PrintJson(SimulationResult result, LoadedRelease candidate, bool fixedBaseline, decimal factor, IReadOnlyList<SimulationWarning> warnings)
    {
        long actions = result.ActionsInWindow;
        CliJson.WriteObject(output, writer =>
        {
            writer.WriteBoolean("ok", warnings.Count == 0);
            writer.WriteStartObject("candidate");
            writer.WriteString("release", candidate.Id);
            writer.WriteString("name", candidate.Name);
            writer.WriteEndObject();
            writer.WriteStartObject("baseline");
            writer.WriteString("mode", fixedBaseline ? "release" : "recorded");
            WriteStrings(writer, "releases", result.Baseline.ReleaseIds);
            writer.WriteEndObject();
            writer.WriteStartObject("window");
            writer.WriteString("from", Time(result.Window.FromTicks));
            writer.WriteString("to", Time(result.Window.ToTicks));
            writer.WriteNumber("actions", actions);
            writer.WriteNumber("actions_before", result.ActionsBefore);
            writer.WriteNumber("actions_after", result.ActionsAfter);
            writer.WriteEndObject();
            writer.WriteNumber("warn_factor", factor);
            writer.WriteStartArray("events");
            foreach (string eventId in EventIds(result))
            {
                var before = result.Baseline.Events.GetValueOrDefault(eventId);
                var after = result.Candidate.Events.GetValueOrDefault(eventId);
                writer.WriteStartObject();
                writer.WriteString("event", eventId);
                WriteSide(writer, "baseline", before, actions);
                WriteSide(writer, "candidate", after, actions);
                writer.WriteStartObject("delta");
                writer.WriteNumber("participants", (after?.Participants.Count ?? 0) - (before?.Participants.Count ?? 0));
                writer.WriteNumber("actions_matched", (after?.ActionsMatched ?? 0) - (before?.ActionsMatched ?? 0));
                writer.WriteNumber("points", (after?.Points ?? 0) - (before?.Points ?? 0));
                writer.WriteNumber("grants", (after?.Grants ?? 0) - (before?.Grants ?? 0));
                writer.WriteNumber("community_goal_rewards", (after?.GoalGrants ?? 0) - (before?.GoalGrants ?? 0));
                writer.WriteNumber("prizes", (after?.PrizeGrants ?? 0) - (before?.PrizeGrants ?? 0));
                WriteDeltas(writer, "minted", before?.Minted, after?.Minted);
                WriteDeltas(writer, "tiers", before?.Tiers, after?.Tiers);
                writer.WriteEndObject();
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            writer.WriteStartObject("totals");
            var (beforeMinted, afterMinted) = (result.Baseline.Minted(), result.Candidate.Minted());
            WriteTotals(writer, "baseline", result.Baseline, beforeMinted);
            WriteTotals(writer, "candidate", result.Candidate, afterMinted);
            writer.WriteStartObject("delta");
            writer.WriteNumber("participants", result.Candidate.Participants - result.Baseline.Participants);
            writer.WriteNumber("actions_matched", result.Candidate.ActionsMatched - result.Baseline.ActionsMatched);
            writer.WriteNumber("actions_refused", result.Candidate.ActionsRefused - result.Baseline.ActionsRefused);
            writer.WriteNumber("grants", result.Candidate.Grants - result.Baseline.Grants);
            WriteDeltas(writer, "minted", beforeMinted, afterMinted);
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteStartArray("warnings");
            foreach (var warning in warnings)
            {
                writer.WriteStartObject();
                writer.WriteString("code", warning.Code);
                writer.WriteString("event", warning.EventId);
                writer.WriteString("name", warning.Name);
                writer.WriteNumber("baseline", warning.Baseline);
                writer.WriteNumber("candidate", warning.Candidate);
                WriteRate(writer, "baseline_per_1000_actions", warning.BaselinePerThousand);
                WriteRate(writer, "candidate_per_1000_actions", warning.CandidatePerThousand);
                writer.WriteString("message", warning.Message);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
        });
    }

    private static void WriteSide(Utf8JsonWriter writer, string name, EventTally? tally, long actions)
    {
        if (tally is null)
        {
            writer.WriteNull(name);
            return;
        }
        writer.WriteStartObject(name);
        writer.WriteString("release", tally.ReleaseId);
        writer.WriteNumber("participants", tally.Participants.Count);
        writer.WriteNumber("actions_matched", tally.ActionsMatched);
        writer.WriteNumber("points", tally.Points);
        writer.WriteNumber("grants", tally.Grants);
        writer.WriteNumber("community_goal_rewards", tally.GoalGrants);
        writer.WriteNumber("prizes", tally.PrizeGrants);
        WriteCounts(writer, "minted", tally.Minted);
        writer.WriteStartObject("per_1000_actions");
        foreach (var (currency, amount) in tally.Minted)
        {
            WriteRate(writer, currency, SimulationWarnings.PerThousand(amount, actions));
        }
        writer.WriteEndObject();
        WriteCounts(writer, "tiers", tally.Tiers);
        WriteStrings(writer, "notes", tally.Notes);
        writer.WriteEndObject();
    }

    private static void WriteTotals(Utf8JsonWriter writer, string name, SideResult side, SortedDictionary<string, long> minted)
    {
        writer.WriteStartObject(name);
        writer.WriteNumber("participants", side.Participants);
        writer.WriteNumber("actions_matched", side.ActionsMatched);
        writer.WriteNumber("actions_refused", side.ActionsRefused);
        writer.WriteNumber("grants", side.Grants);
        WriteCounts(writer, "minted", minted);
        writer.WriteEndObject();
    }

    private static void WriteCounts(Utf8JsonWriter writer, string name, SortedDictionary<string, long> counts)
    {
        writer.WriteStartObject(name);
        foreach (var (key, value) in counts)
        {
            writer.WriteNumber(key, value);
        }
        writer.WriteEndObject();
    }

    private static void WriteDeltas(Utf8JsonWriter writer, string name, SortedDictionary<string, long>? before, SortedDictionary<string, long>? after)
    {
        writer.WriteStartObject(name);
        foreach (string key in Names(before, after))
        {
            writer.WriteNumber(key, (after?.GetValueOrDefault(key) ?? 0) - (before?.GetValueOrDefault(key) ?? 0));
        }
        writer.WriteEndObject();
    }

    private static void WriteRate(Utf8JsonWriter writer, string name, decimal? rate)
    {
        if (rate is { } value)
        {
            writer.WriteNumber(name, value);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    private static void WriteStrings(Utf8JsonWriter writer, string name, IEnumerable<string> values)
    {
        writer.WriteStartArray(name);
        foreach (string value in values)
        {
            writer.WriteStringValue(value);
        }
        writer.WriteEndArray();
    }
}
