using System.Text.Json;

namespace Agents.Client;

public sealed partial class AgentsClient
{
    private CapabilityRouter? _router;

    private CapabilityRouter Router => LazyInitializer.EnsureInitialized(ref _router, () => new CapabilityRouter(Cluster));

    /// <summary>The asker id a client's requests carry.</summary>
    public const string ClientAsker = "client";

    /// <summary>The agents holding <paramref name="capability"/> on live silos, with their silo (and this client's requests in flight to each).</summary>
    public async Task<IReadOnlyList<AgentHolder>> FindAgentsAsync(string capability, CancellationToken cancellationToken = default)
    {
        AgentRequests.ValidateName(capability, "capability");
        var holders = await RetryAsync(() => Router.HoldersAsync(capability, fresh: true), cancellationToken);
        return holders.Select(h => h with { InFlight = Router.InFlight(h.AgentId) }).ToList();
    }

    /// <summary>Every capability any agent has registered, in name order.</summary>
    public async Task<IReadOnlyList<string>> ListCapabilitiesAsync(CancellationToken cancellationToken = default) =>
        await RetryAsync(() => Cluster.GetGrain<ICapabilityCatalogGrain>(0).ListAsync(), cancellationToken);

    /// <summary>
    /// Asks agent <paramref name="to"/> (as the client) and returns its reply. Throws <see cref="AgentRequestFailedException"/>
    /// when its handler throws or it has none for <paramref name="kind"/>, <see cref="AgentRequestTimeoutException"/> after
    /// <paramref name="timeout"/> (default <see cref="AgentRequests.DefaultTimeout"/>). Not retried: a lost silo surfaces
    /// as Orleans' <see cref="SiloUnavailableException"/>.
    /// </summary>
    public Task<byte[]> AskAsync(string to, string kind, byte[] body, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        AskOnceAsync(Agent(to), to, kind, body, AgentRequests.EffectiveTimeout(timeout), Guid.NewGuid(), cancellationToken);

    /// <summary>The same with JSON bodies: <paramref name="request"/> as <typeparamref name="TRequest"/>, the reply read as <typeparamref name="TReply"/>.</summary>
    public async Task<TReply> AskAsync<TRequest, TReply>(string to, string kind, TRequest request, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        JsonSerializer.Deserialize<TReply>(await AskAsync(to, kind, JsonSerializer.SerializeToUtf8Bytes(request, AgentJson.Options), timeout, cancellationToken), AgentJson.Options)!;

    /// <summary>
    /// Asks any agent holding <paramref name="capability"/>: the holders in turn, skipping one with more of this
    /// client's requests in flight than the least loaded (<see cref="CapabilityRouter"/>). A holder lost on the way (its silo died or left, it could not be reached) is reported to
    /// the directory and the request goes to another holder, with the same request id, until <see cref="RetryFor"/>
    /// passes; a handler's own failure or timeout is never retried. Guarantee: an answered request was run by one
    /// holder; a request in flight when its holder's silo died may have run there too before the retry (at least
    /// once), so handlers that change things should use <c>AgentContext.RequestId</c> to tell a repeat.
    /// </summary>
    public async Task<byte[]> AskAnyAsync(string capability, string kind, byte[] body, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        AgentRequests.ValidateName(capability, "capability");
        AgentRequests.ValidateName(kind, "request kind");
        ArgumentNullException.ThrowIfNull(body);
        var limit = AgentRequests.EffectiveTimeout(timeout);
        var id = Guid.NewGuid();
        var deadline = DateTime.UtcNow + RetryFor;
        var lost = new HashSet<string>(StringComparer.Ordinal);
        var delay = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var holders = await RetryAsync(() => Router.HoldersAsync(capability, fresh: lost.Count > 0), cancellationToken);
            var holder = Router.Pick(holders, localSilo: null, lost);
            if (holder is null)
            {
                if (holders.Length == 0 || DateTime.UtcNow >= deadline)
                {
                    throw new AgentRequestFailedException("", kind, AgentRequestFailure.NoHandler, null, holders.Length == 0
                        ? $"No agent holds capability '{capability}'."
                        : $"Every holder of capability '{capability}' was lost ({string.Join(", ", lost)}).");
                }

                // Every known holder was lost: wait for the agents to reactivate and register again.
                lost.Clear();
                await Task.Delay(delay, cancellationToken);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 1000));
                continue;
            }

            using (Router.Track(holder.AgentId))
            {
                try
                {
                    return await AskOnceAsync(Agent(holder.AgentId), holder.AgentId, kind, body, limit, id, cancellationToken, holder.Silo);
                }
                catch (Exception e) when (IsLost(e) && DateTime.UtcNow < deadline)
                {
                    lost.Add(holder.AgentId);
                    RoutingFailovers++;
                    LastFailoverAtUtc = DateTime.UtcNow;
                    // Not awaited: the directory may itself be on the silo that died.
                    _ = Router.ReportLostAsync(capability, holder).ContinueWith(static t => t.Exception, TaskContinuationOptions.OnlyOnFaulted);
                }
            }
        }
    }

    /// <summary>The same with JSON bodies.</summary>
    public async Task<TReply> AskAnyAsync<TRequest, TReply>(string capability, string kind, TRequest request, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        JsonSerializer.Deserialize<TReply>(await AskAnyAsync(capability, kind, JsonSerializer.SerializeToUtf8Bytes(request, AgentJson.Options), timeout, cancellationToken), AgentJson.Options)!;

    /// <summary>Asks a holder of <paramref name="capability"/> for the kind of the same name.</summary>
    public Task<byte[]> AskAnyAsync(string capability, byte[] body, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        AskAnyAsync(capability, capability, body, timeout, cancellationToken);

    /// <summary>Asks that went to a holder found lost and were sent to another (since this client started).</summary>
    public long RoutingFailovers { get; private set; }

    /// <summary>When the last of <see cref="RoutingFailovers"/> happened (UTC), if any.</summary>
    public DateTime? LastFailoverAtUtc { get; private set; }

    private async Task<bool> IsActiveAsync(string silo)
    {
        var hosts = await Cluster.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
        return hosts.Keys.Any(h => h.ToParsableString() == silo);
    }

    /// <summary>A failure on the way to a holder (not one of its handler): the silo died, left or could not be reached.</summary>
    private static bool IsLost(Exception e) => e switch
    {
        AgentRequestFailedException or AgentRequestTimeoutException => false,
        SiloUnavailableException or OrleansMessageRejectionException or Orleans.Runtime.Messaging.ConnectionFailedException or TimeoutException => true,
        OrleansException { InnerException: { } inner } => IsLost(inner),
        _ => false,
    };

    private async Task<byte[]> AskOnceAsync(
        IAgentGrain agent, string to, string kind, byte[] body, TimeSpan timeout, Guid id, CancellationToken cancellationToken, string? silo = null)
    {
        var request = new AgentRequest(id, ClientAsker, to, kind, body, DateTime.UtcNow.Ticks, timeout);
        var call = agent.HandleAsync(request);
        try
        {
            // A SIGKILLed silo never answers: when a silo leaves and it is the holder's, the ask is lost (and retried).
            while (silo is not null && _siloLoss?.NextLoss is { } loss && await Task.WhenAny(call, loss) != call)
            {
                if (!await IsActiveAsync(silo))
                {
                    _ = call.ContinueWith(static t => t.Exception, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously);
                    throw new SiloUnavailableException($"Silo {silo} of agent '{to}' left the cluster while it was asked '{kind}'.");
                }
            }

            // The agent bounds its handler by the timeout; the grace covers the trip, so an unreachable silo still ends the wait.
            return await call.WaitAsync(timeout + TimeSpan.FromSeconds(2), cancellationToken);
        }
        catch (TimeoutException e) when (e is not AgentRequestTimeoutException && !call.IsCompleted)
        {
            _ = call.ContinueWith(static t => t.Exception, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously);
            throw new TimeoutException($"Agent '{to}' did not answer '{kind}' within {timeout.TotalSeconds:0.###} s (no reply reached the client).", e);
        }
    }
}
