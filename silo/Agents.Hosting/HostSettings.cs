using System.Net;
using System.Net.Sockets;

namespace Agents.Hosting;

/// <summary>Where a silo or client runs and which cluster it joins: from the command line, else <c>P2P_*</c> variables.</summary>
public sealed record HostSettings
{
    /// <summary>First silo port; instance N listens on <c>SiloPortBase + N</c>.</summary>
    public const int SiloPortBase = 11111;

    /// <summary>First gateway port; instance N listens on <c>GatewayPortBase + N</c>.</summary>
    public const int GatewayPortBase = 30000;

    /// <summary>Offsets every port so several silos run on one host (<c>--instance</c>, <c>P2P_INSTANCE</c>).</summary>
    public int Instance { get; init; }

    /// <summary>PostgreSQL connection string of the cluster (<c>--cluster</c>, <c>P2P_CLUSTER</c>); null runs embedded.</summary>
    public string? Cluster { get; init; }

    /// <summary>
    /// The primary silo of a development cluster this silo joins without a database (<c>--primary host:port</c>,
    /// <c>P2P_PRIMARY</c>: the primary's silo port); null with no <see cref="Cluster"/>: this silo is its own primary.
    /// </summary>
    public IPEndPoint? Primary { get; init; }

    /// <summary>Static gateways (<c>--gateway host:port</c>, <c>P2P_GATEWAYS</c> comma-separated), for clients.</summary>
    public IReadOnlyList<string> Gateways { get; init; } = [];

    /// <summary>
    /// How long a client tries to reach the cluster before it gives up (<c>--connect-timeout</c>,
    /// <c>P2P_CONNECT_TIMEOUT</c>); null: the command's default.
    /// </summary>
    public TimeSpan? ConnectTimeout { get; init; }

    /// <summary>Where embedded data lives (<c>--data-dir</c>, <c>P2P_DATA_DIR</c>).</summary>
    public string DataDirectory { get; init; } = DefaultDataDirectory();

    /// <summary>The <c>performance.yaml</c> to read (<c>--config</c>, <c>P2P_CONFIG</c>).</summary>
    public string? ConfigPath { get; init; }

    /// <summary>Applies <c>deploy/sql</c> to the cluster database before starting (<c>--init-schema</c>, <c>P2P_INIT_SCHEMA=true</c>).</summary>
    public bool InitSchema { get; init; }

    /// <summary>
    /// The address other silos and clients reach this silo at, where it listens, and where <c>/metrics</c> and the
    /// dashboard bind (<c>--address</c>, <c>P2P_ADDRESS</c>: an IP or a resolvable host name); loopback by default.
    /// </summary>
    public IPAddress AdvertisedAddress { get; init; } = IPAddress.Loopback;

    /// <summary>
    /// Port of the Prometheus endpoint <c>/metrics</c> (<c>--metrics-port</c>, <c>P2P_METRICS_PORT</c>): 9464 + instance
    /// for a silo process, none for a command's embedded silo unless given; 0 turns it off.
    /// </summary>
    public int? MetricsPort { get; init; }

    /// <summary>
    /// Port of the Orleans dashboard (<c>--dashboard-port</c>, <c>P2P_DASHBOARD_PORT</c>): 8080 + instance for a silo
    /// process, none for a command's embedded silo unless given; 0 turns it off.
    /// </summary>
    public int? DashboardPort { get; init; }

    /// <summary>Mutual TLS on silo and gateway connections (<c>P2P_TLS_CERT</c>, <c>P2P_TLS_CERT_PASSWORD</c>, <c>P2P_TLS_CA</c>); null: plain TCP.</summary>
    public TlsSettings? Tls { get; init; }

    /// <summary>Credentials <c>/metrics</c> and the dashboard demand (<c>P2P_HTTP_AUTH=user:password</c>); null: none.</summary>
    public HttpBasicAuthentication? HttpAuth { get; init; }

    /// <summary>Explicit silo port; overrides the instance offset (the embedded CLI picks free ports).</summary>
    public int? SiloPort { get; init; }

    /// <summary>Explicit gateway port; overrides the instance offset.</summary>
    public int? GatewayPort { get; init; }

    /// <summary>The silo-to-silo port in use.</summary>
    public int EffectiveSiloPort => SiloPort ?? SiloPortBase + Instance;

    /// <summary>The client gateway port in use.</summary>
    public int EffectiveGatewayPort => GatewayPort ?? GatewayPortBase + Instance;

    /// <summary>These settings with free loopback ports wherever no silo or gateway port was given (an in-process silo).</summary>
    public HostSettings WithFreePorts() => this with { SiloPort = SiloPort ?? FreeLoopbackPort(), GatewayPort = GatewayPort ?? FreeLoopbackPort() };

    /// <summary>True when no cluster is named: one in-process silo with localhost clustering.</summary>
    public bool IsEmbedded => string.IsNullOrWhiteSpace(Cluster) && Gateways.Count == 0;

    // The record's generated ToString would print the connection string, password and all.
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append($"Instance = {Instance}, Cluster = {(Cluster is null ? "null" : "(not shown)")}, Primary = {Primary?.ToString() ?? "null"}, Gateways = [{string.Join(", ", Gateways)}], ");
        builder.Append($"AdvertisedAddress = {AdvertisedAddress}, SiloPort = {EffectiveSiloPort}, GatewayPort = {EffectiveGatewayPort}, ");
        builder.Append($"MetricsPort = {MetricsPort}, DashboardPort = {DashboardPort}, Tls = {Tls?.ToString() ?? "null"}, HttpAuth = {HttpAuth?.ToString() ?? "null"}");
        return true;
    }

    /// <summary>The user's data folder for embedded data.</summary>
    public static string DefaultDataDirectory()
    {
        var xdg = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
        var root = string.IsNullOrEmpty(xdg)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share")
            : xdg;
        return Path.Combine(root, "p2p-ai-agents");
    }

    /// <summary>
    /// Reads <c>P2P_INSTANCE</c>, <c>P2P_CLUSTER</c>, <c>P2P_PRIMARY</c>, <c>P2P_GATEWAYS</c>, <c>P2P_CONNECT_TIMEOUT</c>, <c>P2P_DATA_DIR</c>, <c>P2P_CONFIG</c>,
    /// <c>P2P_INIT_SCHEMA</c>, the ports, <c>P2P_TLS_*</c> and <c>P2P_HTTP_AUTH</c>.
    /// </summary>
    public static HostSettings FromEnvironment(IReadOnlyDictionary<string, string?> environment)
    {
        var settings = new HostSettings
        {
            Tls = TlsSettings.FromEnvironment(environment),
            HttpAuth = HttpBasicAuthentication.FromEnvironment(environment),
        };
        if (environment.TryGetValue("P2P_INSTANCE", out var instance) && !string.IsNullOrEmpty(instance))
        {
            settings = settings with { Instance = ParseInstance(instance, "P2P_INSTANCE") };
        }

        if (environment.TryGetValue("P2P_ADDRESS", out var address) && !string.IsNullOrWhiteSpace(address))
        {
            settings = settings with { AdvertisedAddress = ParseAddress(address, "P2P_ADDRESS") };
        }

        if (environment.TryGetValue("P2P_CLUSTER", out var cluster) && !string.IsNullOrWhiteSpace(cluster))
        {
            settings = settings with { Cluster = cluster };
        }

        if (environment.TryGetValue("P2P_PRIMARY", out var primary) && !string.IsNullOrWhiteSpace(primary))
        {
            settings = settings with { Primary = ParseEndpoint(primary, "P2P_PRIMARY") };
        }

        if (environment.TryGetValue("P2P_GATEWAYS", out var gateways) && !string.IsNullOrWhiteSpace(gateways))
        {
            settings = settings with { Gateways = gateways.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) };
        }

        if (environment.TryGetValue("P2P_CONNECT_TIMEOUT", out var connectTimeout) && !string.IsNullOrWhiteSpace(connectTimeout))
        {
            settings = settings with
            {
                ConnectTimeout = ValueParsers.TryParseDuration(connectTimeout, out var d) && d > TimeSpan.Zero ? d
                    : throw new ConfigurationException($"P2P_CONNECT_TIMEOUT: '{connectTimeout}' is not a positive duration such as 15s or 2m."),
            };
        }

        if (environment.TryGetValue("P2P_DATA_DIR", out var dataDir) && !string.IsNullOrWhiteSpace(dataDir))
        {
            settings = settings with { DataDirectory = dataDir };
        }

        if (environment.TryGetValue("P2P_METRICS_PORT", out var metricsPort) && !string.IsNullOrWhiteSpace(metricsPort))
        {
            settings = settings with { MetricsPort = ParsePort(metricsPort, "P2P_METRICS_PORT") };
        }

        if (environment.TryGetValue("P2P_DASHBOARD_PORT", out var dashboardPort) && !string.IsNullOrWhiteSpace(dashboardPort))
        {
            settings = settings with { DashboardPort = ParsePort(dashboardPort, "P2P_DASHBOARD_PORT") };
        }

        if (environment.TryGetValue("P2P_CONFIG", out var config) && !string.IsNullOrWhiteSpace(config))
        {
            settings = settings with { ConfigPath = config };
        }

        if (environment.TryGetValue("P2P_INIT_SCHEMA", out var init) && !string.IsNullOrWhiteSpace(init))
        {
            settings = settings with
            {
                InitSchema = bool.TryParse(init, out var b) ? b
                    : throw new ConfigurationException($"P2P_INIT_SCHEMA: '{init}' is not true or false."),
            };
        }

        return settings;
    }

    /// <summary>An IP address, or a host name resolved to its first IPv4 address (see <see cref="Endpoints.ParseAddress"/>).</summary>
    public static IPAddress ParseAddress(string text, string name) => Endpoints.ParseAddress(text, name);

    /// <summary>Parses an instance number, 0..999.</summary>
    public static int ParseInstance(string text, string name) =>
        int.TryParse(text, out var n) && n is >= 0 and < 1000
            ? n
            : throw new ConfigurationException($"{name}: '{text}' is not an instance number in [0, 999].");

    /// <summary>Parses a TCP port (0 allowed: off).</summary>
    public static int ParsePort(string text, string name) =>
        int.TryParse(text, out var n) && n is >= 0 and <= 65535
            ? n
            : throw new ConfigurationException($"{name}: '{text}' is not a port in [0, 65535].");

    /// <summary>Parses <c>host:port</c> gateways.</summary>
    public IReadOnlyList<IPEndPoint> GatewayEndpoints() => Gateways.Select(Endpoints.ParseGateway).ToList();

    /// <summary>Parses <c>host:port</c> (see <see cref="Endpoints.ParseEndpoint"/>).</summary>
    public static IPEndPoint ParseEndpoint(string text, string name) => Endpoints.ParseEndpoint(text, name);

    /// <summary>An instance number (100..998), not among <paramref name="taken"/>, whose silo and gateway ports are both free now.</summary>
    public static int FreeInstance(IEnumerable<int>? taken = null)
    {
        var used = taken?.ToHashSet() ?? [];
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var instance = Random.Shared.Next(100, 999);
            if (!used.Contains(instance) && IsFree(SiloPortBase + instance) && IsFree(GatewayPortBase + instance))
            {
                return instance;
            }
        }

        throw new InvalidOperationException("No free pair of silo and gateway ports was found.");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
