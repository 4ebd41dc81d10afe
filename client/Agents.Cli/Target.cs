namespace Agents.Cli;

/// <summary>
/// What a command works on: the cluster it names, or (naming none) a silo it hosts in this process with the settings
/// and ports given here.
/// </summary>
public sealed record Target(ClusterConnection Connection, AgentsSettings Settings, HostSettings Host)
{
    /// <summary>True when no cluster is named: the command hosts its own silo.</summary>
    public bool IsEmbedded => Connection.IsEmbedded;

    /// <summary>The PostgreSQL membership database, if named.</summary>
    public string? PostgreSql => Connection.PostgreSql;

    /// <summary>Connects, or starts the embedded silo.</summary>
    public Task<AgentsClient> ConnectAsync(CancellationToken cancellationToken) =>
        EmbeddedCluster.ConnectAsync(Connection, Settings, Host, cancellationToken);

    /// <summary>The same target reached through <paramref name="gateways"/>.</summary>
    public Target WithGateways(IReadOnlyList<string> gateways) => this with { Connection = Connection with { Gateways = gateways } };

    /// <summary>A description without secrets.</summary>
    public string Describe() => Connection.Describe();
}
