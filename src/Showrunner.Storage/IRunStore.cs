namespace Showrunner.Storage;

/// <summary>One recorded phase change of an event run (phases and causes as lower-case words).</summary>
public sealed record StoredTransition(
    string EventId, long Run, int Sequence, string From, string To, long AtTicks, string Cause, long RecordedAtTicks, long ReleaseRef);

/// <summary>The append-only lifecycle of event runs.</summary>
public interface IRunStore
{
    /// <summary>Every recorded transition, ordered by event, run and sequence.</summary>
    IReadOnlyList<StoredTransition> Load();

    /// <summary>
    /// Writes all transitions in one transaction, or none: false (nothing written) if any
    /// (event, run, sequence) is already recorded.
    /// </summary>
    bool Append(IReadOnlyList<StoredTransition> transitions);
}
