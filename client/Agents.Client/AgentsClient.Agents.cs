using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Agents.Client;

public sealed partial class AgentsClient
{
    /// <summary>The agent with id <paramref name="id"/> (created on first use, anywhere in the cluster).</summary>
    public IAgentGrain Agent(string id)
    {
        if (string.IsNullOrWhiteSpace(id) || id.Length > 256)
        {
            throw new ArgumentException($"An agent id must be 1-256 characters; got '{id}'.", nameof(id));
        }

        return Cluster.GetGrain<IAgentGrain>(id);
    }

    /// <summary>
    /// The messaging benchmark's driver for agent <paramref name="id"/>, on the silo where the agent lives (activating
    /// the agent to find it): it sends and asks as that agent.
    /// </summary>
    public async Task<IAgentBenchmarkGrain> AgentBenchmarkAsync(string id)
    {
        var silo = (await Agent(id).GetProfileAsync()).Silo;
        return Cluster.GetGrain<IAgentBenchmarkGrain>(AgentBenchmarkKey.Of(silo, id));
    }

    /// <summary>
    /// Sends a message from agent <paramref name="from"/> to agent <paramref name="to"/> and returns once the receiver
    /// has it. A send that fails because a silo died, or because the sender's outbox is full, is retried until
    /// <see cref="RetryFor"/> passes; a retry after a lost acknowledgement can deliver the message twice (at least once).
    /// </summary>
    public Task SendAsync(string from, string to, string kind, byte[] body, CancellationToken cancellationToken = default)
    {
        var agent = Agent(from);
        return RetryAsync(() => agent.SendAsync(to, kind, body), cancellationToken);
    }

    /// <summary>
    /// Every message delivered to agent <paramref name="id"/> from now on, as they arrive, until
    /// <paramref name="cancellationToken"/> ends it. The subscription is renewed every minute (an agent forgets an
    /// observer it has not heard from for five).
    /// </summary>
    public async IAsyncEnumerable<AgentMessage> WatchInboxAsync(string id, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var agent = Agent(id);
        var channel = Channel.CreateUnbounded<AgentMessage>(new UnboundedChannelOptions { SingleReader = true });
        var observer = new InboxObserver(channel.Writer);
        var reference = Cluster.CreateObjectReference<IAgentInboxObserver>(observer);
        await RetryAsync(() => agent.SubscribeAsync(reference), cancellationToken);
        using var renew = new PeriodicTimer(TimeSpan.FromMinutes(1));
        var renewing = RenewAsync();
        try
        {
            await foreach (var message in channel.Reader.ReadAllAsync(cancellationToken))
            {
                yield return message;
            }
        }
        finally
        {
            renew.Dispose();
            await renewing;
            try
            {
                await agent.UnsubscribeAsync(reference);
            }
            catch (Exception e) when (IsTransient(e))
            {
                // The agent will forget the observer on its own.
            }

            Cluster.DeleteObjectReference<IAgentInboxObserver>(reference);

            // Orleans holds observers weakly: without this the observer can be collected mid-watch and deliveries
            // vanish silently (seen under load in CI).
            GC.KeepAlive(observer);
        }

        async Task RenewAsync()
        {
            try
            {
                while (await renew.WaitForNextTickAsync(cancellationToken))
                {
                    await RetryAsync(() => agent.SubscribeAsync(reference), cancellationToken);
                }
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    /// <summary>The cluster's metrics: every live silo's last sample and rates, and their sums, over the last <see cref="MetricsWindow.Default"/>.</summary>
    public Task<ClusterMetricsView> GetMetricsAsync(CancellationToken cancellationToken = default) =>
        GetMetricsAsync(MetricsWindow.Default, cancellationToken);

    /// <summary>The cluster's metrics with rates and percentiles over the last <paramref name="window"/>.</summary>
    public Task<ClusterMetricsView> GetMetricsAsync(TimeSpan window, CancellationToken cancellationToken = default) =>
        RetryAsync(() => Cluster.GetGrain<IMetricsAggregatorGrain>(0).GetViewAsync(window), cancellationToken);

    private sealed class InboxObserver(ChannelWriter<AgentMessage> writer) : IAgentInboxObserver
    {
        public void OnMessages(AgentMessage[] messages)
        {
            foreach (var message in messages)
            {
                writer.TryWrite(message);
            }
        }
    }
}
