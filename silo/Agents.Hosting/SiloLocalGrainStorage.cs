using Microsoft.Extensions.DependencyInjection;
using System.Collections.Concurrent;
using Orleans.Serialization;
using Orleans.Storage;

namespace Agents.Hosting;

/// <summary>
/// Grain state kept in the memory of the silo that writes it. A job's batch inputs use it when the cluster has no
/// database: the batch lives on the silo that runs it, so its documents stay there instead of travelling to an Orleans
/// memory-storage grain on some other silo (that hop cost a third more CPU per task with two silos). It is exactly as
/// durable as memory storage: gone with the silo. With PostgreSQL the same state goes to the database instead.
/// </summary>
public sealed class SiloLocalGrainStorage : IGrainStorage
{
    private readonly DeepCopier _copier;
    private readonly ConcurrentDictionary<(string State, GrainId Grain), object> _states;

    /// <summary>State of this silo only.</summary>
    [ActivatorUtilitiesConstructor]
    public SiloLocalGrainStorage(DeepCopier copier)
        : this(copier, new ConcurrentDictionary<(string, GrainId), object>())
    {
    }

    /// <summary>
    /// State in <paramref name="states"/>, which several silos of one process may share: an in-process cluster then keeps
    /// a grain's state through the loss of the silo that wrote it, as a database would.
    /// </summary>
    public SiloLocalGrainStorage(DeepCopier copier, ConcurrentDictionary<(string State, GrainId Grain), object> states)
    {
        ArgumentNullException.ThrowIfNull(copier);
        ArgumentNullException.ThrowIfNull(states);
        _copier = copier;
        _states = states;
    }

    /// <inheritdoc />
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (_states.TryGetValue((stateName, grainId), out var stored))
        {
            // A copy: the activation changes its state in memory without writing (a batch drops its documents once run).
            grainState.State = _copier.Copy((T)stored);
            grainState.RecordExists = true;
            grainState.ETag = "1";
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        _states[(stateName, grainId)] = _copier.Copy(grainState.State)!;
        grainState.RecordExists = true;
        grainState.ETag = "1";
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        _states.TryRemove((stateName, grainId), out _);
        grainState.RecordExists = false;
        grainState.ETag = null;
        return Task.CompletedTask;
    }
}
