using Agents.Grains.Configuration;
using Agents.Grains.Hosting;

namespace Agents.Client;

/// <summary>How to reach a cluster: embedded (a silo in this process), static gateways, or the PostgreSQL membership table.</summary>
public sealed record ClusterConnection
{
    /// <summary>PostgreSQL connection string of the cluster's membership table.</summary>
    public string? PostgreSql { get; init; }

    /// <summary>Gateways as <c>host:port</c>.</summary>
    public IReadOnlyList<string> Gateways { get; init; } = [];

    /// <summary>Settings of the embedded silo and of the client's database pool.</summary>
    public AgentsSettings Settings { get; init; } = new();

    /// <summary>Mutual TLS to the gateways (as the silos' <c>P2P_TLS_*</c>); null connects in plain TCP.</summary>
    public TlsSettings? Tls { get; init; }

    /// <summary>Ports of the embedded silo; null picks free ports.</summary>
    public HostSettings? EmbeddedHost { get; init; }

    /// <summary>True when neither a database nor gateways are given.</summary>
    public bool IsEmbedded => string.IsNullOrWhiteSpace(PostgreSql) && Gateways.Count == 0;

    /// <summary>One in-process silo.</summary>
    public static ClusterConnection Embedded(AgentsSettings? settings = null) => new() { Settings = settings ?? new() };

    /// <summary>A cluster found through its PostgreSQL membership table.</summary>
    public static ClusterConnection Postgres(string connectionString, AgentsSettings? settings = null) =>
        new() { PostgreSql = connectionString, Settings = settings ?? new() };

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
