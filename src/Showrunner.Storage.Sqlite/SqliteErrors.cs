using Microsoft.Data.Sqlite;
using Showrunner.Storage.Outbox;

namespace Showrunner.Storage.Sqlite;

/// <summary>
/// Which SQLite failures the contract calls <see cref="StoreUnavailableException"/>: the database
/// was busy or locked past <c>busy_timeout</c>, an I/O error, a full disk. Anything else (a
/// constraint, a malformed database) keeps its own type: it is not a passing condition.
/// </summary>
internal static class SqliteErrors
{
    private const int Busy = 5;
    private const int Locked = 6;
    private const int IoError = 10;
    private const int Full = 13;

    public static bool IsTransient(SqliteException exception) => exception.SqliteErrorCode is Busy or Locked or IoError or Full;

    public static StoreUnavailableException Unavailable(SqliteException exception) =>
        new($"The SQLite store is unavailable: {exception.Message}", exception);
}

/// <summary>The SQLite outbox as the contract shows it: transient SQLite failures surface as <see cref="StoreUnavailableException"/>.</summary>
internal sealed class TranslatingOutboxStore(IOutboxStore inner) : IOutboxStore
{
    public Task<EnqueueResult> EnqueueAsync(string grantId, ReadOnlyMemory<byte> payload, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        Guard(() => inner.EnqueueAsync(grantId, payload, now, cancellationToken));

    public Task<IReadOnlyList<DueDelivery>> TakeDueAsync(DateTimeOffset now, int max, DateTimeOffset claimUntil, CancellationToken cancellationToken = default) =>
        Guard(() => inner.TakeDueAsync(now, max, claimUntil, cancellationToken));

    public Task RecordAttemptAsync(string grantId, AttemptRecord attempt, CancellationToken cancellationToken = default) =>
        Guard(async () =>
        {
            await inner.RecordAttemptAsync(grantId, attempt, cancellationToken).ConfigureAwait(false);
            return true;
        });

    public Task ReleaseAsync(string grantId, DateTimeOffset nextAttemptAt, CancellationToken cancellationToken = default) =>
        Guard(async () =>
        {
            await inner.ReleaseAsync(grantId, nextAttemptAt, cancellationToken).ConfigureAwait(false);
            return true;
        });

    public Task<DeliveryState?> GetAsync(string grantId, CancellationToken cancellationToken = default) =>
        Guard(() => inner.GetAsync(grantId, cancellationToken));

    public Task<IReadOnlyList<DeliveryState>> ListDeadLettersAsync(int max, string? afterGrantId = null, CancellationToken cancellationToken = default) =>
        Guard(() => inner.ListDeadLettersAsync(max, afterGrantId, cancellationToken));

    public Task<DateTimeOffset?> NextDueAtAsync(CancellationToken cancellationToken = default) =>
        Guard(() => inner.NextDueAtAsync(cancellationToken));

    public Task<int> RedeliverAsync(RedeliverScope scope, DateTimeOffset now, IReadOnlyCollection<string>? grantIds = null, CancellationToken cancellationToken = default) =>
        Guard(() => inner.RedeliverAsync(scope, now, grantIds, cancellationToken));

    public Task<OutboxCounts> CountsAsync(CancellationToken cancellationToken = default) =>
        Guard(() => inner.CountsAsync(cancellationToken));

    private static async Task<T> Guard<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (SqliteException exception) when (SqliteErrors.IsTransient(exception))
        {
            throw SqliteErrors.Unavailable(exception);
        }
    }
}
