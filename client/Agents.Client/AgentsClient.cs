using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.Runtime.Messaging;

namespace Agents.Client;

/// <summary>
/// The thin client: connects to a cluster (or hosts an embedded silo), submits jobs, follows their progress and
/// fetches results. Calls that fail because a silo went away are retried until <see cref="RetryFor"/> passes.
/// </summary>
public sealed partial class AgentsClient : IAsyncDisposable
{
    /// <summary>Batches placed, stored and declared to a job per round; a round also stays near <see cref="MaxAppendBytes"/>.</summary>
    public const int AppendBatches = 32;

    /// <summary>Bytes of documents stored per round (a single document may exceed it), well under Orleans' 100 MiB message limit.</summary>
    public const long MaxAppendBytes = 8L * 1024 * 1024;

    private readonly IHost? _host;
    private readonly SiloLossWatcher? _siloLoss;

    private AgentsClient(IHost? host, IClusterClient cluster, ClusterConnection connection)
    {
        _host = host;
        Connection = connection;
        Cluster = cluster;
        // One silo embedded in this process cannot be lost without the process; a cluster's can.
        _siloLoss = host is not null && !connection.IsEmbedded ? new SiloLossWatcher(cluster, TimeSpan.FromMilliseconds(500)) : null;
    }

    /// <summary>Wraps a client someone else owns (a co-hosted silo, a test cluster); disposing this does not stop it.</summary>
    public static AgentsClient FromCluster(IClusterClient cluster) => new(null, cluster, new ClusterConnection());

    /// <summary>
    /// Takes over a started host that runs a silo or a client (the embedded mode of Agents.Hosting); disposing this
    /// stops the host.
    /// </summary>
    public static AgentsClient FromHost(IHost host, ClusterConnection connection) =>
        new(host, host.Services.GetRequiredService<IClusterClient>(), connection);

    /// <summary>The Orleans client, for operations this class does not wrap.</summary>
    public IClusterClient Cluster { get; }

    /// <summary>Where this client is connected.</summary>
    public ClusterConnection Connection { get; }

    /// <summary>How long a call keeps retrying while the cluster recovers from a lost silo.</summary>
    public TimeSpan RetryFor { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Connects to the cluster <paramref name="connection"/> names. A connection that names no cluster is refused:
    /// a silo in this process comes from Agents.Hosting (<c>EmbeddedCluster.ConnectAsync</c>).
    /// </summary>
    public static async Task<AgentsClient> ConnectAsync(ClusterConnection connection, CancellationToken cancellationToken = default)
    {
        if (connection.IsEmbedded)
        {
            throw new ConfigurationException("No cluster given: name a PostgreSQL membership database or gateways, or host a silo in this process with Agents.Hosting.");
        }

        // No appsettings file watchers: the client reads no configuration files.
        var configuration = new Microsoft.Extensions.Configuration.ConfigurationManager();
        configuration["hostBuilder:reloadConfigOnChange"] = "false";
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Configuration = configuration,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.AddCommandLogging(connection.Verbose);
        builder.Services.AddSingleton<IHostLifetime, InProcessHostLifetime>();

        // Orleans retries a gateway that does not answer for as long as the filter says; the filter stops at the
        // deadline and keeps the last failure, which names what went wrong.
        var deadline = connection.ConnectTimeout is { } limit ? DateTime.UtcNow + limit : DateTime.MaxValue;
        Exception? lastFailure = null;
        builder.UseOrleansClient(client =>
        {
            client.AddActivityPropagation();
            client.UseAgentsTls(connection.Tls);
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = ClusterNames.ClusterId;
                o.ServiceId = ClusterNames.ClusterId;
            });
            if (connection.PostgreSql is { } pg)
            {
                string connectionString;
                try
                {
                    connectionString = PostgresConnection.Build(pg, connection.ConnectionPoolSize, connection.KeepaliveInterval);
                }
                catch (ArgumentException e)
                {
                    throw new ConfigurationException(e.Message);
                }

                client.UseAdoNetClustering(o =>
                {
                    o.Invariant = PostgresConnection.Invariant;
                    o.ConnectionString = connectionString;
                });
            }
            else
            {
                var gateways = connection.Gateways.Select(Endpoints.ParseGateway).ToList();
                client.UseStaticClustering(gateways.ToArray());
            }

            // A gateway that dies takes its pending calls with it; fail them sooner than the 30 s default so retries move on.
            client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(10));
            client.UseConnectionRetryFilter(async (failure, cancellationToken) =>
            {
                lastFailure = failure;
                var wait = TimeSpan.FromMilliseconds(500);
                if (DateTime.UtcNow + wait >= deadline)
                {
                    return false;
                }

                await Task.Delay(wait, cancellationToken);
                return !cancellationToken.IsCancellationRequested;
            });
        });
        var host = builder.Build();

        // The deadline also bounds a single attempt that hangs (a database or gateway that accepts and never answers).
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (connection.ConnectTimeout is { } bound)
        {
            timeout.CancelAfter(bound);
        }

        try
        {
            await host.StartAsync(timeout.Token);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is not ConfigurationException)
        {
            await StopQuietlyAsync(host);
            throw new ClusterUnreachableException(Unreachable(connection, lastFailure ?? e), lastFailure ?? e);
        }
        catch
        {
            await StopQuietlyAsync(host);
            throw;
        }

        return new AgentsClient(host, host.Services.GetRequiredService<IClusterClient>(), connection);
    }

    /// <summary>One line: what was tried, for how long, and the last failure in its own words.</summary>
    private static string Unreachable(ClusterConnection connection, Exception failure)
    {
        var tried = connection.PostgreSql is { } pg
            ? $"through PostgreSQL {PostgresConnection.Describe(pg)}"
            : $"at {(connection.Gateways.Count == 1 ? "gateway" : "gateways")} {string.Join(", ", connection.Gateways)}";
        var cause = failure;
        while (cause.InnerException is { } inner && cause is not Npgsql.NpgsqlException)
        {
            cause = inner;
        }

        var reason = cause switch
        {
            Npgsql.PostgresException { SqlState: "42P01" } => "the database holds no cluster tables (a first silo with --init-schema creates them)",
            Npgsql.PostgresException db => $"the database refused: {db.MessageText}",
            Npgsql.NpgsqlException db => $"the database did not answer ({db.Message.Split('\n')[0].Trim()})",
            OperationCanceledException => "no gateway answered",
            _ when failure.Message.Contains("gateway", StringComparison.OrdinalIgnoreCase) && connection.PostgreSql is not null
                => "the membership table lists no live gateway (is a silo running?)",
            _ => cause.Message.Split('\n')[0].Trim(),
        };
        var seconds = connection.ConnectTimeout?.TotalSeconds;
        return $"cannot reach the cluster {tried}{(seconds is null ? "" : $" within {seconds:0.#} s")}: {reason}";
    }

    private static async Task StopQuietlyAsync(IHost host)
    {
        try
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await host.StopAsync(stop.Token);
        }
        catch (Exception)
        {
            // The client never connected: whatever stopping it says changes nothing.
        }
        finally
        {
            host.Dispose();
        }
    }

    /// <summary>
    /// Creates and starts a job, then streams its tasks in bounded calls (the cluster works on the first ones while
    /// the rest arrive) and seals its input; returns the job id.
    /// </summary>
    public async Task<Guid> SubmitAsync(JobSpec spec, IEnumerable<JobTask> tasks, CancellationToken cancellationToken = default)
    {
        var id = await StartJobAsync(spec, cancellationToken);
        await AppendAsync(id, tasks, cancellationToken);
        await SealAsync(id, cancellationToken);
        return id;
    }

    /// <summary>Creates and starts a job that takes tasks until it is sealed; returns its id.</summary>
    public async Task<Guid> StartJobAsync(JobSpec spec, CancellationToken cancellationToken = default)
    {
        var id = Guid.NewGuid();
        var job = Cluster.GetGrain<IJobGrain>(id);
        await RetryAsync(() => job.CreateAsync(spec), cancellationToken);
        await RetryAsync(job.StartAsync, cancellationToken);
        return id;
    }

    /// <summary>
    /// Sends tasks to a job: cuts them into the job's batches, asks the job where each batch goes, stores each batch's
    /// documents straight on that silo (in parallel), then declares the batches to the job. The job never sees a document.
    /// Task ids must continue from the job's last task.
    /// </summary>
    public async Task AppendAsync(Guid jobId, IEnumerable<JobTask> tasks, CancellationToken cancellationToken = default)
    {
        var job = Cluster.GetGrain<IJobGrain>(jobId);
        var status = await GetStatusAsync(jobId, cancellationToken);
        var batchSize = Math.Max(1, status.BatchSize);
        var (nextBatch, nextTask) = (status.TotalBatches, status.TotalTasks);
        var round = new List<JobTask[]>();
        var batch = new List<JobTask>(batchSize);
        long bytes = 0;

        // Two rounds in flight: the next one is stored while the job takes the last one's declaration.
        var previous = Task.CompletedTask;
        async Task FlushAsync()
        {
            var stored = StoreRoundAsync(job, jobId, [.. round], nextBatch, nextTask, previous, cancellationToken);
            nextBatch += round.Count;
            nextTask += round.Sum(b => b.Length);
            round.Clear();
            bytes = 0;
            await previous;
            previous = stored;
        }

        foreach (var task in tasks)
        {
            batch.Add(task);
            bytes += task.Content.Length;
            if (batch.Count == batchSize)
            {
                round.Add([.. batch]);
                batch.Clear();
                if (round.Count >= AppendBatches || bytes >= MaxAppendBytes)
                {
                    await FlushAsync();
                }
            }
        }

        if (batch.Count > 0)
        {
            round.Add([.. batch]);
        }

        if (round.Count > 0)
        {
            await FlushAsync();
        }

        await previous;
    }

    private async Task StoreRoundAsync(
        IJobGrain job, Guid jobId, List<JobTask[]> round, int firstBatch, int firstTask, Task previous, CancellationToken cancellationToken)
    {
        var id = firstTask;
        foreach (var task in round.SelectMany(b => b))
        {
            if (task.Id != id++)
            {
                throw new ArgumentException($"Task ids must continue from {id - 1}; got {task.Id}.", nameof(round));
            }
        }

        // Placed once: a retry stores to the same silos, so no batch is stored twice in two places.
        var silos = await RetryAsync(() => job.PlaceBatchesAsync(firstBatch, round.Count), cancellationToken);
        var batches = new JobBatch[round.Count];
        var stores = new Task[round.Count];
        for (var i = 0; i < round.Count; i++)
        {
            var (index, tasks) = (firstBatch + i, round[i]);
            batches[i] = new JobBatch(index, silos[i], tasks[0].Id, tasks.Length);
            var grain = Cluster.GetGrain<IJobBatchGrain>(JobBatchKey.Of(jobId, index, silos[i]));
            stores[i] = RetryAsync(() => grain.StoreAsync(tasks), cancellationToken);
        }

        await Task.WhenAll(stores);

        // Declared in order: the job takes batches only as they continue from the last.
        await previous;
        await RetryAsync(() => job.AddBatchesAsync(batches), cancellationToken);
    }

    /// <summary>Declares a job's input complete.</summary>
    public Task<JobStatus> SealAsync(Guid jobId, CancellationToken cancellationToken = default) =>
        RetryAsync(() => Cluster.GetGrain<IJobGrain>(jobId).SealAsync(), cancellationToken);

    /// <summary>A job's progress now.</summary>
    public Task<JobStatus> GetStatusAsync(Guid jobId, CancellationToken cancellationToken = default) =>
        RetryAsync(() => Cluster.GetGrain<IJobGrain>(jobId).GetStatusAsync(), cancellationToken);

    /// <summary>A job's result (partial until it finishes).</summary>
    public async Task<JobResult> GetResultAsync(Guid jobId, CancellationToken cancellationToken = default) =>
        await RetryAsync(() => Cluster.GetGrain<IJobGrain>(jobId).GetResultAsync(), cancellationToken)
        ?? throw new KeyNotFoundException($"Job {jobId} does not exist.");

    /// <summary>Stops a job; batches in flight finish and are counted.</summary>
    public Task<JobStatus> CancelAsync(Guid jobId, CancellationToken cancellationToken = default) =>
        RetryAsync(() => Cluster.GetGrain<IJobGrain>(jobId).CancelAsync(), cancellationToken);

    /// <summary>The newest jobs first.</summary>
    public async Task<IReadOnlyList<JobStatus>> ListAsync(int max = 50, CancellationToken cancellationToken = default)
    {
        var ids = await RetryAsync(() => Cluster.GetGrain<IJobRegistryGrain>(0).ListAsync(max), cancellationToken);
        var statuses = await Task.WhenAll(ids.Select(id => GetStatusAsync(id, cancellationToken)));
        return statuses;
    }

    /// <summary>
    /// Progress snapshots until the job finishes, one per <paramref name="interval"/> at most, and the final one at once
    /// (a long poll); each call also resumes a job whose silo died.
    /// </summary>
    public async IAsyncEnumerable<JobStatus> WatchAsync(
        Guid jobId, TimeSpan? interval = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var job = Cluster.GetGrain<IJobGrain>(jobId);
        var status = await GetStatusAsync(jobId, cancellationToken);
        while (true)
        {
            yield return status;
            if (status.IsFinished)
            {
                yield break;
            }

            var wait = interval ?? TimeSpan.FromMilliseconds(250);
            status = await RetryAsync(() => job.WaitAsync(wait), cancellationToken);
        }
    }

    /// <summary>Waits for a job to finish, reporting progress, and returns its result.</summary>
    public async Task<JobResult> WaitAsync(Guid jobId, IProgress<JobStatus>? progress = null, CancellationToken cancellationToken = default)
    {
        await foreach (var status in WatchAsync(jobId, cancellationToken: cancellationToken))
        {
            progress?.Report(status);
        }

        return await GetResultAsync(jobId, cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_host is null)
        {
            return;
        }

        if (_siloLoss is not null)
        {
            await _siloLoss.DisposeAsync();
        }

        try
        {
            await _host.StopAsync(TimeSpan.FromSeconds(10));
        }
        finally
        {
            _host.Dispose();
        }
    }

    /// <summary>
    /// True for failures that a retry can get past: a lost silo or gateway, a timeout while membership settles, a full
    /// queue (<see cref="OverloadedException"/>: the retry's back-off is the backpressure), a version conflict (another
    /// activation of the grain won, and the stale one is leaving).
    /// </summary>
    public static bool IsTransient(Exception e) => e switch
    {
        SiloUnavailableException or OrleansMessageRejectionException or TimeoutException or ConnectionFailedException
            or GatewayTooBusyException or OverloadedException or Orleans.Storage.InconsistentStateException => true,
        OrleansException { InnerException: { } inner } => IsTransient(inner),
        _ => false,
    };

    internal Task RetryAsync(Func<Task> call, CancellationToken cancellationToken) =>
        RetryAsync(async () =>
        {
            await call();
            return true;
        }, cancellationToken);

    internal async Task<T> RetryAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + RetryFor;
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            // A cancelled caller stops waiting at once; a call already sent finishes in the cluster, unobserved.
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                return await CallAsync(call).WaitAsync(cancellationToken);
            }
            catch (Exception e) when (IsTransient(e) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(delay, cancellationToken);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 1000));
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="call"/>, giving up on it with <see cref="SiloUnavailableException"/> if a silo leaves the
    /// cluster first: its answer may have died with that silo. Retried like a timeout, so the same calls (idempotent
    /// ones) are safe.
    /// </summary>
    private async Task<T> CallAsync<T>(Func<Task<T>> call)
    {
        var lost = _siloLoss?.NextLoss;
        var attempt = call();
        if (lost is null || await Task.WhenAny(attempt, lost) == attempt)
        {
            return await attempt;
        }

        _ = attempt.ContinueWith(static t => t.Exception, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously);
        throw new SiloUnavailableException("A silo left the cluster while this call was in flight; it is retried.");
    }
}
