namespace Showrunner.Runtime.Partitions;

public enum RuntimeState
{
    Starting,
    Ready,
    Recovering,
    Stopping,
    Stopped,
}

/// <summary>What <c>/readyz</c> reports: whether the runtime takes work, and if not, a stable reason code and a sentence.</summary>
public sealed record Readiness(bool IsReady, string? Reason, string? Detail)
{
    public static readonly Readiness Ready = new(true, null, null);
}

/// <summary>A durable write failed (or was refused because an earlier one failed).</summary>
public sealed class StoreWriteException(string message, Exception? inner) : Exception(message, inner);

/// <summary>
/// An executor failed while running this work (a bug or damaged state, never the sender's input
/// alone): nothing of it was applied, and the runtime reloaded the partitions from the store.
/// </summary>
public sealed class ExecutorFaultException(Exception inner)
    : Exception("Evaluating this work failed inside the runtime; its partitions stopped and reload from the store. The failure is logged.", inner);
