using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http.Features;
using Showrunner.Server.Api;
using Showrunner.Server.Hosting;
using Showrunner.Server.Security;

namespace Showrunner.Server.Dashboard;

/// <summary>
/// The operator dashboard: <c>GET /dashboard</c> and its two assets (a static shell, public, with
/// no data in it), and the data it shows, behind a viewer key: <c>GET /v1/dashboard</c> (the
/// latest snapshot) and <c>GET /v1/dashboard/stream</c> (server-sent events, one snapshot per
/// sample). docs/api.md, "Dashboard"; docs/observability.md, "Dashboard", explains the login.
/// </summary>
/// <remarks>
/// A browser's EventSource cannot send an Authorization header, so the page reads the stream
/// with <c>fetch</c> and parses the events itself, sending the key the operator typed (kept in
/// the tab's sessionStorage). No ticket or cookie exists that could leak through a URL or be
/// replayed by another site. The stream checks its key again before every event: a revoked key's
/// stream ends within one sample.
/// </remarks>
internal sealed class DashboardEndpoints(DashboardSampler sampler, KeyRing keys, ServerOptions options, IHostApplicationLifetime lifetime)
{
    public const string TooManyStreams = "too_many_streams";
    /// <summary>Most snapshots one stream request may ask for with <c>?limit=</c> (without it a stream runs until the client leaves).</summary>
    public const int MaxStreamLimit = 1_000_000;

    /// <summary>The page's assets, embedded in the server (no CDN, nothing fetched from elsewhere).</summary>
    private static readonly Dictionary<string, (string ContentType, string Resource)> Assets = new(StringComparer.Ordinal)
    {
        ["index.html"] = ("text/html; charset=utf-8", "Showrunner.Server.Dashboard.index.html"),
        ["dashboard.css"] = ("text/css; charset=utf-8", "Showrunner.Server.Dashboard.dashboard.css"),
        ["dashboard.js"] = ("text/javascript; charset=utf-8", "Showrunner.Server.Dashboard.dashboard.js"),
        ["favicon.svg"] = ("image/svg+xml", "Showrunner.Server.Dashboard.favicon.svg"),
    };

    /// <summary>
    /// Only this server's own files run and load; no inline script, no other origin, no framing.
    /// Data reaches the page only through <c>fetch</c> to the same origin.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static readonly Dictionary<string, (byte[] Bytes, string ETag)> Loaded = LoadAssets();
    private int _streams;

    public static void Map(WebApplication app)
    {
        var endpoints = app.Services.GetRequiredService<DashboardEndpoints>();
        app.MapGet("/dashboard", context => endpoints.AssetAsync(context, "index.html")).Allow(Access.Public);
        app.MapGet("/dashboard/{asset}", endpoints.AssetAsync).Allow(Access.Public);
        app.MapGet("/v1/dashboard", endpoints.SnapshotAsync).Allow(Access.Viewer);
        app.MapGet("/v1/dashboard/stream", endpoints.StreamAsync).Allow(Access.Viewer);
    }

    private static Dictionary<string, (byte[], string)> LoadAssets()
    {
        var assembly = typeof(DashboardEndpoints).Assembly;
        var loaded = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal);
        foreach (var (name, (_, resource)) in Assets)
        {
            using var stream = assembly.GetManifestResourceStream(resource)
                ?? throw new InvalidOperationException($"The dashboard asset {resource} is not embedded in the server.");
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            byte[] bytes = copy.ToArray();
            loaded[name] = (bytes, "\"" + Convert.ToHexStringLower(SHA256.HashData(bytes))[..16] + "\"");
        }
        return loaded;
    }

    public async Task AssetAsync(HttpContext context, string asset)
    {
        if (!Assets.TryGetValue(asset, out var info))
        {
            await Problems.WriteAsync(context, StatusCodes.Status404NotFound, ProblemCodes.NotFound, "Not found",
                $"The dashboard has no file '{asset}'.").ConfigureAwait(false);
            return;
        }
        var (bytes, etag) = Loaded[asset];
        var response = context.Response;
        var headers = response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        // Revalidated on every load, so a new server version is picked up at once; the ETag makes that a 304.
        headers.CacheControl = "no-cache";
        headers.ETag = etag;
        if (context.Request.Headers.IfNoneMatch == etag)
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = info.ContentType;
        response.ContentLength = bytes.Length;
        await response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>The latest snapshot; sampled now when there is none yet or sampling is on request only.</summary>
    public async Task SnapshotAsync(HttpContext context)
    {
        var snapshot = sampler.Latest;
        if (snapshot is null || options.Dashboard.SampleInterval == TimeSpan.Zero)
        {
            snapshot = await sampler.SampleAsync(context.RequestAborted).ConfigureAwait(false);
        }
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json";
        response.Headers.CacheControl = "no-store";
        response.ContentLength = snapshot.Json.Length;
        await response.Body.WriteAsync(snapshot.Json, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// <c>text/event-stream</c>: an <c>event: snapshot</c> with the snapshot's JSON as data for every
    /// new sample (the current one first), until the client leaves, <c>?limit=</c> snapshots were
    /// sent, the server stops, or the key is no longer valid (<c>event: unauthorized</c>, then the end).
    /// </summary>
    public async Task StreamAsync(HttpContext context)
    {
        long limit = long.MaxValue;
        if (context.Request.Query["limit"] is { Count: > 0 } limitText &&
            (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out int parsed) || parsed is < 1 or > MaxStreamLimit))
        {
            await Requests.InvalidParameterAsync(context, "limit", $"limit must be a whole number from 1 to {MaxStreamLimit} (snapshots to send before the stream ends).")
                .ConfigureAwait(false);
            return;
        }
        else if (context.Request.Query["limit"] is { Count: > 0 } given)
        {
            limit = int.Parse(given!, CultureInfo.InvariantCulture);
        }
        if (Interlocked.Increment(ref _streams) > options.Dashboard.MaxStreams)
        {
            Interlocked.Decrement(ref _streams);
            await Problems.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, TooManyStreams, "Too many dashboard streams",
                $"{options.Dashboard.MaxStreams} dashboard streams are open (Showrunner:Dashboard:MaxStreams); close one or retry later.",
                TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            return;
        }
        try
        {
            await StreamSnapshotsAsync(context, limit).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested || lifetime.ApplicationStopping.IsCancellationRequested)
        {
            // The client left, or the server is stopping: the stream simply ends.
        }
        catch (IOException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The connection closed while an event was being written.
        }
        finally
        {
            Interlocked.Decrement(ref _streams);
        }
    }

    private async Task StreamSnapshotsAsync(HttpContext context, long limit)
    {
        string credential = context.Request.Headers.Authorization.ToString()["Bearer ".Length..].Trim();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        var token = stop.Token;
        var response = context.Response;
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-store";
        response.Headers["X-Accel-Buffering"] = "no";
        // Tells the client how long to wait before reconnecting if the stream breaks.
        await response.WriteAsync("retry: 2000\n\n", token).ConfigureAwait(false);
        await response.Body.FlushAsync(token).ConfigureAwait(false);
        bool onRequest = options.Dashboard.SampleInterval == TimeSpan.Zero;
        var wait = onRequest ? TimeSpan.FromSeconds(1) : options.Dashboard.SampleInterval * 3;
        long sent = 0;
        long last = -1;
        while (sent < limit && !token.IsCancellationRequested)
        {
            if (keys.Authenticate(credential, out _) is not { } principal || !principal.IsOperator(Role.Viewer))
            {
                await response.WriteAsync("event: unauthorized\ndata: {\"code\":\"unauthorized\",\"detail\":\"The key of this stream is no longer valid.\"}\n\n", token)
                    .ConfigureAwait(false);
                await response.Body.FlushAsync(token).ConfigureAwait(false);
                return;
            }
            DashboardSnapshot? snapshot;
            if (onRequest)
            {
                if (sent > 0)
                {
                    await Task.Delay(wait, token).ConfigureAwait(false);
                }
                snapshot = await sampler.SampleAsync(token).ConfigureAwait(false);
            }
            else
            {
                snapshot = sampler.Latest;
                if (snapshot is null && sent == 0)
                {
                    // Right after start: the first snapshot is taken now rather than waited for.
                    snapshot = await sampler.SampleAsync(token).ConfigureAwait(false);
                }
                else if (snapshot is null || snapshot.Sequence <= last)
                {
                    try
                    {
                        await sampler.WaitForNewerAsync(last, token).WaitAsync(wait, token).ConfigureAwait(false);
                    }
                    catch (TimeoutException)
                    {
                        // No new sample (a stalled sampler): a comment keeps proxies from closing the idle stream.
                        await response.WriteAsync(": waiting for a sample\n\n", token).ConfigureAwait(false);
                        await response.Body.FlushAsync(token).ConfigureAwait(false);
                        continue;
                    }
                    snapshot = sampler.Latest!;
                }
            }
            last = snapshot.Sequence;
            await WriteEventAsync(response, snapshot, token).ConfigureAwait(false);
            sent++;
        }
    }

    private static async Task WriteEventAsync(HttpResponse response, DashboardSnapshot snapshot, CancellationToken token)
    {
        // The JSON is written without line breaks, so one data line carries it.
        byte[] head = Encoding.UTF8.GetBytes($"id: {snapshot.Sequence.ToString(CultureInfo.InvariantCulture)}\nevent: snapshot\ndata: ");
        await response.Body.WriteAsync(head, token).ConfigureAwait(false);
        await response.Body.WriteAsync(snapshot.Json, token).ConfigureAwait(false);
        await response.Body.WriteAsync("\n\n"u8.ToArray(), token).ConfigureAwait(false);
        await response.Body.FlushAsync(token).ConfigureAwait(false);
    }
}
