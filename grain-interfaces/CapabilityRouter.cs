using System.Collections.Concurrent;

namespace Agents.GrainInterfaces;

/// <summary>
/// Picks which holder of a capability answers a routed ask: one on the asker's own silo when there is one, else the
/// holders in turn, skipping any with more of this router's requests in flight than the least loaded plus
/// <see cref="LoadSlack"/> (so a steady stream spreads evenly and a holder that falls behind gets less).
/// Holder lists come from the <see cref="ICapabilityDirectoryGrain"/> and are kept for <see cref="Refresh"/>; a holder
/// found lost is dropped at once and reported to the directory.
/// </summary>
public sealed class CapabilityRouter(IGrainFactory grains)
{
    private readonly ConcurrentDictionary<string, (AgentHolder[] Holders, DateTime FetchedAt)> _holders = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _inFlight = new(StringComparer.Ordinal);
    private int _turn;

    /// <summary>Requests in flight beyond the least loaded holder's that a holder may have and still take its turn.</summary>
    public int LoadSlack { get; init; } = 8;

    /// <summary>How long a capability's holder list is used before it is read again.</summary>
    public TimeSpan Refresh { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The holders of <paramref name="capability"/>, from the cache unless it is empty, older than <see cref="Refresh"/>, or <paramref name="fresh"/>.</summary>
    public async Task<AgentHolder[]> HoldersAsync(string capability, bool fresh = false)
    {
        // An empty list is read again every time: the first holder may have just registered.
        if (!fresh && _holders.TryGetValue(capability, out var cached) && cached.Holders.Length > 0 && DateTime.UtcNow - cached.FetchedAt < Refresh)
        {
            return cached.Holders;
        }

        var holders = await grains.GetGrain<ICapabilityDirectoryGrain>(capability).GetHoldersAsync();
        _holders[capability] = (holders, DateTime.UtcNow);
        return holders;
    }

    /// <summary>
    /// The holder to ask next among <paramref name="holders"/> less <paramref name="exclude"/>: one on
    /// <paramref name="localSilo"/> when any, else the least loaded; null when none is left.
    /// </summary>
    public AgentHolder? Pick(IReadOnlyList<AgentHolder> holders, string? localSilo, IReadOnlySet<string>? exclude = null)
    {
        var candidates = holders.Where(h => exclude is null || !exclude.Contains(h.AgentId)).ToList();
        if (localSilo is not null && candidates.Any(h => h.Silo == localSilo))
        {
            candidates = candidates.Where(h => h.Silo == localSilo).ToList();
        }

        if (candidates.Count == 0)
        {
            return null;
        }

        // In turn over the holders, skipping any with more requests in flight than the least loaded plus a little: an
        // even spread while the holders keep up, and away from one that falls behind.
        var loads = candidates.Select(h => _inFlight.GetValueOrDefault(h.AgentId)).ToArray();
        var ceiling = loads.Min() + LoadSlack;
        var start = (int)((uint)Interlocked.Increment(ref _turn) % (uint)candidates.Count);
        for (var i = 0; i < candidates.Count; i++)
        {
            var at = (start + i) % candidates.Count;
            if (loads[at] <= ceiling)
            {
                return candidates[at] with { InFlight = loads[at] };
            }
        }

        return candidates[start] with { InFlight = loads[start] };
    }

    /// <summary>Counts a request to <paramref name="agentId"/> in flight until the result is disposed.</summary>
    public InFlightRequest Track(string agentId)
    {
        _inFlight.AddOrUpdate(agentId, 1, (_, n) => n + 1);
        return new InFlightRequest(this, agentId);
    }

    /// <summary>The requests in flight to <paramref name="agentId"/>.</summary>
    public int InFlight(string agentId) => _inFlight.GetValueOrDefault(agentId);

    /// <summary>Drops <paramref name="holder"/> from the cached list and tells the directory it was lost on its silo.</summary>
    public async Task ReportLostAsync(string capability, AgentHolder holder)
    {
        if (_holders.TryGetValue(capability, out var cached))
        {
            _holders[capability] = (cached.Holders.Where(h => h.AgentId != holder.AgentId).ToArray(), cached.FetchedAt);
        }

        await grains.GetGrain<ICapabilityDirectoryGrain>(capability).ReportLostAsync(holder.AgentId, holder.Silo);
    }

    private void Done(string agentId) => _inFlight.AddOrUpdate(agentId, 0, (_, n) => Math.Max(0, n - 1));

    /// <summary>One request in flight; disposing it ends the count.</summary>
    public readonly struct InFlightRequest(CapabilityRouter router, string agentId) : IDisposable
    {
        /// <inheritdoc />
        public void Dispose() => router.Done(agentId);
    }
}
