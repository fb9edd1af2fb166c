using Showrunner.Runtime.Observability;

namespace Showrunner.Server.Hosting;

/// <summary>
/// A hosted loop that ticks at an interval (by the injected clock) under supervision: an
/// unexpected failure of one tick is logged by the loop (with what it was doing), counted in
/// <c>showrunner.worker.faults{worker}</c>, and the next tick runs on time; the loop itself never
/// ends before the host stops. A tick that never returns cannot hold the host's stop: the wait for
/// it ends with the stopping token (the tick is not run again while it is still running).
/// </summary>
internal abstract class SupervisedLoop(string worker, ShowrunnerMetrics metrics, TimeProvider time) : BackgroundService
{
    /// <summary>The host's instruments (also for a subclass's own gauges).</summary>
    protected ShowrunnerMetrics Metrics { get; } = metrics;

    /// <summary>The injected clock the loop paces itself by.</summary>
    protected TimeProvider Time { get; } = time;

    /// <summary>The <c>worker</c> label of the faults counter (stable: lifecycle, checkpoint, rollout, …).</summary>
    public string Worker { get; } = worker;

    protected abstract TimeSpan Interval { get; }

    /// <summary>Whether to tick now (e.g. only while the pipeline is ready).</summary>
    protected abstract bool ShouldTick { get; }

    protected abstract Task TickAsync(CancellationToken stoppingToken);

    /// <summary>Logs a failed tick with what the loop was doing; the failure is counted by the caller.</summary>
    protected abstract void LogTickFailed(Exception exception);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            if (ShouldTick)
            {
                try
                {
                    await TickAsync(stoppingToken).WaitAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception exception)
                {
                    Metrics.WorkerFaults.Add(1, new KeyValuePair<string, object?>("worker", Worker));
                    LogTickFailed(exception);
                }
            }
            try
            {
                await Task.Delay(Interval, Time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
