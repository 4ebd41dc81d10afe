using Agents.Engine;
using Agents.Hosting;
using Agents.Grains.Jobs;
using Agents.Engine.Text;
using Agents.Grains.Capabilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime.Placement;
using Orleans.Storage;

namespace Agents.Hosting;

/// <summary>Wires the product into a silo: one extension method per concern.</summary>
public static class AgentsSiloBuilderExtensions
{
    /// <summary>Registers the engines, the worker pool and the placement the grains need.</summary>
    public static ISiloBuilder AddAgents(this ISiloBuilder silo, AgentsSettings settings)
    {
        silo.Services.AddSingleton(settings);
        silo.Services.AddSingleton(settings.Performance);
        silo.Services.AddSingleton(_ => settings.Text.CreatePipeline());
        silo.Services.AddSingleton(_ => new DocumentCache(settings.Performance.DocumentCacheSize));
        silo.Services.AddSingleton<TextBatchProcessor>();
        silo.Services.AddSingleton<EmbeddingModel>();
        silo.Services.AddSingleton<Agents.Grains.Embeddings.EmbeddingBatchProcessor>();
        silo.Services.AddSingleton(_ => new WorkerPool(settings.Performance.WorkerThreads));
        silo.Services.AddSingleton<IBatchRunner, BatchRunner>();
        // Agents' routed asks from this silo share one holder cache and one count of requests in flight.
        silo.Services.AddSingleton(sp => new CapabilityRouter(sp.GetRequiredService<IGrainFactory>()));
        // Batch inputs stay on their silo unless a database was registered for them (UseAgentsClustering on PostgreSQL).
        silo.Services.TryAddKeyedSingleton<IGrainStorage>(JobStorage.Batches, (sp, _) => ActivatorUtilities.CreateInstance<SiloLocalGrainStorage>(sp));
        silo.Services.AddSingleton(_ => new Agents.Grains.Vectors.VectorMemoryBudget(settings.Performance.VectorCacheSize));
        DistanceKernels.UseSimd = settings.EnableSimd;
        silo.Services.AddPlacementDirector<SiloTargetedPlacement, SiloTargetedPlacementDirector>();
        silo.Services.AddPlacementDirector<RendezvousPlacement, RendezvousPlacementDirector>();
        silo.Services.AddPlacementDirector<Agents.Grains.Vectors.ShardPlacement, Agents.Grains.Vectors.ShardPlacementDirector>();
        // Agent topics: in-memory stream queues on every silo; subscriptions are kept in the PubSubStore grain storage.
        silo.AddMemoryStreams(Agents.Grains.Messaging.AgentGrain.StreamProvider);
        // Grain calls carry the caller's Activity, so a trace follows work across silos (exported by OpenTelemetry).
        silo.AddActivityPropagation();
        // The built-in capabilities on every silo, and the worker agents that hold them.
        silo.Services.AddBuiltInCapabilityServices().AddAgentHandlers(a => a.AddBuiltIns());
        silo.AddStartupTask<CapabilityWorkers>();
        silo.Services.AddSingleton<Agents.Grains.Metrics.NodeMetricsPublisher>();
        silo.Services.AddHostedService(sp => sp.GetRequiredService<Agents.Grains.Metrics.NodeMetricsPublisher>());
        // Grain state in Orleans' binary format: the default (Newtonsoft JSON) turns each document into base64 text.
        silo.Services.AddSingleton<IGrainStorageSerializer, OrleansGrainStorageSerializer>();
        silo.Services.Configure<ClusterMembershipOptions>(o =>
        {
            o.IAmAliveTablePublishTimeout = settings.Performance.KeepaliveInterval;
            UseFastFailureDetection(o);
        });
        return silo;
    }

    /// <summary>
    /// Failure detection that declares a killed silo dead in about 2-3 s, so the cluster is serving again within 5 s
    /// (Orleans' defaults take 10-15 s): a probe a second, suspicion after two missed, death on two votes. Orleans adapts
    /// each probe's timeout to the answers it sees (0.5-4 s) and lengthens it while the prober itself is degraded, so a
    /// loaded silo is not taken for a dead one; the soak run (docs/reliability.md) held this on two saturated cores with no eviction.
    /// The cost: a silo paused for more than ~4 s (a debugger, a stalled VM) is evicted and restarts. Any value can be
    /// overridden from configuration (<c>Membership__ProbeTimeout</c>, ...).
    /// </summary>
    public static void UseFastFailureDetection(ClusterMembershipOptions options)
    {
        options.ProbeTimeout = TimeSpan.FromSeconds(1);
        options.NumMissedProbesLimit = 2;
        options.NumVotesForDeathDeclaration = 2;
        options.TableRefreshTimeout = TimeSpan.FromSeconds(10);
    }

    /// <summary>
    /// True in a Kubernetes pod that gives the silo its identity (<c>POD_NAME</c>, <c>POD_NAMESPACE</c> and <c>POD_IP</c>
    /// from the downward API, as deploy/k8s/silo.yaml does), where <c>UseKubernetesHosting</c> takes over the endpoints.
    /// </summary>
    public static bool IsKubernetesPod(Func<string, string?> environment) =>
        new[] { "POD_NAME", "POD_NAMESPACE", "POD_IP" }.All(v => !string.IsNullOrWhiteSpace(environment(v)));

    /// <summary>
    /// Localhost (development) clustering and memory storage when <paramref name="host"/> names no cluster: the silo is
    /// its own primary, or joins the primary at <see cref="HostSettings.Primary"/>; ADO.NET clustering and storage on
    /// PostgreSQL otherwise. Ports come from <see cref="HostSettings"/>.
    /// </summary>
    public static ISiloBuilder UseAgentsClustering(this ISiloBuilder silo, HostSettings host, AgentsSettings settings)
    {
        silo.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = ClusterNames.ClusterId;
            o.ServiceId = ClusterNames.ClusterId;
        });
        if (string.IsNullOrWhiteSpace(host.Cluster))
        {
            // The primary keeps the membership table in memory; every silo of the cluster names the same one.
            silo.UseLocalhostClustering(host.EffectiveSiloPort, host.EffectiveGatewayPort, host.Primary, serviceId: ClusterNames.ClusterId, clusterId: ClusterNames.ClusterId);
            silo.AddMemoryGrainStorage(JobStorage.Name);
            silo.AddMemoryGrainStorage("PubSubStore");
            silo.Services.AddSingleton(_ => VectorStorage.Files(host.DataDirectory));
            return silo;
        }

        var connection = ClusterSchema.Connection(host.Cluster, settings.Performance);
        if (IsKubernetesPod(Environment.GetEnvironmentVariable))
        {
            // In a pod: named after the pod, advertising the pod IP, and dead silos' pods cleaned up (deploy/k8s).
            silo.UseKubernetesHosting();
        }
        else
        {
            silo.ConfigureEndpoints(host.AdvertisedAddress, host.EffectiveSiloPort, host.EffectiveGatewayPort, listenOnAnyHostAddress: false);
        }

        silo.UseAdoNetClustering(o =>
        {
            o.Invariant = PostgresConnection.Invariant;
            o.ConnectionString = connection;
        });
        silo.AddAdoNetGrainStorage(JobStorage.Name, o =>
        {
            o.Invariant = PostgresConnection.Invariant;
            o.ConnectionString = connection;
        });
        silo.AddAdoNetGrainStorage(JobStorage.Batches, o =>
        {
            o.Invariant = PostgresConnection.Invariant;
            o.ConnectionString = connection;
            // A finished job clears its batch inputs: delete those rows rather than keep empty ones.
            o.DeleteStateOnClear = true;
        });
        silo.AddAdoNetGrainStorage("PubSubStore", o =>
        {
            o.Invariant = PostgresConnection.Invariant;
            o.ConnectionString = connection;
        });
        silo.Services.AddSingleton(_ => VectorStorage.Postgres(connection, PostgresConnection.Describe(connection), host.DataDirectory));
        return silo;
    }
}
