using System.Net;
using System.Net.Sockets;
using Showrunner.Core.Ledger;

namespace Showrunner.Cli.Tests.Ledger;

/// <summary>
/// <c>showrunner ledger verify --server</c> against the ledger endpoints (a Kestrel fake serving a
/// real data directory, since the real endpoints are being built on main): the same checks and
/// the same answers as <c>--data</c>, page by page.
/// </summary>
[Trait("Category", "Integration")]
public sealed class LedgerVerifyServerTests(LedgerDirectory directory) : IClassFixture<LedgerDirectory>
{
    [Fact]
    public async Task A_sound_ledger_verifies_over_http_with_the_same_summary_as_the_data_directory()
    {
        var copy = directory.Copy();
        await using var server = await LedgerServerFake.StartAsync(copy.Path, directory.PublicKeyPem);
        var (exitCode, root, problems) = LedgerVerifyCommandTests.Json("ledger", "verify", "--server", server.Url);
        Assert.Equal(0, exitCode);
        Assert.Empty(problems);
        var (_, local, _) = LedgerVerifyCommandTests.Json("ledger", "verify", "--data", copy.Path);
        Assert.Equal("server", root.GetProperty("source").GetString());
        foreach (string field in new[] { "key_id", "partitions", "entries", "checkpoints" })
        {
            Assert.Equal(local.GetProperty(field).ToString(), root.GetProperty(field).ToString());
        }
        Assert.Equal(local.GetProperty("latest_checkpoint").ToString(), root.GetProperty("latest_checkpoint").ToString());
        Assert.Contains("served by the server being verified", root.GetProperty("key_source").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_flipped_byte_served_by_the_server_is_named_at_its_entry_and_a_trusted_key_catches_a_server_with_another_one()
    {
        var copy = directory.Copy();
        copy.Unprotect();
        var row = copy.Rows(1)[^1];
        byte[] flipped = (byte[])row.Entry.Clone();
        flipped[flipped.Length / 2] ^= 0x04;
        copy.SetEntry(1, row.Index, flipped);
        await using (var server = await LedgerServerFake.StartAsync(copy.Path, directory.PublicKeyPem))
        {
            var (exitCode, _, problems) = LedgerVerifyCommandTests.Json("ledger", "verify", "--server", server.Url);
            Assert.Equal(1, exitCode);
            var (_, partition, index, _) = Assert.Single(problems);
            Assert.Equal((1, row.Index), (partition, index));
        }

        // A server that serves (and signs with) a key of its own passes against its own key, and
        // fails against the key the operator trusts.
        copy = directory.Copy();
        using var other = LedgerSigningKey.Create();
        await using (var server = await LedgerServerFake.StartAsync(copy.Path, other.ExportPublicKeyPem()))
        {
            Assert.Equal([("checkpoint.key_mismatch", (int?)null, (long?)null, (long?)1)], LedgerVerifyCommandTests.Json("ledger", "verify", "--server", server.Url).Problems);
            string trusted = Path.Combine(copy.Path, "trusted.pub");
            File.WriteAllText(trusted, directory.PublicKeyPem);
            Assert.Equal(0, LedgerVerifyCommandTests.Run("ledger", "verify", "--server", server.Url, "--key", trusted).ExitCode);
        }
    }

    [Fact]
    public async Task A_duplicate_grant_id_is_found_over_http_without_a_query_for_it()
    {
        var copy = directory.Copy();
        copy.Unprotect(uniqueIndexToo: true);
        var victim = copy.Rows(0)[0];
        var (original, _) = GrantEntry.Decode(victim.Entry, victim.PrevHash);
        var tail = copy.Rows(2)[^1];
        var duplicate = GrantEntry.Create(original!.Cause, original.Rewards, original.ReleaseId, original.TimeTicks, null, null, 2, tail.Index + 1, tail.Hash, original.ActionId);
        copy.Insert(duplicate);
        await using var server = await LedgerServerFake.StartAsync(copy.Path, directory.PublicKeyPem);
        Assert.Equal([(LedgerVerifier.DuplicateGrantId, (int?)2, (long?)duplicate.Index, (long?)null)],
            LedgerVerifyCommandTests.Json("ledger", "verify", "--server", server.Url).Problems);
    }

    [Fact]
    public async Task An_unreachable_or_refusing_server_exits_1_with_a_code_and_a_bad_url_is_a_usage_error()
    {
        var copy = directory.Copy();
        await using (var server = await LedgerServerFake.StartAsync(copy.Path, directory.PublicKeyPem))
        {
            server.FailWith = 503;
            var (exitCode, _, errors) = LedgerVerifyCommandTests.Run("ledger", "verify", "--server", server.Url);
            Assert.Equal(1, exitCode);
            Assert.StartsWith("error: server.refused: GET /v1/ledger answered 503", errors, StringComparison.Ordinal);
        }

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var (unreachable, _, message) = LedgerVerifyCommandTests.Run("ledger", "verify", "--server", $"http://127.0.0.1:{port}");
        Assert.Equal(1, unreachable);
        Assert.StartsWith("error: server.unreachable:", message, StringComparison.Ordinal);

        Assert.Equal(2, LedgerVerifyCommandTests.Run("ledger", "verify", "--server", "ftp://example").ExitCode);
    }
}
