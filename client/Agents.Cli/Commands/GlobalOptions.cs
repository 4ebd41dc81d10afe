using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Agents.Cli;

/// <summary>The options every command takes, and the cluster they name.</summary>
internal static class GlobalOptions
{
    /// <summary><c>--cluster</c>: the PostgreSQL membership database.</summary>
    public static readonly Option<string?> Cluster = new("--cluster")
    {
        Description = "PostgreSQL connection string of the cluster (or P2P_CLUSTER); with neither this nor --gateway, an embedded silo runs in this process.",
        Recursive = true,
    };

    /// <summary><c>--gateway</c>: gateways of a running cluster.</summary>
    public static readonly Option<string[]> Gateway = new("--gateway")
    {
        Description = "A gateway host:port (repeatable; or P2P_GATEWAYS, comma-separated).",
        Recursive = true,
        AllowMultipleArgumentsPerToken = false,
    };

    /// <summary><c>--config</c>: performance.yaml.</summary>
    public static readonly Option<string?> Config = new("--config")
    {
        Description = "performance.yaml for the embedded silo and the client (or P2P_CONFIG).",
        Recursive = true,
    };

    /// <summary><c>--data-dir</c>: where the embedded silo keeps collections.</summary>
    public static readonly Option<string?> DataDir = new("--data-dir")
    {
        Description = "Where the embedded silo keeps collections (or P2P_DATA_DIR; default $XDG_DATA_HOME/p2p-ai-agents).",
        Recursive = true,
    };

    /// <summary><c>--json</c>: machine-readable output.</summary>
    public static readonly Option<bool> Json = new("--json") { Description = "Print machine-readable JSON.", Recursive = true };

    /// <summary>How <c>--json</c> output is written.</summary>
    public static readonly JsonSerializerOptions JsonOutput = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        // Text as itself (café, not caf\u00e9): the output is a UTF-8 stream, not HTML to be embedded.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        // Enums by their command-line names (cosine, hnsw, round-robin), as the options take them.
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    /// <summary>Adds the options to <paramref name="root"/>; they apply to every subcommand.</summary>
    public static void AddTo(RootCommand root)
    {
        root.Options.Add(Cluster);
        root.Options.Add(Gateway);
        root.Options.Add(Config);
        root.Options.Add(DataDir);
        root.Options.Add(Json);
    }

    /// <summary>The cluster to use: options over <c>P2P_*</c> variables; neither means embedded.</summary>
    public static Target Connection(ParseResult parse) => Connection(parse, out _);

    /// <summary>The cluster to use: options over <c>P2P_*</c> variables; neither means embedded.</summary>
    public static Target Connection(ParseResult parse, out AgentsSettings settings)
    {
        var environment = AgentsConfiguration.ReadEnvironment();
        var host = HostSettings.FromEnvironment(environment);
        if (host.Primary is not null)
        {
            // A command's own silo never joins a development cluster: a command reaches one through its gateways.
            throw new ArgumentException("P2P_PRIMARY is read by silo processes (Agents.Silo --primary); a command joins a cluster through --cluster or --gateway.");
        }

        if (parse.GetValue(DataDir) is { } dataDir)
        {
            host = host with { DataDirectory = dataDir };
        }

        settings = AgentsConfiguration.Load(parse.GetValue(Config) ?? host.ConfigPath, environment);
        var cluster = parse.GetValue(Cluster) ?? host.Cluster;
        if (!string.IsNullOrWhiteSpace(cluster))
        {
            // Checked before silo processes or a client are started with it.
            ClusterSchema.Connection(cluster, settings.Performance);
        }

        var gateways = parse.GetValue(Gateway) is { Length: > 0 } g ? g : host.Gateways;
        var connection = new ClusterConnection { PostgreSql = cluster, Gateways = gateways.ToList(), Tls = host.Tls }.WithSettings(settings);
        return new Target(connection, settings, host);
    }

    /// <summary>
    /// The connection of a benchmark, checked against its <c>--mode</c>: cluster needs one to join (or silos to start,
    /// <paramref name="startsSilos"/>), single-node none.
    /// </summary>
    public static Target ModeConnection(ParseResult parse, bool isCluster, bool startsSilos, out AgentsSettings settings)
    {
        var connection = Connection(parse, out settings);
        if (isCluster == connection.IsEmbedded && !(isCluster && startsSilos))
        {
            throw new ArgumentException(isCluster
                ? "--mode cluster needs a cluster: give --cluster \"<postgres connection string>\", --gateway host:port, or --nodes N to start N silos here."
                : "--mode single-node runs an embedded silo; drop --cluster/--gateway or use --mode cluster.");
        }

        return connection;
    }
}

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
