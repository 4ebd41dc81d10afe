using System.Security.Cryptography;
using System.Text;
using Agents.Engine;
using Agents.Hosting;
using Microsoft.AspNetCore.Http;

namespace Agents.Hosting;

/// <summary>
/// The one user and password a silo's HTTP endpoints (<c>/metrics</c> and the dashboard) demand when
/// <c>P2P_HTTP_AUTH=user:password</c> is set. Neither is ever printed, not even by <see cref="ToString"/>.
/// </summary>
public sealed class HttpBasicAuthentication
{
    /// <summary>The variable holding <c>user:password</c>.</summary>
    public const string Variable = "P2P_HTTP_AUTH";

    /// <summary>The realm named in the <c>WWW-Authenticate</c> challenge.</summary>
    public const string Realm = "agents";

    // Hashes of the expected and offered credentials are compared, so neither their content nor their length leaks through timing.
    private readonly byte[] _expected;

    private HttpBasicAuthentication(string user, string password)
    {
        User = user;
        _expected = Hash(user, password);
    }

    /// <summary>The user name requests must give.</summary>
    public string User { get; }

    /// <summary>Reads <c>P2P_HTTP_AUTH</c>; null when unset, <see cref="ConfigurationException"/> (without the value) when malformed.</summary>
    public static HttpBasicAuthentication? FromEnvironment(IReadOnlyDictionary<string, string?> environment) =>
        environment.TryGetValue(Variable, out var value) && !string.IsNullOrEmpty(value) ? Parse(value, Variable) : null;

    /// <summary>Parses <c>user:password</c>: a non-empty user without a colon, and a non-empty password.</summary>
    public static HttpBasicAuthentication Parse(string value, string name)
    {
        var colon = value.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == value.Length - 1 || string.IsNullOrWhiteSpace(value[..colon]))
        {
            // The value holds a password: say what is wrong with it, never what it is.
            throw new ConfigurationException($"{name} must be user:password with a non-empty user and password (the value given is not shown).");
        }

        return new HttpBasicAuthentication(value[..colon], value[(colon + 1)..]);
    }

    /// <summary>True when <paramref name="request"/> carries these credentials in a Basic <c>Authorization</c> header.</summary>
    public bool IsAuthorized(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
        }
        catch (FormatException)
        {
            return false;
        }

        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        return colon >= 0 && CryptographicOperations.FixedTimeEquals(Hash(decoded[..colon], decoded[(colon + 1)..]), _expected);
    }

    /// <summary>Middleware: requests without these credentials get 401 and a Basic challenge.</summary>
    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        if (IsAuthorized(context.Request))
        {
            await next(context);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.WWWAuthenticate = $"Basic realm=\"{Realm}\", charset=\"UTF-8\"";
    }

    /// <inheritdoc />
    public override string ToString() => $"HTTP Basic authentication as '{User}'";

    private static byte[] Hash(string user, string password) =>
        SHA256.HashData(Encoding.UTF8.GetBytes($"{user.Length}:{user}:{password}"));
}
