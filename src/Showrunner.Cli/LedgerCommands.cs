using System.Text.Json;
using Showrunner.Core.Ledger;

namespace Showrunner.Cli;

/// <summary><c>receipt verify</c>: checks a grant receipt offline against the ledger's public key (docs/ledger.md).</summary>
internal sealed class LedgerCommands(TextWriter output, TextWriter errors)
{
    /// <summary>Largest receipt file read.</summary>
    public const long MaxReceiptBytes = 32 * 1024 * 1024;

    public int VerifyReceipt(string receiptFile, string keyFile, bool json)
    {
        if (!File.Exists(receiptFile))
        {
            errors.WriteLine($"error: '{receiptFile}' does not exist.");
            return ExitCodes.Usage;
        }
        if (!File.Exists(keyFile))
        {
            errors.WriteLine($"error: '{keyFile}' does not exist (save the server's key with: curl 'URL/v1/ledger/key?format=pem' > ledger.pub).");
            return ExitCodes.Usage;
        }
        if (new FileInfo(receiptFile).Length > MaxReceiptBytes)
        {
            errors.WriteLine($"error: '{receiptFile}' is larger than {MaxReceiptBytes} bytes; it is not a receipt.");
            return ExitCodes.Problems;
        }
        var result = ReceiptVerifier.Verify(File.ReadAllText(receiptFile), File.ReadAllText(keyFile));
        var entry = result.Entry;
        if (json)
        {
            CliJson.WriteObject(output, writer =>
            {
                writer.WriteBoolean("ok", result.Failure == ReceiptFailure.None);
                writer.WriteString("code", result.Code);
                writer.WriteString("detail", result.Detail);
                if (entry is not null && result.Failure == ReceiptFailure.None)
                {
                    writer.WriteString("grant_id", entry.GrantId);
                    writer.WriteString("player", entry.Player);
                    writer.WriteString("event", entry.EventId);
                    writer.WriteNumber("run", entry.Run);
                    writer.WriteString("rule", entry.Rule);
                    writer.WriteNumber("partition", entry.Partition);
                    writer.WriteNumber("index", entry.Index);
                    writer.WriteNumber("checkpoint", result.Checkpoint!.Sequence);
                }
            });
        }
        else if (result.Failure == ReceiptFailure.None)
        {
            output.WriteLine($"ok: grant {entry!.GrantId} to {entry.Player} ({entry.EventId} run {entry.Run}, {entry.Rule}) " +
                $"is entry {entry.Index} of partition {entry.Partition}, included in signed checkpoint {result.Checkpoint!.Sequence} (key {result.Checkpoint.KeyId})");
        }
        else
        {
            errors.WriteLine($"error: {result.Code}: {result.Detail}");
        }
        return result.Failure == ReceiptFailure.None ? ExitCodes.Ok : ExitCodes.Problems;
    }
}
