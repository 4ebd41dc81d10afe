namespace Agents.GrainInterfaces;

/// <summary>A job (key: job id): takes tasks, splits them into batches, spreads them over the silos and counts each task once.</summary>
public interface IJobGrain : IGrainWithGuidKey
{
    /// <summary>Creates the job; fails if the task type cannot run or the job already exists with another spec.</summary>
    Task<JobStatus> CreateAsync(JobSpec spec);

    /// <summary>Adds tasks, before or after the start, until the input is sealed; durable when this returns. Ids continue from the last call.</summary>
    Task AppendTasksAsync(JobTask[] tasks);

    /// <summary>Starts dispatching the tasks appended so far and those still to come; idempotent.</summary>
    Task<JobStatus> StartAsync();

    /// <summary>Declares the input complete: the job finishes once every appended task is counted; idempotent.</summary>
    Task<JobStatus> SealAsync();

    /// <summary>The job's progress; a job whose silo died resumes when it is asked.</summary>
    Task<JobStatus> GetStatusAsync();

    /// <summary>Returns as soon as the job finishes, or after <paramref name="wait"/> with its progress then (a long poll).</summary>
    Task<JobStatus> WaitAsync(TimeSpan wait);

    /// <summary>The result so far (final once the job is finished); null if the job does not exist.</summary>
    Task<JobResult?> GetResultAsync();

    /// <summary>Stops dispatching; batches in flight finish and are counted.</summary>
    Task<JobStatus> CancelAsync();
}

/// <summary>The durable input of one batch of a job (key: <c>{jobId}/{batchIndex}</c>), kept apart from the job's state so progress writes stay small.</summary>
public interface IJobBatchGrain : IGrainWithStringKey
{
    /// <summary>Stores the batch's tasks.</summary>
    Task SetAsync(JobTask[] tasks);

    /// <summary>The batch's tasks.</summary>
    Task<JobTask[]> GetAsync();

    /// <summary>Forgets the batch once its job no longer needs it.</summary>
    Task ClearAsync();
}

/// <summary>The list of jobs the cluster knows (a single activation, key 0).</summary>
public interface IJobRegistryGrain : IGrainWithIntegerKey
{
    /// <summary>Records a new job.</summary>
    Task AddAsync(Guid jobId, DateTimeOffset createdAt);

    /// <summary>The newest jobs first.</summary>
    Task<IReadOnlyList<Guid>> ListAsync(int max);
}
