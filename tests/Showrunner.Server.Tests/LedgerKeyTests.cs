using System.Net;
using System.Text.Json.Nodes;
using Showrunner.Core.Ledger;
using Showrunner.Server.Hosting;
using Showrunner.Testing;

namespace Showrunner.Server.Tests;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
[Trait("Category", "Component")]
public sealed class LedgerKeyTests
{
    [Fact]
    public void The_key_is_created_once_owner_only_and_loaded_back()
    {
        using var directory = new TempDirectory();
        var (created, wasCreated) = LedgerKeyFile.LoadOrCreate(directory.Path);
        Assert.True(wasCreated);
        string path = Path.Combine(directory.Path, LedgerKeyFile.FileName);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        var (loaded, again) = LedgerKeyFile.LoadOrCreate(directory.Path);
        Assert.False(again);
        Assert.Equal(created.KeyId, loaded.KeyId);
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public void A_key_file_others_can_read_or_that_is_not_a_key_is_refused()
    {
        using var directory = new TempDirectory();
        LedgerKeyFile.LoadOrCreate(directory.Path);
        string path = Path.Combine(directory.Path, LedgerKeyFile.FileName);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        Assert.Contains("chmod 600", Assert.Throws<LedgerKeyException>(() => LedgerKeyFile.LoadOrCreate(directory.Path)).Message, StringComparison.Ordinal);
        File.WriteAllText(path, "not a key");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.Contains("PKCS#8", Assert.Throws<LedgerKeyException>(() => LedgerKeyFile.LoadOrCreate(directory.Path)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_public_key_is_served_and_verifies_what_the_key_file_signs()
    {
        using var factory = new ShowrunnerFactory();
        var client = await factory.ReadyClientAsync();
        var response = await client.GetAsync(new Uri("/v1/ledger/key", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        string pem = (string)body["public_key_pem"]!;
        var (key, error) = LedgerPublicKey.FromPem(pem);
        Assert.True(key is not null, error);
        Assert.Equal(key.KeyId, (string?)body["key_id"]);

        // The served key is the public half of the key file in the data directory.
        var (signing, _) = LedgerKeyFile.LoadOrCreate(factory.DataDirectory);
        Assert.Equal(signing.KeyId, key.KeyId);
        var signed = signing.Sign(1, 638_000_000_000_000_000L, [new PartitionHead(0, MerkleHash.EmptyRoot())]);
        Assert.True(signed.Verify(key));

        string pemText = await client.GetStringAsync(new Uri("/v1/ledger/key?format=pem", UriKind.Relative));
        Assert.Equal(pem.Trim(), pemText.Trim());
    }
}
