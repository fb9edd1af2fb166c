using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Showrunner.Server.Security;

namespace Showrunner.Server.Tests;

/// <summary>
/// Test-only stand-in for authentication: a request with <c>X-Test-Principal: ID,ROLE</c> (role
/// viewer, operator, approver or admin) runs as operator key ID with that role, exactly as if the
/// authentication middleware had set it. Lives in the test project only; the server has no such
/// header.
/// </summary>
internal sealed class TestPrincipals : IStartupFilter
{
    public const string Header = "X-Test-Principal";

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(async (context, following) =>
        {
            if (context.Request.Headers[Header] is { Count: 1 } value)
            {
                string[] parts = value.ToString().Split(',');
                context.SetPrincipal(new Principal(parts[0], PrincipalKind.Operator, parts[0], Enum.Parse<Role>(parts[1], ignoreCase: true)));
            }
            await following(context);
        });
        next(app);
    };

    /// <summary>A client whose every request runs as <paramref name="id"/> with <paramref name="role"/>.</summary>
    public static HttpClient As(ShowrunnerFactory factory, string id, Role role)
    {
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Add(Header, id + "," + role.ToString().ToLowerInvariant());
        return client;
    }
}
