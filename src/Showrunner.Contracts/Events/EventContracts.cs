using System.Text.Json.Serialization;

namespace Showrunner.Contracts.Events;

/// <summary>The answer of <c>GET /v1/events</c>: the active release's events (none, and <c>release</c> null, without one).</summary>
public sealed record EventListResponse(string? Release, string Now, IReadOnlyList<EventResponse> Events);

/// <summary>
/// An event and its most recent runs (<c>GET /v1/events</c>, <c>GET /v1/events/{id}</c>); durations as
/// <c>d.hh:mm:ss</c> (<c>every</c> null for a one-off event).
/// </summary>
public sealed record EventResponse(
    string Id,
    string Title,
    string Start,
    string Duration,
    string? Every,
    string Grace,
    int RunsTotal,
    IReadOnlyList<RunResponse> Runs);

/// <summary>One run; <c>transitions</c> only where one event is shown (left out of the list).</summary>
public sealed record RunResponse(
    long Run,
    string Start,
    string End,
    string GraceEnd,
    string Phase,
    string? PhaseSince,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<TransitionResponse>? Transitions);

/// <summary>A recorded phase change of a run.</summary>
public sealed record TransitionResponse(string From, string To, string At, string Cause);

/// <summary>The answer of <c>POST /v1/events/{id}/runs/{run}/pause|resume|cancel</c>: the event and the run after the operation.</summary>
public sealed record RunOperationResponse(
    string Event,
    long Run,
    string Start,
    string End,
    string GraceEnd,
    string Phase,
    string? PhaseSince,
    IReadOnlyList<TransitionResponse> Transitions);
