using Showrunner.Core.Ledger;

namespace Showrunner.Server.Api;

/// <summary><c>GET /v1/ledger/key</c>: the public key that verifies checkpoints and receipts (docs/ledger.md).</summary>
internal static class LedgerEndpoints
{
    public static void Map(WebApplication app, LedgerSigningKey key)
    {
        string publicKeyPem = key.ExportPublicKeyPem();
        app.MapGet("/v1/ledger/key", (HttpContext context) =>
        {
            if (context.Request.Query["format"] == "pem")
            {
                return Results.Text(publicKeyPem + "\n", "application/x-pem-file");
            }
            return Results.Json(new LedgerKeyResponse(key.KeyId, "ECDSA P-256, SHA-256, DER signatures", publicKeyPem), ServerJsonContext.Default.LedgerKeyResponse);
        });
    }
}

internal sealed record LedgerKeyResponse(string KeyId, string Algorithm, string PublicKeyPem);
