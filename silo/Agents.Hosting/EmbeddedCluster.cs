using Microsoft.Extensions.Hosting;

namespace Agents.Hosting;

/// <summary>
/// The embedded default: one silo in the caller's process, with no database, and a client on it. A connection that
/// names a cluster is passed on to <see cref="AgentsClient.ConnectAsync"/> unchanged.
/// </summary>
public static class EmbeddedCluster
{
    /// <summary>
    /// Starts a silo in this process (free ports unless <paramref name="host"/> names them; data under its data
    /// directory) when <paramref name="connection"/> names no cluster, else connects to that cluster.
    /// </summary>
    public static async Task<AgentsClient> ConnectAsync(ClusterConnection connection, AgentsSettings settings, HostSettings? host = null, CancellationToken cancellationToken = default)
    {
        if (!connection.IsEmbedded)
        {
            return await AgentsClient.ConnectAsync(connection, cancellationToken);
        }

        var silo = await SiloHost.BuildAsync((host ?? new HostSettings()).WithFreePorts(), settings, embedded: true, cancellationToken: cancellationToken, verbose: connection.Verbose);
        try
        {
            await silo.StartAsync(cancellationToken);
        }
        catch
        {
            silo.Dispose();
            throw;
        }

        return AgentsClient.FromHost(silo, connection);
    }

    /// <summary>The client-side settings of <paramref name="connection"/> taken from <paramref name="settings"/> (pool, keepalive, write buffer).</summary>
    public static ClusterConnection WithSettings(this ClusterConnection connection, AgentsSettings settings) => connection with
    {
        ConnectionPoolSize = settings.Performance.ConnectionPoolSize,
        KeepaliveInterval = settings.Performance.KeepaliveInterval,
        WriteBufferSize = settings.Performance.WriteBufferSize,
    };
}
