using System.Security.Cryptography;
using System.Text.Json;
using Showrunner.Core.Actions;
using Showrunner.Core.Ledger;
using Showrunner.Storage;

namespace Showrunner.Cli;

/// <summary>
/// <c>ledger verify</c>: checks a whole ledger — every checkpoint's signature and growth, every
/// partition's hash chain and Merkle root at every checkpoint, grant-id uniqueness — from a data
/// directory (read-only; the server may be running) or from a server's ledger endpoints. Codes and
/// order: docs/ledger.md, "Verifying a whole partition".
/// </summary>
internal sealed class LedgerVerifyCommand(TextWriter output, TextWriter errors, HttpMessageHandler? handler = null)
{
    public const string KeyMissing = "key_missing";
    public const string KeyInvalid = "key_invalid";
    public const string EntriesWithheld = "server.entries_withheld";
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    /// <param name="apiKey">With <paramref name="server"/>: the API key sent as Bearer (a viewer key is enough).</param>
    public int Run(string? dataDirectory, string? server, string? keyFile, bool json, string? apiKey = null)
    {
        if ((dataDirectory is null) == (server is null))
        {
            errors.WriteLine("error: give exactly one of --data DIR (a data directory) and --server URL (a running server).");
            return ExitCodes.Usage;
        }
        if (keyFile is not null && !File.Exists(keyFile))
        {
            errors.WriteLine($"error: {KeyMissing}: '{keyFile}' does not exist (save the server's key with: curl 'URL/v1/ledger/key?format=pem' > ledger.pub).");
            return ExitCodes.Usage;
        }
        return dataDirectory is not null ? RunOnDirectory(dataDirectory, keyFile, json) : RunOnServer(server!, keyFile, json, apiKey);
    }

    private int RunOnDirectory(string dataDirectory, string? keyFile, bool json)
    {
        if (!Directory.Exists(dataDirectory))
        {
            errors.WriteLine($"error: data_directory_missing: '{dataDirectory}' does not exist.");
            return ExitCodes.Usage;
        }
        string keySource;
        string keyPem;
        if (keyFile is not null)
        {
            if (ReadKey(keyFile) is not { } text)
            {
                return ExitCodes.Problems;
            }
            (keyPem, keySource) = (text, keyFile);
        }
        else
        {
            string path = Path.Combine(dataDirectory, DataDirectoryLayout.LedgerKeyFileName);
            if (!File.Exists(path))
            {
                errors.WriteLine($"error: {KeyMissing}: {path} does not exist; pass the ledger's public key with --key PEM.");
                return ExitCodes.Usage;
            }
            try
            {
                using var signing = LedgerSigningKey.FromPkcs8Pem(File.ReadAllText(path));
                (keyPem, keySource) = (signing.ExportPublicKeyPem(), path);
            }
            catch (Exception exception) when (exception is ArgumentException or CryptographicException or IOException or UnauthorizedAccessException)
            {
                errors.WriteLine($"error: {KeyInvalid}: {path} does not give an ECDSA P-256 key ({exception.Message}); pass the public key with --key PEM.");
                return ExitCodes.Problems;
            }
        }
        IDataDirectoryReader reader;
        try
        {
            reader = DataDirectoryStores.Open(dataDirectory);
        }
        catch (StoreConfigurationException exception)
        {
            errors.WriteLine($"error: {exception.Code}: {exception.Message}");
            return ExitCodes.Problems;
        }
        using (reader)
        {
            try
            {
                return Verify(new DataDirectoryLedgerSource(reader), keyPem, keySource, "data", json);
            }
            catch (Exception exception) when (exception is StoreDataException or InvalidCastException)
            {
                // A row SQLite cannot read (a damaged page, a value of the wrong type): not a verified ledger.
                errors.WriteLine($"error: store_damaged: reading {reader.Location} failed: {exception.Message}");
                return ExitCodes.Problems;
            }
        }
    }

    private int RunOnServer(string server, string? keyFile, bool json, string? apiKey)
    {
        if (!Uri.TryCreate(server.EndsWith('/') ? server : server + "/", UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            errors.WriteLine($"error: --server '{server}' is not an http:// or https:// URL.");
            return ExitCodes.Usage;
        }
        using var client = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        client.BaseAddress = uri;
        client.Timeout = RequestTimeout;
        client.MaxResponseContentBufferSize = ServerLedgerSource.MaxAnswerBytes;
        if (apiKey is not null)
        {
            if (!ServerCommands.IsSendableKey(apiKey))
            {
                errors.WriteLine("error: --api-key (or $SHOWRUNNER_KEY) is not an API key: it must be printable ASCII without spaces.");
                return ExitCodes.Usage;
            }
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", apiKey);
        }
        var source = new ServerLedgerSource(client);
        try
        {
            var (_, served) = source.ReadSummary();
            // A key served by the server being checked proves only that its checkpoints are
            // consistent with it; --key with a key obtained earlier proves they are the ledger's.
            string? trusted = keyFile is null ? null : ReadKey(keyFile);
            if (keyFile is not null && trusted is null)
            {
                return ExitCodes.Problems;
            }
            var (keyPem, keySource) = trusted is not null
                ? (trusted, keyFile!)
                : (source.ReadKeyPem(), uri + "v1/ledger/key (served by the server being verified; pass --key to check against a key you trust)");
            return Verify(source, keyPem, keySource, "server", json, report =>
            {
                // Entries only grow, so a walk that read fewer than the server counted before it
                // began was served a shorter ledger than the server admits to.
                if (report.Entries < served && report.IsValid)
                {
                    report.Problems.Add(new LedgerProblem(EntriesWithheld,
                        $"the server reports {served} entries (GET /v1/ledger), but its pages held {report.Entries}"));
                }
            });
        }
        catch (LedgerSourceException exception)
        {
            errors.WriteLine($"error: {exception.Code}: {exception.Message}");
            return ExitCodes.Problems;
        }
    }

    private string? ReadKey(string keyFile)
    {
        try
        {
            return File.ReadAllText(keyFile);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            errors.WriteLine($"error: {KeyInvalid}: '{keyFile}' cannot be read: {exception.Message}");
            return null;
        }
    }

    private int Verify(ILedgerSource source, string keyPem, string keySource, string sourceKind, bool json, Action<LedgerVerificationReport>? alsoCheck = null)
    {
        var (key, keyError) = LedgerPublicKey.FromPem(keyPem);
        if (key is null)
        {
            errors.WriteLine($"error: {KeyInvalid}: {keySource}: {keyError}");
            return ExitCodes.Problems;
        }
        LedgerVerificationReport report;
        using (key)
        {
            report = LedgerVerifier.Verify(source, key);
        }
        alsoCheck?.Invoke(report);
        if (json)
        {
            CliJson.WriteObject(output, writer =>
            {
                writer.WriteBoolean("ok", report.IsValid);
                writer.WriteString("source", sourceKind);
                writer.WriteString("key_id", report.KeyId);
                writer.WriteString("key_source", keySource);
                writer.WriteNumber("partitions", report.Partitions);
                writer.WriteNumber("entries", report.Entries);
                writer.WriteNumber("checkpoints", report.Checkpoints);
                writer.WritePropertyName("latest_checkpoint");
                WriteCheckpoint(writer, report.Latest);
                writer.WriteStartArray("problems");
                foreach (var problem in report.Problems)
                {
                    writer.WriteStartObject();
                    writer.WriteString("code", problem.Code);
                    writer.WriteString("detail", problem.Detail);
                    WriteNumberOrNull(writer, "partition", problem.Partition);
                    WriteNumberOrNull(writer, "index", problem.Index);
                    WriteNumberOrNull(writer, "checkpoint", problem.Checkpoint);
                    writer.WriteEndObject();
                }
                writer.WriteEndArray();
            });
        }
        else
        {
            foreach (var problem in report.Problems)
            {
                string where = (problem.Partition, problem.Index) switch
                {
                    ({ } p, { } i) => $"partition {p}, entry {i}: ",
                    ({ } p, null) => $"partition {p}: ",
                    _ => "",
                };
                errors.WriteLine($"error: {problem.Code}: {where}{problem.Detail}");
            }
            var latest = report.Latest is { } c
                ? $"checkpoint {c.Sequence} at {Rfc3339.Format(c.TimeTicks)}, {c.Partitions.Sum(h => h.Size)} entries"
                : "none";
            output.WriteLine(report.IsValid ? "ok: the ledger verifies" : $"failed: {report.Problems.Count} problem(s), listed on standard error");
            output.WriteLine($"partitions   {report.Partitions}");
            output.WriteLine($"entries      {report.Entries}{(report.IsValid ? "" : " (verified before the first problem of each partition)")}");
            output.WriteLine($"checkpoints  {report.Checkpoints}");
            output.WriteLine($"latest       {latest}");
            output.WriteLine($"key          {report.KeyId} ({keySource})");
        }
        return report.IsValid ? ExitCodes.Ok : ExitCodes.Problems;
    }

    private static void WriteCheckpoint(Utf8JsonWriter writer, Checkpoint? checkpoint)
    {
        if (checkpoint is null)
        {
            writer.WriteNullValue();
            return;
        }
        writer.WriteStartObject();
        writer.WriteNumber("sequence", checkpoint.Sequence);
        writer.WriteString("time", Rfc3339.Format(checkpoint.TimeTicks));
        writer.WriteString("key_id", checkpoint.KeyId);
        writer.WriteNumber("entries", checkpoint.Partitions.Sum(h => h.Size));
        writer.WriteEndObject();
    }

    internal static void WriteNumberOrNull(Utf8JsonWriter writer, string name, long? value)
    {
        if (value is { } number)
        {
            writer.WriteNumber(name, number);
        }
        else
        {
            writer.WriteNull(name);
        }
    }
}
