using System.Diagnostics;

namespace Showrunner.Runtime.Observability;

/// <summary>
/// Showrunner's traces: one <see cref="ActivitySource"/> named <see cref="SourceName"/> with a span
/// per pipeline stage (docs/observability.md, "Traces"). A batch's spans continue the W3C trace
/// context of the request that carried it (ASP.NET Core turns the <c>traceparent</c> header into
/// the request's activity; the stages below it are its children, also on the executor and
/// committer threads, which receive the context with the work).
/// </summary>
/// <remarks>
/// Cheap when nobody listens: <see cref="ActivitySource.StartActivity(string, ActivityKind)"/>
/// returns null without allocating, and the stages capture a parent context only when
/// <see cref="ActivitySource.HasListeners"/>. A static source is the platform's pattern: it holds
/// no state of its own (listeners subscribe by name), so two hosts in one process share it without
/// sharing data; tests tell their spans apart by trace id.
/// </remarks>
public static class ShowrunnerActivities
{
    public const string SourceName = "Showrunner";

    /// <summary>Span names, one per stage.</summary>
    public static class Spans
    {
        /// <summary>Reading and checking a batch's body (shape, limits) in <c>POST /v1/actions</c>.</summary>
        public const string Validate = "validate";

        /// <summary>Admission, deduplication and routing of a batch to its partitions' executors.</summary>
        public const string Route = "route";

        /// <summary>One partition's executor evaluating its part of a batch (a work unit).</summary>
        public const string Evaluate = "evaluate";

        /// <summary>The durable group commit that held a work unit, as seen by that unit.</summary>
        public const string Commit = "commit";

        /// <summary>One outbox delivery attempt of a grant to the webhook.</summary>
        public const string Deliver = "deliver";
    }

    /// <summary>Tag names (OpenTelemetry attribute style).</summary>
    public static class Tags
    {
        /// <summary>The action id (of a batch or unit: its first action's id).</summary>
        public const string ActionId = "showrunner.action.id";

        /// <summary>How many actions the span covers.</summary>
        public const string ActionCount = "showrunner.action.count";

        /// <summary>The partition index (evaluate, commit).</summary>
        public const string Partition = "showrunner.partition";

        /// <summary>How many partitions a batch was routed to (route).</summary>
        public const string PartitionCount = "showrunner.partition.count";

        /// <summary>The number of actions in the whole group commit (commit).</summary>
        public const string CommitActions = "showrunner.commit.actions";

        /// <summary>The outcome of a batch or an attempt: accepted/duplicate/rejected counts are separate tags; this is the status word.</summary>
        public const string Outcome = "showrunner.outcome";

        /// <summary>Actions of the span's batch by outcome (route).</summary>
        public const string Accepted = "showrunner.actions.accepted";
        public const string Duplicates = "showrunner.actions.duplicates";
        public const string Rejected = "showrunner.actions.rejected";

        /// <summary>The grant id (deliver).</summary>
        public const string GrantId = "showrunner.grant.id";

        /// <summary>The attempt number, from 1 (deliver).</summary>
        public const string Attempt = "showrunner.delivery.attempt";

        /// <summary>The HTTP status the webhook answered (deliver), when it answered.</summary>
        public const string StatusCode = "http.response.status_code";

        /// <summary>A problem or rejection code (validate: the batch's; route: why it was refused).</summary>
        public const string Code = "showrunner.code";
    }

    public static readonly ActivitySource Source = new(SourceName);
}
