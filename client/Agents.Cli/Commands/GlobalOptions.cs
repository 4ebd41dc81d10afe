using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Agents.Cli;

/// <summary>
/// The options of the commands that reach a cluster (<see cref="AddConnection"/>) and of those that print results
/// (<see cref="AddJson"/>); each command takes only those that do something for it.
/// </summary>
internal static class GlobalOptions
{
    /// <summary>How long connecting may take unless told otherwise (as <c>kubectl</c>'s request timeout, a duration).</summary>
    public static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(15);

    /// <summary><c>--cluster</c>: the PostgreSQL membership database.</summary>
    public static readonly Option<string?> Cluster = new("--cluster")
    {
        Description = "PostgreSQL connection string of the cluster (or P2P_CLUSTER); with neither this nor --gateway, an embedded silo runs in this process.",
        HelpName = "connection-string",
    };

    /// <summary><c>--gateway</c>: gateways of a running cluster.</summary>
    public static readonly Option<string[]> Gateway = new("--gateway")
    {
        Description = "A gateway host:port of a running cluster (repeatable; or P2P_GATEWAYS, comma-separated).",
        HelpName = "host:port",
        AllowMultipleArgumentsPerToken = false,
    };

    /// <summary><c>--connect-timeout</c>: how long to try to reach the cluster.</summary>
    public static readonly Option<string?> ConnectTimeout = new("--connect-timeout")
    {
        Description = "Give up reaching --cluster or --gateway after this long, with exit code 3 (or P2P_CONNECT_TIMEOUT; e.g. 30s, 2m). [default: 15s]",
        HelpName = "duration",
    };

    /// <summary><c>--config</c>: performance.yaml.</summary>
    public static readonly Option<string?> Config = new("--config")
    {
        Description = "performance.yaml for the embedded silo and the client (or P2P_CONFIG).",
        HelpName = "file",
    };

    /// <summary><c>--data-dir</c>: where the embedded silo keeps collections.</summary>
    public static readonly Option<string?> DataDir = new("--data-dir")
    {
        Description = "Where the embedded silo keeps collections (or P2P_DATA_DIR; default $XDG_DATA_HOME/p2p-ai-agents).",
        HelpName = "dir",
    };

    /// <summary><c>-v</c>, <c>--verbose</c>: Orleans' and the runtime's own log lines on stderr.</summary>
    public static readonly Option<bool> Verbose = new("--verbose", "-v") { Description = "Also log Orleans' and the runtime's own lines (information and up) to stderr." };

    /// <summary><c>--json</c>: machine-readable output.</summary>
    public static readonly Option<bool> Json = new("--json") { Description = "Print machine-readable JSON." };

    /// <summary>How <c>--json</c> output is written.</summary>
    public static readonly JsonSerializerOptions JsonOutput = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        // Text as itself (café, not caf\u00e9): the output is a UTF-8 stream, not HTML to be embedded.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        // Enums by their command-line names (cosine, hnsw, round-robin), as the options take them.
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    /// <summary>
    /// Adds the options that say which cluster <paramref name="command"/> works on; <paramref name="dataDir"/> for the
    /// commands whose embedded silo keeps collections.
    /// </summary>
    public static Command AddConnection(this Command command, bool dataDir = true)
    {
        command.Options.Add(Cluster);
        command.Options.Add(Gateway);
        command.Options.Add(ConnectTimeout);
        command.Options.Add(Config);
        if (dataDir)
        {
            command.Options.Add(DataDir);
        }

        command.Options.Add(Verbose);
        return command;
    }

    /// <summary>Adds <c>--json</c> to a command that prints results.</summary>
    public static Command AddJson(this Command command)
    {
        command.Options.Add(Json);
        return command;
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

        if (parse.GetResult(DataDir) is not null && parse.GetValue(DataDir) is { } dataDir)
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
        var timeout = parse.GetValue(ConnectTimeout) is { } text ? ParseTimeout(text) : host.ConnectTimeout ?? DefaultConnectTimeout;
        var connection = new ClusterConnection
        {
            PostgreSql = cluster,
            Gateways = gateways.ToList(),
            Tls = host.Tls,
            ConnectTimeout = timeout,
            Verbose = parse.GetResult(Verbose) is not null && parse.GetValue(Verbose),
        }.WithSettings(settings);
        return new Target(connection, settings, host);
    }

    private static TimeSpan ParseTimeout(string text) =>
        ValueParsers.TryParseDuration(text, out var d) && d > TimeSpan.Zero
            ? d
            : throw new ArgumentException($"--connect-timeout '{text}' is not a positive duration such as 15s or 2m.");

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
