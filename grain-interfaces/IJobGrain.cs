namespace Agents.GrainInterfaces;

/// <summary>
/// A job (key: job id), the control plane of its work: which batches exist, where each one's input is stored, which are
/// counted, and the sums of their results. Document bodies never pass through it: a client stores each batch's input
/// in a <see cref="IJobBatchGrain"/> on the silo the job chose for it, then tells the job the batch is there.
/// </summary>
public interface IJobGrain : IGrainWithGuidKey
{
    /// <summary>Creates the job; fails if the task type cannot run or the job already exists with another spec.</summary>
    Task<JobStatus> CreateAsync(JobSpec spec);

    /// <summary>
    /// The silo each of the batches <paramref name="firstBatch"/>.. <paramref name="firstBatch"/> + <paramref name="count"/> - 1
    /// should be stored on, chosen by the job's distribution (silo addresses, for <see cref="JobBatchKey.Of"/>).
    /// </summary>
    Task<string[]> PlaceBatchesAsync(int firstBatch, int count);

    /// <summary>
    /// Declares batches whose input is stored (contiguous, continuing from the last call); durable when this returns.
    /// A retried call whose first attempt landed changes nothing.
    /// </summary>
    Task AddBatchesAsync(JobBatch[] batches);

    /// <summary>Starts dispatching the batches added so far and those still to come; idempotent.</summary>
    Task<JobStatus> StartAsync();

    /// <summary>Declares the input complete: the job finishes once every added task is counted; idempotent.</summary>
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

/// <summary>
/// One batch of a job (key: <see cref="JobBatchKey.Of"/>), placed on the silo its key names: it keeps the batch's input
/// durable and runs it on that silo, so the documents travel once, from the client to where they are processed.
/// </summary>
public interface IJobBatchGrain : IGrainWithStringKey
{
    /// <summary>Stores the batch's tasks durably; a document over the size limit is kept only as its failure. Idempotent.</summary>
    Task StoreAsync(JobTask[] tasks);

    /// <summary>Runs the batch (once: a repeated call returns the stored result); a task that fails is reported in the result.</summary>
    [ResponseTimeout("00:05:00")]
    Task<BatchResult> RunAsync(BatchRun run);

    /// <summary>Forgets the batch once its job no longer needs it.</summary>
    Task ClearAsync();
}

/// <summary>The keys of <see cref="IJobBatchGrain"/>: the silo the batch is meant for, the job, the batch.</summary>
public static class JobBatchKey
{
    /// <summary><c>{silo}/{jobId}/{index}</c>: the placement reads the silo from the key's first part.</summary>
    public static string Of(Guid jobId, int index, string silo) => $"{silo}/{jobId:N}/{index}";

    /// <summary>The job and batch a key names.</summary>
    public static (Guid JobId, int Index) Parse(string key)
    {
        var parts = key.Split('/');
        if (parts.Length != 3 || !Guid.TryParseExact(parts[1], "N", out var job) || !int.TryParse(parts[2], out var index))
        {
            throw new ArgumentException($"'{key}' is not a job batch key (silo/job/index).", nameof(key));
        }

        return (job, index);
    }
}

/// <summary>The list of jobs the cluster knows (a single activation, key 0).</summary>
public interface IJobRegistryGrain : IGrainWithIntegerKey
{
    /// <summary>Records a new job.</summary>
    Task AddAsync(Guid jobId, DateTimeOffset createdAt);

    /// <summary>The newest jobs first.</summary>
    Task<IReadOnlyList<Guid>> ListAsync(int max);
}
