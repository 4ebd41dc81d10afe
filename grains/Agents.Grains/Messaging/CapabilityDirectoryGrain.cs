using Agents.Grains.Jobs;

namespace Agents.Grains.Messaging;

/// <summary>
/// The holders of one capability, kept in the jobs' grain storage (PostgreSQL in a cluster), so the list outlives the
/// silo this grain is on. Holders whose silo is dead or gone from the membership are pruned when the list is read; an
/// agent that reactivates elsewhere registers again with its new silo. Writes only when the list changes.
/// </summary>
[Reentrant]
public sealed class CapabilityDirectoryGrain(
    [PersistentState("capability", JobStorage.Name)] IPersistentState<CapabilityDirectoryState> state,
    IClusterMembershipService membership) : Grain, ICapabilityDirectoryGrain
{
    private static readonly TimeSpan UnknownSiloGrace = TimeSpan.FromMinutes(1);

    /// <inheritdoc />
    public async Task AddAsync(string agentId, string silo)
    {
        ArgumentException.ThrowIfNullOrEmpty(agentId);
        ArgumentException.ThrowIfNullOrEmpty(silo);
        var holders = state.State.Holders;
        var index = holders.FindIndex(h => h.AgentId == agentId);
        if (index >= 0 && holders[index].Silo == silo)
        {
            return;
        }

        var holder = new AgentHolder(agentId, silo, DateTime.UtcNow);
        if (index >= 0)
        {
            holders[index] = holder;
        }
        else
        {
            holders.Add(holder);
        }

        await state.WriteStateAsync();
        if (index < 0)
        {
            await GrainFactory.GetGrain<ICapabilityCatalogGrain>(0).AddAsync(this.GetPrimaryKeyString());
        }
    }

    /// <inheritdoc />
    public async Task RemoveAsync(string agentId)
    {
        if (state.State.Holders.RemoveAll(h => h.AgentId == agentId) > 0)
        {
            await state.WriteStateAsync();
        }
    }

    /// <inheritdoc />
    public async Task ReportLostAsync(string agentId, string silo)
    {
        // A router on the far side of a lost gateway reports holders that are fine: only a silo this membership view
        // no longer counts as live loses its holders here.
        var snapshot = membership.CurrentSnapshot;
        if (state.State.Holders.RemoveAll(h => h.AgentId == agentId && h.Silo == silo && !IsLive(snapshot, h)) > 0)
        {
            await state.WriteStateAsync();
        }
    }

    /// <inheritdoc />
    public async Task<AgentHolder[]> GetHoldersAsync()
    {
        var snapshot = membership.CurrentSnapshot;
        if (state.State.Holders.RemoveAll(h => !IsLive(snapshot, h)) > 0)
        {
            await state.WriteStateAsync();
        }

        return state.State.Holders.ToArray();
    }

    // Live unless the membership says dead, or has not known the silo for a while (a dead silo's row is cleaned up in
    // time; a silo just joining may not be in this silo's view yet).
    private static bool IsLive(ClusterMembershipSnapshot snapshot, AgentHolder holder)
    {
        SiloAddress address;
        try
        {
            address = SiloAddress.FromParsableString(holder.Silo);
        }
        catch (FormatException)
        {
            return false;
        }

        return snapshot.GetSiloStatus(address) switch
        {
            SiloStatus.Dead => false,
            SiloStatus.None => DateTime.UtcNow - holder.RegisteredAtUtc < UnknownSiloGrace,
            _ => true,
        };
    }
}

/// <summary>A capability's holders, in registration order.</summary>
[GenerateSerializer]
public sealed class CapabilityDirectoryState
{
    /// <summary>The holders.</summary>
    [Id(0)]
    public List<AgentHolder> Holders { get; set; } = [];
}

/// <summary>The names of the capabilities agents have registered, kept in the jobs' grain storage.</summary>
[Reentrant]
public sealed class CapabilityCatalogGrain(
    [PersistentState("capabilities", JobStorage.Name)] IPersistentState<CapabilityCatalogState> state) : Grain, ICapabilityCatalogGrain
{
    /// <inheritdoc />
    public async Task AddAsync(string capability)
    {
        if (state.State.Names.Add(capability))
        {
            await state.WriteStateAsync();
        }
    }

    /// <inheritdoc />
    public Task<string[]> ListAsync() => Task.FromResult(state.State.Names.Order(StringComparer.Ordinal).ToArray());
}

/// <summary>The capability names.</summary>
[GenerateSerializer]
public sealed class CapabilityCatalogState
{
    /// <summary>The names.</summary>
    [Id(0)]
    public HashSet<string> Names { get; set; } = new(StringComparer.Ordinal);
}
