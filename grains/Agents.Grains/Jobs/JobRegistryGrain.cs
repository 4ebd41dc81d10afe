namespace Agents.Grains.Jobs;

/// <summary>The jobs the cluster knows, newest last.</summary>
[GenerateSerializer]
public sealed class JobRegistryState
{
    /// <summary>Job ids in creation order.</summary>
    [Id(0)]
    public List<Guid> Jobs { get; set; } = [];
}

/// <summary>Lists jobs for <c>jobs list</c>; keeps the newest <see cref="Capacity"/>.</summary>
public sealed class JobRegistryGrain([PersistentState("registry", JobStorage.Name)] IPersistentState<JobRegistryState> state)
    : Grain, IJobRegistryGrain
{
    /// <summary>Jobs remembered.</summary>
    public const int Capacity = 1000;

    /// <inheritdoc />
    public async Task AddAsync(Guid jobId, DateTimeOffset createdAt)
    {
        if (state.State.Jobs.Contains(jobId))
        {
            return;
        }

        state.State.Jobs.Add(jobId);
        if (state.State.Jobs.Count > Capacity)
        {
            state.State.Jobs.RemoveRange(0, state.State.Jobs.Count - Capacity);
        }

        await state.WriteStateAsync();
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<Guid>> ListAsync(int max) =>
        Task.FromResult<IReadOnlyList<Guid>>(state.State.Jobs.AsEnumerable().Reverse().Take(max).ToList());
}
