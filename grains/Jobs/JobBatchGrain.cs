namespace Agents.Grains.Jobs;

/// <summary>The durable input of one batch.</summary>
[GenerateSerializer]
public sealed class JobBatchState
{
    /// <summary>The batch's tasks.</summary>
    [Id(0)]
    public JobTask[] Tasks { get; set; } = [];
}

/// <summary>Keeps one batch's tasks in grain storage so a job that moves to another silo can re-run it.</summary>
public sealed class JobBatchGrain([PersistentState("batch", JobStorage.Name)] IPersistentState<JobBatchState> state)
    : Grain, IJobBatchGrain
{
    /// <inheritdoc />
    public async Task SetAsync(JobTask[] tasks)
    {
        state.State.Tasks = tasks;
        await state.WriteStateAsync();
    }

    /// <inheritdoc />
    public Task<JobTask[]> GetAsync() => Task.FromResult(state.State.Tasks);

    /// <inheritdoc />
    public async Task ClearAsync()
    {
        await state.ClearStateAsync();
        DeactivateOnIdle();
    }
}

/// <summary>The grain storage that holds jobs: memory when embedded, PostgreSQL in a cluster.</summary>
public static class JobStorage
{
    /// <summary>The storage provider's name.</summary>
    public const string Name = "jobs";
}
