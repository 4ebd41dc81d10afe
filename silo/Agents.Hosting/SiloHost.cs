using System.Net;
using Agents.Engine;
using Agents.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Orleans.Configuration;
using Orleans.Dashboard;
using Orleans.Hosting;

namespace Agents.Hosting;

/// <summary>Builds the silo process from its command line and environment; used by the silo, the embedded CLI and tests.</summary>
public static class SiloHost
{
    /// <summary>The silo's command-line usage.</summary>
    public const string Usage =
        "Agents.Silo [--instance N] [--cluster \"<postgres connection string>\"] [--primary HOST:PORT] [--init-schema] [--config performance.yaml] [--data-dir DIR] [--address IP] [--metrics-port N] [--dashboard-port N]";

    /// <summary>What <c>Agents.Silo --help</c> prints.</summary>
    public static readonly string Help = $"""
        Agents.Silo: one silo of an Agents cluster.

        Usage:
          {Usage}

        Options (each also a P2P_* variable; the command line wins):
          --instance N            offsets the silo (11111+N), gateway (30000+N), /metrics (9464+N) and dashboard (8080+N) ports  P2P_INSTANCE
          --cluster CONNECTION    PostgreSQL connection string: join the cluster in its membership table (pass it by environment)  P2P_CLUSTER
          --primary HOST:PORT     join a development cluster (no database) through its primary's silo port  P2P_PRIMARY
          --init-schema           create the cluster's tables in --cluster's database first  P2P_INIT_SCHEMA=true
          --config FILE           performance.yaml (default: the one beside this executable)  P2P_CONFIG
          --data-dir DIR          where collections live without a cluster database  P2P_DATA_DIR
          --address IP            the address to listen and advertise on (default 127.0.0.1)  P2P_ADDRESS
          --metrics-port N        Prometheus /metrics (0: off)  P2P_METRICS_PORT
          --dashboard-port N      the Orleans dashboard (0: off)  P2P_DASHBOARD_PORT
          -h, --help              show this help

        Examples:
          Agents.Silo
          P2P_CLUSTER="Host=db;Username=agents;Password=..." Agents.Silo --instance 1 --init-schema
          Agents.Silo --instance 2 --primary 127.0.0.1:11111 --dashboard-port 0

        """;

    /// <summary>True when the arguments ask for help (<c>-h</c>, <c>--help</c>, <c>-?</c>) anywhere.</summary>
    public static bool AsksForHelp(string[] args) => args.Any(a => a is "-h" or "--help" or "-?" or "help");

    /// <summary>
    /// The line a started silo prints: where its gateway, silo port, dashboard and <c>/metrics</c> are, and which cluster
    /// it joined (without secrets).
    /// </summary>
    public static string Describe(HostSettings host, HttpPorts ports)
    {
        var address = host.AdvertisedAddress;
        var cluster = host.Cluster is { } pg ? $"cluster via PostgreSQL {PostgresConnection.Describe(pg)}"
            : host.Primary is { } primary ? $"development cluster of primary {primary}"
            : "development cluster (its own primary)";
        string Http(int port, string path) => port > 0 ? $"http://{address}:{port}{path}" : "off";
        return $"silo {host.Instance} started: gateway {address}:{host.EffectiveGatewayPort}, silo port {address}:{host.EffectiveSiloPort}, " +
            $"dashboard {Http(ports.Dashboard, "/")}, metrics {Http(ports.Metrics, "/metrics")}; {cluster}";
    }

    /// <summary>Reads the silo's arguments over its <c>P2P_*</c> variables; throws <see cref="ConfigurationException"/> naming what is wrong.</summary>
    public static (HostSettings Host, AgentsSettings Settings) Parse(string[] args, IReadOnlyDictionary<string, string?> environment)
    {
        var host = HostSettings.FromEnvironment(environment);
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ConfigurationException($"{args[i]} needs a value; see Agents.Silo --help.");
            host = args[i] switch
            {
                "--instance" or "--InstanceId" => host with { Instance = HostSettings.ParseInstance(Value(), "--instance") },
                "--cluster" => host with { Cluster = Value() },
                "--primary" => host with { Primary = HostSettings.ParseEndpoint(Value(), "--primary") },
                "--init-schema" => host with { InitSchema = true },
                "--config" => host with { ConfigPath = Value() },
                "--data-dir" => host with { DataDirectory = Value() },
                "--metrics-port" => host with { MetricsPort = HostSettings.ParsePort(Value(), "--metrics-port") },
                "--dashboard-port" => host with { DashboardPort = HostSettings.ParsePort(Value(), "--dashboard-port") },
                "--address" => host with { AdvertisedAddress = HostSettings.ParseAddress(Value(), "--address") },
                _ => throw new ConfigurationException($"Unknown argument '{args[i]}'; see Agents.Silo --help."),
            };
        }

        if (host.InitSchema && string.IsNullOrWhiteSpace(host.Cluster))
        {
            throw new ConfigurationException("--init-schema needs a cluster: give --cluster or P2P_CLUSTER.");
        }

        if (host.Primary is not null && !string.IsNullOrWhiteSpace(host.Cluster))
        {
            throw new ConfigurationException("--primary (P2P_PRIMARY) joins a development cluster without a database; a silo with --cluster (P2P_CLUSTER) joins through PostgreSQL: give one.");
        }

        // Certificate files are opened now, so a missing file or a wrong password stops start-up with its variable's name.
        host.Tls?.Load(server: true);

        var configPath = host.ConfigPath ?? DefaultConfigPath();
        return (host, AgentsConfiguration.Load(configPath, environment));
    }

    /// <summary>The <c>performance.yaml</c> shipped beside the executable, if any.</summary>
    public static string? DefaultConfigPath()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "performance.yaml");
        return File.Exists(path) ? path : null;
    }

    /// <summary>The Prometheus port of instance 0 (the OpenTelemetry exporter's conventional port).</summary>
    public const int MetricsPortBase = 9464;

    /// <summary>The OpenTelemetry <c>service.name</c> of a silo (unless <c>OTEL_SERVICE_NAME</c> says otherwise).</summary>
    public const string ServiceName = "agents-silo";

    /// <summary>The OpenTelemetry <c>service.instance.id</c> of a silo: its machine (a pod's name in Kubernetes) and instance.</summary>
    public static string ServiceInstanceId(HostSettings host)
    {
        ArgumentNullException.ThrowIfNull(host);
        return $"{Environment.MachineName}/{host.Instance}";
    }

    /// <summary>
    /// OpenTelemetry: our meter and Orleans' for Prometheus, served at <c>/metrics</c> by the silo's Kestrel (see
    /// <see cref="MapHttpEndpoints"/>); traces of grain calls to an OTLP collector when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.
    /// The resource names the service (<c>agents-silo</c>) and the silo; Prometheus shows it as <c>target_info</c>.
    /// </summary>
    private static void AddTelemetry(IHostApplicationBuilder builder, HostSettings host)
    {
        var telemetry = builder.Services.AddOpenTelemetry();
        var name = Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME") is { Length: > 0 } given ? given : ServiceName;
        telemetry.ConfigureResource(resource => resource.AddService(
            name, serviceVersion: typeof(SiloHost).Assembly.GetName().Version?.ToString(), autoGenerateServiceInstanceId: false,
            serviceInstanceId: ServiceInstanceId(host)));
        telemetry.WithMetrics(metrics => metrics
            .AddMeter(AgentsMetrics.MeterName, "Microsoft.Orleans")
            .AddPrometheusExporter());
        if (!string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT")))
        {
            telemetry.WithTracing(tracing => tracing
                .AddSource("Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application")
                .AddOtlpExporter());
        }
    }

    /// <summary>
    /// A host builder rooted at the executable's folder that does not watch its configuration files: a watcher on
    /// the current directory costs CPU whenever anything there changes, and nothing here reloads.
    /// </summary>
    public static HostApplicationBuilder CreateBuilder()
    {
        var configuration = new ConfigurationManager();
        configuration["hostBuilder:reloadConfigOnChange"] = "false";
        return Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Configuration = configuration,
            ContentRootPath = AppContext.BaseDirectory,
        });
    }

    /// <summary>
    /// The HTTP ports of a silo (0: off): given ones, or the instance's conventional ports for a silo process, none for a
    /// command's own embedded silo. Throws <see cref="ConfigurationException"/> when both are the same port.
    /// </summary>
    public static HttpPorts HttpPortsOf(HostSettings host, bool embedded = false)
    {
        var ports = new HttpPorts(
            host.MetricsPort ?? (embedded ? 0 : MetricsPortBase + host.Instance),
            host.DashboardPort ?? (embedded ? 0 : DashboardPortBase + host.Instance));
        if (ports.Metrics > 0 && ports.Metrics == ports.Dashboard)
        {
            throw new ConfigurationException($"The metrics and the dashboard port (--metrics-port / P2P_METRICS_PORT, --dashboard-port / P2P_DASHBOARD_PORT) are both {ports.Metrics}: give them different ports.");
        }

        return ports;
    }

    /// <summary>
    /// What comes before the host: the certificate files are opened (so a bad one stops start-up naming its variable),
    /// the PostgreSQL schema is applied when asked, and the thread pool takes <c>worker_threads</c>.
    /// </summary>
    public static async Task PrepareAsync(HostSettings host, AgentsSettings settings, CancellationToken cancellationToken = default)
    {
        host.Tls?.Load(server: true);
        if (host.InitSchema && host.Cluster is { } cluster)
        {
            await ClusterSchema.ApplyAsync(ClusterSchema.Connection(cluster, settings.Performance), cancellationToken);
        }

        ThreadPoolLimits.Apply(settings.Performance);
    }

    /// <summary>
    /// The silo's host builder: Kestrel on the advertised address when it serves <c>/metrics</c> or the dashboard,
    /// OpenTelemetry when it serves <c>/metrics</c>, and the product's log levels (an embedded silo logs warnings to
    /// stderr, so a command's output stays its own).
    /// </summary>
    public static IHostApplicationBuilder CreateBuilder(HostSettings host, HttpPorts ports, bool embedded = false, bool verbose = false)
    {
        IHostApplicationBuilder builder = ports.Metrics > 0 || ports.Dashboard > 0 ? CreateWebBuilder(host, ports.Metrics, ports.Dashboard) : CreateBuilder();
        if (embedded)
        {
            // A command's own silo logs as the command does: stderr only, Orleans' own lines with --verbose.
            builder.Logging.AddCommandLogging(verbose);
            builder.Services.AddSingleton<IHostLifetime, InProcessHostLifetime>();
        }
        else
        {
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.Logging.AddFilter("Agents", LogLevel.Information);
        }

        if (ports.Metrics > 0)
        {
            AddTelemetry(builder, host);
        }

        return builder;
    }

    /// <summary>Adds the Orleans dashboard when the silo serves one, and lets host configuration tune failure detection.</summary>
    public static ISiloBuilder UseAgentsOperations(this ISiloBuilder silo, HttpPorts ports, IConfiguration configuration)
    {
        if (ports.Dashboard > 0)
        {
            silo.AddDashboard();
        }

        // Host configuration can override the default failure detection (e.g. Membership__ProbeTimeout=00:00:02).
        silo.Services.Configure<ClusterMembershipOptions>(configuration.GetSection("Membership"));
        return silo;
    }

    /// <summary>Builds the host, mapping <c>/metrics</c> and the dashboard on their ports when it serves HTTP.</summary>
    public static IHost Build(IHostApplicationBuilder builder, HostSettings host, HttpPorts ports)
    {
        if (builder is WebApplicationBuilder web)
        {
            var app = web.Build();
            MapHttpEndpoints(app, host.HttpAuth, ports.Metrics, ports.Dashboard);
            return app;
        }

        return ((HostApplicationBuilder)builder).Build();
    }

    /// <summary>
    /// The steps of <c>silo/Agents.Silo/Program.cs</c> in one call, for embedded mode and tests: prepares, then
    /// builds a host running one silo (<paramref name="configure"/> adds to it).
    /// </summary>
    public static async Task<IHost> BuildAsync(
        HostSettings host, AgentsSettings settings, Action<ISiloBuilder>? configure = null, bool embedded = false, CancellationToken cancellationToken = default,
        bool verbose = false)
    {
        var ports = HttpPortsOf(host, embedded);
        await PrepareAsync(host, settings, cancellationToken);
        var builder = CreateBuilder(host, ports, embedded, verbose);
        builder.UseOrleans(silo =>
        {
            silo.UseAgentsClustering(host, settings).AddAgents(settings).UseAgentsTls(host.Tls).UseAgentsOperations(ports, builder.Configuration);
            configure?.Invoke(silo);
        });
        return Build(builder, host, ports);
    }

    /// <summary>The dashboard's port for instance 0.</summary>
    public const int DashboardPortBase = 8080;

    /// <summary>As <see cref="CreateBuilder"/>, with Kestrel on the advertised address (loopback by default) at the metrics and dashboard ports in use.</summary>
    private static WebApplicationBuilder CreateWebBuilder(HostSettings host, int metricsPort, int dashboardPort)
    {
        // As in CreateBuilder, no configuration file watcher; it has to be said before the builder reads its sources.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });
        builder.WebHost.UseKestrel(o =>
        {
            foreach (var port in new[] { metricsPort, dashboardPort }.Where(p => p > 0))
            {
                o.Listen(host.AdvertisedAddress, port);
            }
        });
        return builder;
    }

    /// <summary>
    /// One Kestrel, two ports: <c>/metrics</c> only on the metrics port, the dashboard only on the dashboard port, and
    /// both behind HTTP Basic authentication when <paramref name="auth"/> is set.
    /// </summary>
    private static void MapHttpEndpoints(WebApplication app, HttpBasicAuthentication? auth, int metricsPort, int dashboardPort)
    {
        if (auth is not null)
        {
            app.Use(auth.InvokeAsync);
        }

        if (metricsPort > 0)
        {
            app.UseOpenTelemetryPrometheusScrapingEndpoint(c => c.Connection.LocalPort == metricsPort && c.Request.Path == "/metrics");
            // The metrics port serves nothing else, so the dashboard is not reachable through it.
            app.Use((context, next) =>
            {
                if (context.Connection.LocalPort != metricsPort)
                {
                    return next(context);
                }

                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            });
        }

        if (dashboardPort > 0)
        {
            app.MapOrleansDashboard();
        }
    }
}

/// <summary>The ports a silo serves HTTP on: Prometheus <c>/metrics</c> and the Orleans dashboard (0: off).</summary>
public sealed record HttpPorts(int Metrics, int Dashboard);
