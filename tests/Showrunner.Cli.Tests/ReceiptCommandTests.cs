using System.Text.Json;
using Showrunner.Core.Ledger;
using Showrunner.Testing;

namespace Showrunner.Cli.Tests;

/// <summary><c>showrunner receipt verify</c> on receipts built with the ledger core, as a third party would get them.</summary>
[Trait("Category", "Component")]
public sealed class ReceiptCommandTests : IDisposable
{
    private const string Release = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    private readonly TempDirectory _directory = new("showrunner-receipts");

    private static (int ExitCode, string Output, string Errors) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var errors = new StringWriter();
        int exitCode = ShowrunnerCommand.Run(args, output, errors);
        return (exitCode, output.ToString(), errors.ToString());
    }

    /// <summary>Two partitions with a few grants each, a signed checkpoint, and the receipt of partition 1's entry 2.</summary>
    private (string Receipt, string Key, GrantEntry Entry) Write(LedgerSigningKey key)
    {
        var logs = new[] { new MerkleLog(new InMemoryMerkleNodeStore()), new MerkleLog(new InMemoryMerkleNodeStore()) };
        var entries = new List<GrantEntry>[] { [], [] };
        for (int i = 0; i < 5; i++)
        {
            for (int p = 0; p < 2; p++)
            {
                byte[] prev = entries[p].Count == 0 ? LedgerFormat.GenesisPrevHash() : entries[p][^1].Hash;
                var entry = GrantEntry.Create(new GrantCause("crystal_caves_hunt", 0, $"player-{p}-{i}", "tier:bronze", CauseKind.Action, $"action-{p}-{i}"),
                    [new RewardLine("gems", 50)], Release, 638_000_000_000_000_000L + i, null, null, p, entries[p].Count, prev);
                entries[p].Add(entry);
                logs[p].Append(entry.LeafHash);
            }
        }
        var checkpoint = key.Sign(7, 638_000_000_100_000_000L, logs.Select(l => new PartitionHead(l.Size, l.Root())).ToList());
        var chosen = entries[1][2];
        string receipt = Path.Combine(_directory.Path, "receipt-" + Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(receipt, Receipt.ToJson(chosen, logs[1].InclusionProof(2, logs[1].Size), checkpoint));
        string pem = Path.Combine(_directory.Path, "ledger-" + key.KeyId[..8] + ".pub");
        File.WriteAllText(pem, key.ExportPublicKeyPem());
        return (receipt, pem, chosen);
    }

    [Fact]
    public void A_genuine_receipt_verifies_offline_with_the_public_key()
    {
        using var key = LedgerSigningKey.Create();
        var (receipt, pem, entry) = Write(key);
        var (exitCode, output, errors) = Run("receipt", "verify", receipt, "--key", pem);
        Assert.Equal((0, ""), (exitCode, errors));
        Assert.Equal($"ok: grant {entry.GrantId} to player-1-2 (crystal_caves_hunt run 0, tier:bronze) is entry 2 of partition 1, " +
            $"included in signed checkpoint 7 (key {key.KeyId})\n", output);

        var json = JsonDocument.Parse(Run("receipt", "verify", receipt, "--key", pem, "--json").Output).RootElement;
        Assert.True(json.GetProperty("ok").GetBoolean());
        Assert.Equal(entry.GrantId, json.GetProperty("grant_id").GetString());
    }

    [Fact]
    public void A_tampered_receipt_or_another_key_fails_with_its_code()
    {
        using var key = LedgerSigningKey.Create();
        var (receipt, pem, _) = Write(key);
        var document = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(receipt))!;
        var proof = document["inclusion_proof"]!.AsArray();
        string first = (string)proof[0]!;
        proof[0] = (first[0] == '0' ? "1" : "0") + first[1..];
        File.WriteAllText(receipt + ".tampered", document.ToJsonString());
        var tampered = Run("receipt", "verify", receipt + ".tampered", "--key", pem);
        Assert.Equal(1, tampered.ExitCode);
        Assert.StartsWith("error: receipt.inclusion_proof_invalid: ", tampered.Errors, StringComparison.Ordinal);

        using var other = LedgerSigningKey.Create();
        string otherPem = Path.Combine(_directory.Path, "other.pub");
        File.WriteAllText(otherPem, other.ExportPublicKeyPem());
        var wrongKey = Run("receipt", "verify", receipt, "--key", otherPem);
        Assert.Equal(1, wrongKey.ExitCode);
        Assert.StartsWith("error: receipt.key_id_mismatch: ", wrongKey.Errors, StringComparison.Ordinal);

        File.WriteAllText(receipt + ".garbage", "{\"format\":");
        Assert.StartsWith("error: receipt.malformed: ", Run("receipt", "verify", receipt + ".garbage", "--key", pem).Errors, StringComparison.Ordinal);
        Assert.Equal(2, Run("receipt", "verify", receipt + ".missing", "--key", pem).ExitCode);
        Assert.Equal(2, Run("receipt", "verify", receipt).ExitCode);
    }

    public void Dispose() => _directory.Dispose();
}
