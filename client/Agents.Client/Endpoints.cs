using System.Net;

namespace Agents.Client;

/// <summary>Parses the addresses a command line or a variable gives: an IP or a host name, and <c>host:port</c>.</summary>
public static class Endpoints
{
    /// <summary>
    /// An IP address, or a host name resolved to its first IPv4 address (a container's own service name, say), for
    /// <c>--address</c> / <c>P2P_ADDRESS</c>.
    /// </summary>
    public static IPAddress ParseAddress(string text, string name)
    {
        if (IPAddress.TryParse(text, out var ip))
        {
            return ip;
        }

        try
        {
            return Dns.GetHostAddresses(text).FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
                ?? throw new ConfigurationException($"{name}: '{text}' has no IPv4 address.");
        }
        catch (System.Net.Sockets.SocketException e)
        {
            throw new ConfigurationException($"{name}: '{text}' is neither an IP address nor a host name that resolves ({e.Message}).");
        }
    }

    /// <summary>Parses <c>host:port</c> (an IP or a host name that resolves, and a port 1..65535); errors name <paramref name="name"/>.</summary>
    public static IPEndPoint ParseEndpoint(string text, string name)
    {
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text[(colon + 1)..], out var port) || port is <= 0 or > 65535)
        {
            throw new ConfigurationException($"{name}: '{text}' is not host:port.");
        }

        return new IPEndPoint(ParseAddress(text[..colon], name), port);
    }

    /// <summary>Parses a gateway, <c>host:port</c>; errors name the gateway as given.</summary>
    public static IPEndPoint ParseGateway(string gateway)
    {
        var colon = gateway.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(gateway[(colon + 1)..], out var port) || port is <= 0 or > 65535)
        {
            throw new ConfigurationException($"Gateway '{gateway}' is not host:port.");
        }

        return new IPEndPoint(ParseAddress(gateway[..colon], $"Gateway '{gateway}'"), port);
    }
}
