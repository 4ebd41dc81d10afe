using System.Diagnostics;
using Agents.Engine;

namespace Agents.Grains.Jobs;

/// <summary>
/// The control plane of a job: its API, the loop that dispatches each batch to the silo that holds its input, and the
/// durable state (which silo gets a batch: <see cref="SiloChoice"/>; each batch counted once: <see cref="JobTally"/>). Documents never pass through here: a client stores each batch on the
/// silo this grain chose (<see cref="JobBatchGrain"/>) and this grain only learns that it is stored and, later, its sums.
/// A batch whose silo dies is run again where its input reloads; a job whose own silo dies resumes where its state left
/// off when it is next called (clients poll it), so no task is lost or counted twice. An idle job leaves memory after two
/// minutes rather than Orleans' default fifteen (its state is durable): a steady stream of small jobs otherwise keeps
/// thousands of finished ones resident. Placed by rendezvous hashing, so a silo's death elsewhere cannot start a second
/// activation of a running job.
/// </summary>
[Reentrant, CollectionAgeLimit(Minutes = 2), Placement.RendezvousPlacement]
public sealed partial class JobGrain(
    [PersistentState("job", JobStorage.Name)] IPersistentState<JobGrainState> state,
    IClusterMembershipService membership,
    ILocalSiloDetails localSilo,
    AgentsSettings settings,
    ILogger<JobGrain> logger) : Grain, IJobGrain
{
    /// <summary>Most batches one <see cref="IJobGrain.PlaceBatchesAsync"/> or <see cref="IJobGrain.AddBatchesAsync"/> call takes.</summary>
    public const int MaxBatchesPerCall = 10_000;

    /// <summary>Most tasks one batch holds.</summary>
    public const int MaxTasksPerBatch = 100_000;

    private const int MaxAttempts = 20;
    private static readonly TimeSpan PersistInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan SuspectFor = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(5);

    private readonly Dictionary<string, Queue<int>> _pending = new(StringComparer.Ordinal);
    private readonly SiloChoice _silos = new();
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Dictionary<int, int> _attempts = [];
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private MembershipVersion? _activeVersion;
    private JobTally _tally = null!;
    private int _pendingCount;
    private int _running;
    private bool _appending;
    private bool _superseded;
    private Task? _run;
    private bool _dirty;
    private Task _writing = Task.CompletedTask;

    private JobGrainState S => state.State;

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // The state is loaded by now (not yet when the constructor ran).
        _tally = new JobTally(S);
        for (var i = 0; i < S.BatchSizes.Count; i++)
        {
            if (!S.Counted[i])
            {
                _silos.Holds(SiloOf(i));
            }
        }

        if (S.State == JobState.Running)
        {
            // The next call (clients poll GetStatusAsync) restarts dispatching from the durable state.
            LogResuming(logger, this.GetPrimaryKey(), S.CompletedBatches, S.BatchSizes.Count);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task<JobStatus> CreateAsync(JobSpec spec)
    {
        TaskTypes.EnsureRunnable(spec.TaskType);
        if (spec.BatchSize < 0)
        {
            throw new ArgumentException($"Batch size {spec.BatchSize} is negative.", nameof(spec));
        }

        if (S.Spec is not null)
        {
            return S.Spec == spec ? Status() : throw new InvalidOperationException($"Job {this.GetPrimaryKey()} already exists with another spec.");
        }

        if (spec.TaskType == TaskTypes.Ingest)
        {
            // Checked up front, so a job cannot run for an hour and then find nowhere to put its vectors.
            var name = spec.Collection ?? throw new ArgumentException("An e2e (ingest) job needs the collection to upsert into.", nameof(spec));
            ShardRouter.ValidateName(name);
            var target = await GrainFactory.GetGrain<IVectorCollectionGrain>(name).GetSpecAsync()
                ?? throw new KeyNotFoundException($"Collection '{name}' does not exist; create it with dimension {SentenceEmbedder.Dimension} first.");
            if (target.Dimension != SentenceEmbedder.Dimension)
            {
                throw new ArgumentException($"Collection '{name}' has dimension {target.Dimension}; the embedding model gives {SentenceEmbedder.Dimension}.");
            }
        }

        S.Spec = spec;
        // A document costs ~100× more to embed than to process as text, so embedding jobs default to a tenth of the
        // batch: batches stay well inside the run call's timeout and spread over more silos.
        S.BatchSize = spec.BatchSize > 0 ? spec.BatchSize
            : spec.TaskType == TaskTypes.TextProcessing ? settings.Performance.MessageBatchSize
            : Math.Max(1, settings.Performance.MessageBatchSize / 10);
        S.CreatedAt = DateTimeOffset.UtcNow;
        S.State = JobState.Created;
        await WriteAsync();
        await GrainFactory.GetGrain<IJobRegistryGrain>(0).AddAsync(this.GetPrimaryKey(), S.CreatedAt);
        return Status();
    }

    /// <inheritdoc />
    public Task<string[]> PlaceBatchesAsync(int firstBatch, int count)
    {
        EnsureTakesInput();
        if (count is < 1 or > MaxBatchesPerCall || firstBatch < 0)
        {
            throw new ArgumentException($"Batches {firstBatch}..{firstBatch + count - 1} cannot be placed: ask for 1 to {MaxBatchesPerCall} batches from 0 on.");
        }

        RefreshActiveSilos();
        return Task.FromResult(_silos.Place(S.Spec!.Distribution, firstBatch, count, DateTime.UtcNow));
    }

    /// <inheritdoc />
    public async Task AddBatchesAsync(JobBatch[] batches)
    {
        if (S.Spec is null)
        {
            throw new InvalidOperationException($"Job {this.GetPrimaryKey()} does not exist; create it first.");
        }

        if (batches.Length == 0 || batches[0].Index + batches.Length <= S.BatchSizes.Count && batches[0].Index >= 0)
        {
            // A retried call whose first attempt landed: already durable, nothing to do.
            return;
        }

        EnsureTakesInput();
        if (_appending)
        {
            // Usually the client's retry of a call it gave up waiting for (a silo left meanwhile): retryable, and the
            // retry finds the first attempt durable and returns.
            throw new OverloadedException($"Job {this.GetPrimaryKey()} is still taking the previous batches; send these again once it finishes (one call at a time).");
        }

        if (batches.Length > MaxBatchesPerCall)
        {
            throw new ArgumentException($"{batches.Length} batches in one call; the most is {MaxBatchesPerCall}.", nameof(batches));
        }

        var nextTask = S.TotalTasks;
        for (var i = 0; i < batches.Length; i++)
        {
            var b = batches[i];
            if (b.Index != S.BatchSizes.Count + i)
            {
                throw new ArgumentException($"Batches must continue from {S.BatchSizes.Count}; got batch {b.Index} at position {i}.", nameof(batches));
            }

            if (b.FirstTaskId != nextTask)
            {
                throw new ArgumentException($"Task ids must continue from {nextTask}; batch {b.Index} starts at {b.FirstTaskId}.", nameof(batches));
            }

            if (b.Tasks is < 1 or > MaxTasksPerBatch)
            {
                throw new ArgumentException($"Batch {b.Index} holds {b.Tasks} tasks; a batch holds 1 to {MaxTasksPerBatch}.", nameof(batches));
            }

            if (string.IsNullOrEmpty(b.Silo) || b.Silo.Contains('/', StringComparison.Ordinal))
            {
                throw new ArgumentException($"Batch {b.Index} names no silo it is stored on.", nameof(batches));
            }

            nextTask += b.Tasks;
        }

        _appending = true;
        try
        {
            foreach (var b in batches)
            {
                var silo = S.Silos.IndexOf(b.Silo);
                if (silo < 0)
                {
                    silo = S.Silos.Count;
                    S.Silos.Add(b.Silo);
                }

                S.BatchSizes.Add(b.Tasks);
                S.Counted.Add(false);
                S.BatchSilo.Add(silo);
                _silos.Holds(b.Silo);
                Enqueue(b.Index);
            }

            S.TotalTasks = nextTask;
            _dirty = true;
            await WriteAsync();
            _wake.TrySetResult();
        }
        finally
        {
            _appending = false;
        }
    }

    /// <inheritdoc />
    public async Task<JobStatus> StartAsync()
    {
        if (S.Spec is null)
        {
            throw new InvalidOperationException($"Job {this.GetPrimaryKey()} does not exist.");
        }

        if (S.State == JobState.Created)
        {
            S.State = JobState.Running;
            S.StartedAt = DateTimeOffset.UtcNow;
            await WriteAsync();
        }

        EnsureRunning();
        return Status();
    }

    /// <inheritdoc />
    public async Task<JobStatus> SealAsync()
    {
        if (S.Spec is null)
        {
            throw new InvalidOperationException($"Job {this.GetPrimaryKey()} does not exist.");
        }

        if (!S.InputSealed)
        {
            S.InputSealed = true;
            await WriteAsync();
            _wake.TrySetResult();
        }

        EnsureRunning();
        return Status();
    }

    /// <inheritdoc />
    public Task<JobStatus> GetStatusAsync()
    {
        if (S.Spec is null)
        {
            throw new KeyNotFoundException($"Job {this.GetPrimaryKey()} does not exist.");
        }

        EnsureRunning();
        return Task.FromResult(Status());
    }

    /// <inheritdoc />
    public async Task<JobStatus> WaitAsync(TimeSpan wait)
    {
        var status = await GetStatusAsync();
        if (status.IsFinished || wait <= TimeSpan.Zero)
        {
            return status;
        }

        await Task.WhenAny(_finished.Task, Task.Delay(wait < MaxWait ? wait : MaxWait));
        return Status();
    }

    /// <inheritdoc />
    public Task<JobResult?> GetResultAsync()
    {
        if (S.Spec is null)
        {
            return Task.FromResult<JobResult?>(null);
        }

        EnsureRunning();
        return Task.FromResult<JobResult?>(_tally.Result(Status()));
    }

    /// <inheritdoc />
    public async Task<JobStatus> CancelAsync()
    {
        if (S.Spec is null)
        {
            throw new KeyNotFoundException($"Job {this.GetPrimaryKey()} does not exist.");
        }

        if (!Status().IsFinished)
        {
            S.State = JobState.Cancelled;
            S.FinishedAt = DateTimeOffset.UtcNow;
            await WriteAsync();
            _wake.TrySetResult();
        }

        return Status();
    }

    private IJobBatchGrain BatchGrain(int index) => GrainFactory.GetGrain<IJobBatchGrain>(JobBatchKey.Of(this.GetPrimaryKey(), index, SiloOf(index)));

    private string SiloOf(int index) => S.Silos[S.BatchSilo[index]];

    private void EnsureTakesInput()
    {
        if (S.Spec is null)
        {
            throw new InvalidOperationException($"Job {this.GetPrimaryKey()} does not exist; create it first.");
        }

        if (S.InputSealed || S.State is JobState.Completed or JobState.Cancelled)
        {
            throw new InvalidOperationException($"Job {this.GetPrimaryKey()} takes no more tasks: its input is complete or it has finished.");
        }
    }

    private void Enqueue(int index)
    {
        var silo = SiloOf(index);
        if (!_pending.TryGetValue(silo, out var queue))
        {
            _pending[silo] = queue = new Queue<int>();
        }

        queue.Enqueue(index);
        _pendingCount++;
    }

    // The active silos change only with the membership version: read them again only then.
    private void RefreshActiveSilos()
    {
        var snapshot = membership.CurrentSnapshot;
        if (snapshot.Version != _activeVersion)
        {
            _silos.SetActive(snapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress.ToParsableString()));
            _activeVersion = snapshot.Version;
        }
    }

    private JobStatus Status() => new(
        this.GetPrimaryKey(), S.State, S.Spec?.TaskType ?? "", S.Spec?.Distribution ?? Distribution.RoundRobin, S.Spec?.Label,
        S.TotalTasks, S.Succeeded, S.Failed, S.BatchSizes.Count, S.CompletedBatches, S.RedispatchedBatches,
        S.CreatedAt, S.StartedAt, S.FinishedAt, localSilo.SiloAddress.ToParsableString(), Environment.ProcessId, S.BatchSize);

    private void EnsureRunning()
    {
        if (S.State == JobState.Running && !_superseded && (_run is null || _run.IsCompleted))
        {
            _run = RunAsync();
        }
    }

    private async Task RunAsync()
    {
        using var timer = this.RegisterGrainTimer(PersistIfDirtyAsync, new GrainTimerCreationOptions(PersistInterval, PersistInterval)
        {
            Interleave = true,
            KeepAlive = true,
        });
        _pending.Clear();
        _pendingCount = 0;
        for (var i = 0; i < S.BatchSizes.Count; i++)
        {
            if (!S.Counted[i])
            {
                Enqueue(i);
            }
        }

        while (!_superseded && ((S.State == JobState.Running && (_pendingCount > 0 || !S.InputSealed)) || _running > 0))
        {
            if (_wake.Task.IsCompleted)
            {
                _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            if (S.State == JobState.Running)
            {
                Dispatch();
            }

            if (_running == 0)
            {
                // Nothing to wait for but more input, or a silo to come out of suspicion while the cluster changes.
                await Task.WhenAny(_wake.Task, Task.Delay(_pendingCount > 0 ? 200 : 1000));
            }
            else
            {
                // Each finished batch wakes the loop (one signal, not a scan of every batch in flight).
                await _wake.Task;
            }
        }

        if (_superseded)
        {
            return;
        }

        if (S.State == JobState.Running)
        {
            S.State = JobState.Completed;
            S.FinishedAt = DateTimeOffset.UtcNow;
        }

        _dirty = false;
        await WriteAsync();
        _finished.TrySetResult();

        // Batches keep their input or result only while the job may still need them.
        await Task.WhenAll(Enumerable.Range(0, S.BatchSizes.Count).Select(i => BatchGrain(i).ClearAsync()));
    }

    // Each batch runs on the silo that holds it, at most four per worker thread of that silo at once; a batch whose silo
    // has left runs wherever its input is placed again.
    private void Dispatch()
    {
        if (_pendingCount == 0)
        {
            return;
        }

        var now = DateTime.UtcNow;
        RefreshActiveSilos();
        foreach (var (silo, queue) in _pending)
        {
            var slot = _silos.SlotOf(silo);
            if (_silos.IsSuspect(slot, now))
            {
                continue;
            }

            while (queue.Count > 0 && _silos.HasRoom(slot))
            {
                var batch = queue.Dequeue();
                _pendingCount--;
                _silos.Start(slot);
                _running++;
                _ = RunBatchAsync(batch, slot);
            }
        }
    }

    // Runs on the grain's scheduler like every turn of this (reentrant) grain, so it updates the state without locks.
    private async Task RunBatchAsync(int index, string slot)
    {
        try
        {
            Count(index, await BatchGrain(index).RunAsync(new BatchRun(S.Spec!.TaskType, S.Spec.Collection, S.BatchSizes[index])));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A lost silo is not the batch's fault: wait for membership to decide (the batch then reloads on another
            // silo), and do not count the attempt.
            var siloLost = IsSiloFailure(e);
            if (siloLost)
            {
                _silos.Suspect(slot, DateTime.UtcNow + SuspectFor);
            }

            var n = siloLost ? _attempts.GetValueOrDefault(index) : _attempts[index] = _attempts.GetValueOrDefault(index) + 1;
            LogBatchFailed(logger, e, this.GetPrimaryKey(), index, SiloOf(index), n);
            if (n >= MaxAttempts)
            {
                FailBatch(index, e);
            }
            else
            {
                S.RedispatchedBatches++;
                _dirty = true;
                Enqueue(index);
            }
        }
        finally
        {
            _silos.Finish(slot);
            _running--;
            _wake.TrySetResult();
        }
    }

    private static bool IsSiloFailure(Exception e) =>
        e is SiloUnavailableException or OrleansMessageRejectionException or TimeoutException
        || e.InnerException is not null && IsSiloFailure(e.InnerException);

    private void Count(int index, BatchResult result)
    {
        _silos.Reported(result.Silo, result.Capacity);
        if (_tally.Count(index, result))
        {
            _silos.Counted(SiloOf(index));
            _dirty = true;
        }
    }

    private void FailBatch(int index, Exception error) =>
        Count(index, _tally.Failed(index, $"batch {index} failed {MaxAttempts} times: {error.Message}"));

    private Task PersistIfDirtyAsync(CancellationToken cancellationToken)
    {
        if (!_dirty || !_writing.IsCompleted)
        {
            return Task.CompletedTask;
        }

        _dirty = false;
        return WriteAsync();
    }

    // One write at a time: overlapping writes of one activation would fail the storage's etag check.
    private async Task WriteAsync()
    {
        while (!_writing.IsCompleted)
        {
            await _writing;
        }

        try
        {
            _writing = state.WriteStateAsync();
            await _writing;
        }
        catch (Orleans.Storage.InconsistentStateException)
        {
            // Another activation of this job wrote after us (a directory partition was lost with a silo and the job
            // was activated again elsewhere). Its state is the truth: stop and leave.
            _superseded = true;
            _writing = Task.CompletedTask;
            LogSuperseded(logger, this.GetPrimaryKey());
            DeactivateOnIdle();
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} resumes after reactivation: {Completed} of {Total} batches counted")]
    private static partial void LogResuming(ILogger logger, Guid jobId, int completed, int total);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: another activation owns the job's state; this one stops")]
    private static partial void LogSuperseded(ILogger logger, Guid jobId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: batch {Batch} on {Silo} failed (attempt {Attempt}); it will run again")]
    private static partial void LogBatchFailed(ILogger logger, Exception error, Guid jobId, int batch, string silo, int attempt);
}
