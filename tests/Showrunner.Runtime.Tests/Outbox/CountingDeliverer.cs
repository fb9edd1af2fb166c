using Showrunner.Runtime.Outbox;
using Showrunner.Storage.Outbox;

namespace Showrunner.Runtime.Tests.Outbox;

/// <summary>Passes attempts through and records the most that were in flight at once (as the worker sees them).</summary>
internal sealed class CountingDeliverer(IDeliverer inner) : IDeliverer
{
    private int _inFlight;
    private int _concurrentMax;

    public string Target => inner.Target;

    public int ConcurrentMax => Volatile.Read(ref _concurrentMax);

    public async Task<AttemptResult> DeliverAsync(DueDelivery delivery, int attempt, CancellationToken cancellationToken)
    {
        int now = Interlocked.Increment(ref _inFlight);
        int seen = Volatile.Read(ref _concurrentMax);
        while (now > seen && Interlocked.CompareExchange(ref _concurrentMax, now, seen) != seen)
        {
            seen = Volatile.Read(ref _concurrentMax);
        }
        try
        {
            return await inner.DeliverAsync(delivery, attempt, cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }
}
