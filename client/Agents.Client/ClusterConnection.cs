namespace Agents.Client;

/// <summary>How to reach a cluster: embedded (a silo in this process), static gateways, or the PostgreSQL membership table.</summary>
public sealed record ClusterConnection
{
    /// <summary>PostgreSQL connection string of the cluster's membership table.</summary>
    public string? PostgreSql { get; init; }

    /// <summary>Gateways as <c>host:port</c>.</summary>
    public IReadOnlyList<string> Gateways { get; init; } = [];

    /// <summary>Connections the client's pool to the membership database holds at most (<c>connection_pool_size</c>).</summary>
    public int ConnectionPoolSize { get; init; } = 20;

    /// <summary>TCP keepalive of the client's database connections (<c>keepalive_interval</c>).</summary>
    public TimeSpan KeepaliveInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Bytes of points per upsert call the client sends at most (<c>write_buffer_size</c>).</summary>
    public long WriteBufferSize { get; init; } = 8L << 20;

    /// <summary>Mutual TLS to the gateways (as the silos' <c>P2P_TLS_*</c>); null connects in plain TCP.</summary>
    public TlsSettings? Tls { get; init; }

    /// <summary>
    /// How long connecting may take before it gives up with <see cref="ClusterUnreachableException"/>; null keeps
    /// trying until the caller's token is cancelled.
    /// </summary>
    public TimeSpan? ConnectTimeout { get; init; }

    /// <summary>Shows Orleans', Microsoft's and Npgsql's own log lines (information and up) on stderr; otherwise only this product's warnings.</summary>
    public bool Verbose { get; init; }

    /// <summary>True when neither a database nor gateways are given: the caller hosts a silo of its own (Agents.Hosting's embedded mode).</summary>
    public bool IsEmbedded => string.IsNullOrWhiteSpace(PostgreSql) && Gateways.Count == 0;

    /// <summary>No cluster named: a silo in this process (see <c>Agents.Hosting.EmbeddedCluster</c>).</summary>
    public static ClusterConnection Embedded() => new();

    /// <summary>A cluster found through its PostgreSQL membership table.</summary>
    public static ClusterConnection Postgres(string connectionString) => new() { PostgreSql = connectionString };

    /// <summary>A cluster reached through static gateways.</summary>
    public static ClusterConnection Gateway(params string[] gateways) => new() { Gateways = gateways };

    /// <summary>A description without secrets.</summary>
    public string Describe() => IsEmbedded ? "embedded silo"
        : (PostgreSql is { } pg ? $"cluster via PostgreSQL {PostgresConnection.Describe(pg)}" : $"cluster via gateways {string.Join(", ", Gateways)}")
          + (Tls is null ? "" : " over TLS");

    // The record's generated ToString would print the connection string, password and all.
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append($"PostgreSql = {(PostgreSql is null ? "null" : "(not shown)")}, Gateways = [{string.Join(", ", Gateways)}], Tls = {Tls?.ToString() ?? "null"}");
        return true;
    }
}
