using System.Globalization;
using System.Text.Json.Serialization.Metadata;
using Showrunner.Contracts.Events;
using Showrunner.Contracts.Wire;
using Showrunner.Core.Actions;
using Showrunner.Core.LiveEvents;
using Showrunner.Core.Rules.Model;
using Showrunner.Runtime.Ingest;
using Showrunner.Runtime.LiveEvents;
using Showrunner.Server.Security;

namespace Showrunner.Server.Api;

/// <summary>
/// <c>GET /v1/events</c>, <c>GET /v1/events/{id}</c> and the operator actions on a run
/// (<c>POST /v1/events/{id}/runs/{run}/pause|resume|cancel</c>). The contract is in docs/api.md.
/// </summary>
internal sealed class EventsEndpoints(LifecycleCoordinator coordinator, IngestPipeline pipeline, TimeProvider time, Runtime.Audit.AuditTrail audit)
{
    private static readonly JsonTypeInfo<EventListResponse> ListWire = WireJson.Of(EventsJson.Default.EventListResponse);
    private static readonly JsonTypeInfo<EventResponse> EventWire = WireJson.Of(EventsJson.Default.EventResponse);
    private static readonly JsonTypeInfo<RunOperationResponse> OperationWire = WireJson.Of(EventsJson.Default.RunOperationResponse);

    /// <summary>Most runs listed per event (the most recent ones, plus the next scheduled one).</summary>
    public const int MaxRunsListed = 100;
    public const int DefaultRunsInList = 3;

    public static void Map(WebApplication app)
    {
        var endpoints = app.Services.GetRequiredService<EventsEndpoints>();
        app.MapGet("/v1/events", endpoints.ListAsync).Allow(Access.Viewer);
        app.MapGet("/v1/events/{id}", endpoints.GetAsync).Allow(Access.Viewer);
        app.MapPost("/v1/events/{id}/runs/{run}/{operation}", endpoints.OperateAsync).Allow(Access.Operator);
    }

    public async Task ListAsync(HttpContext context)
    {
        int runs = DefaultRunsInList;
        if (context.Request.Query["runs"] is { Count: > 0 } text &&
            (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out runs) || runs is < 1 or > MaxRunsListed))
        {
            await Problems.WriteAsync(context, StatusCodes.Status400BadRequest, ProblemCodes.InvalidParameter, "Invalid parameter",
                $"runs must be a whole number from 1 to {MaxRunsListed}.", extensions: w => w.WriteString("parameter", "runs")).ConfigureAwait(false);
            return;
        }
        var release = pipeline.ActiveRelease;
        var now = time.GetUtcNow();
        await ContractResults.WriteAsync(context, StatusCodes.Status200OK, new EventListResponse(release?.Id, Rfc3339.Format(now.UtcTicks),
            [.. (release?.Loaded.Bundle.Release.Events ?? []).Select(definition => Event(definition, now, runs, transitions: false))]), ListWire).ConfigureAwait(false);
    }

    public async Task GetAsync(HttpContext context, string id)
    {
        var definition = Find(id);
        if (definition is null)
        {
            await NotFound(context, id).ConfigureAwait(false);
            return;
        }
        var now = time.GetUtcNow();
        await ContractResults.WriteAsync(context, StatusCodes.Status200OK, Event(definition, now, MaxRunsListed, transitions: true), EventWire).ConfigureAwait(false);
    }

    public async Task OperateAsync(HttpContext context, string id, string run, string operation)
    {
        RunOperation? kind = operation switch
        {
            "pause" => RunOperation.Pause,
            "resume" => RunOperation.Resume,
            "cancel" => RunOperation.Cancel,
            _ => null,
        };
        if (kind is null || !long.TryParse(run, NumberStyles.None, CultureInfo.InvariantCulture, out long index))
        {
            await Problems.WriteAsync(context, StatusCodes.Status404NotFound, ProblemCodes.NotFound, "Not found",
                $"POST {context.Request.Path} is not available: use /v1/events/{{id}}/runs/{{run}}/pause, resume or cancel with a run number.").ConfigureAwait(false);
            return;
        }
        var result = await coordinator.OperateAsync(id, index, kind.Value).ConfigureAwait(false);
        if (!result.EventFound)
        {
            await NotFound(context, id).ConfigureAwait(false);
            return;
        }
        if (result.Error is { } error)
        {
            int status = error == LifecycleErrors.UnknownRun ? StatusCodes.Status404NotFound : StatusCodes.Status409Conflict;
            await Problems.WriteAsync(context, status, error, "Run operation refused", Explain(error, operation, index)).ConfigureAwait(false);
            return;
        }
        // Before and after are the run's phases; the target is the event, the run is in the details.
        await audit.RecordAsync(new Runtime.Audit.AuditRecord(Security.Acting.Of(context).Actor, "run." + operation, id,
            result.Recorded.Count > 0 ? result.Recorded[0].From : null, result.Recorded.Count > 0 ? result.Recorded[^1].To : null, null,
            Runtime.Audit.AuditDetails.Of(w => w.WriteNumber("run", index)))).ConfigureAwait(false);
        var definition = Find(id)!;
        var after = Run(definition, EventRuns.Run(definition.Schedule, index)!.Value, coordinator.RecordedFor(id), transitions: true);
        await ContractResults.WriteAsync(context, StatusCodes.Status200OK, new RunOperationResponse(id, after.Run, after.Start, after.End, after.GraceEnd, after.Phase,
            after.PhaseSince, after.Transitions!), OperationWire).ConfigureAwait(false);
    }

    private static string Explain(string error, string operation, long run) => error switch
    {
        LifecycleErrors.UnknownRun => $"Run {run} does not exist or has not been scheduled yet (only started runs and the next one can be operated on).",
        LifecycleErrors.NotPausable => $"Run {run} cannot be paused now: only scheduled, active or grace runs can.",
        LifecycleErrors.NotPaused => $"Run {run} is not paused, so it cannot be resumed.",
        LifecycleErrors.NotCancellable => $"Run {run} cannot be cancelled now: a finalizing, finalized or cancelled run cannot.",
        _ => $"The run refused '{operation}' ({error}).",
    };

    private EventDefinition? Find(string id) => pipeline.ActiveRelease?.Loaded.Bundle.Release.Events.FirstOrDefault(e => e.Id == id);

    private static Task NotFound(HttpContext context, string id) =>
        Problems.WriteAsync(context, StatusCodes.Status404NotFound, ProblemCodes.EventNotFound, "Event not found",
            $"The active release has no event '{id}'.");

    private EventResponse Event(EventDefinition definition, DateTimeOffset now, int runs, bool transitions)
    {
        var schedule = definition.Schedule;
        var recorded = coordinator.RecordedFor(definition.Id);
        var visible = EventRuns.Visible(schedule, now).ToList();
        var listed = new List<RunResponse>();
        // The most recent runs first.
        for (int i = visible.Count - 1; i >= Math.Max(0, visible.Count - runs); i--)
        {
            listed.Add(Run(definition, visible[i], recorded, transitions));
        }
        return new EventResponse(definition.Id, definition.Title, Rfc3339.Format(schedule.Start.UtcTicks), schedule.Duration.ToString("c", CultureInfo.InvariantCulture),
            schedule.Every?.ToString("c", CultureInfo.InvariantCulture), schedule.Grace.ToString("c", CultureInfo.InvariantCulture), visible.Count, listed);
    }

    private static RunResponse Run(EventDefinition definition, EventRun run, IReadOnlyList<RunTransition> recorded, bool transitions)
    {
        var mine = recorded.Where(t => t.Run == run.Index).OrderBy(t => t.Sequence).ToList();
        return new RunResponse(run.Index, Rfc3339.Format(run.Start.UtcTicks), Rfc3339.Format(run.End.UtcTicks), Rfc3339.Format(run.GraceEnd.UtcTicks),
            LifecycleCoordinator.Name(Transitions.RecordedPhase(definition, run.Index, mine)), mine.Count == 0 ? null : Rfc3339.Format(mine[^1].At.UtcTicks),
            transitions
                ? [.. mine.Select(t => new TransitionResponse(LifecycleCoordinator.Name(t.From), LifecycleCoordinator.Name(t.To), Rfc3339.Format(t.At.UtcTicks),
                    t.Cause.ToString().ToLowerInvariant()))]
                : null);
    }
}
