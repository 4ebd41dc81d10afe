using System.Diagnostics;
using Agents.Grains.Configuration;

namespace Agents.Grains.Jobs;

/// <summary>
/// Splits a job into batches, spreads them over the active silos and counts each batch once in durable state.
/// A batch lost with a silo is dispatched again; a job whose own silo dies resumes where its state left off
/// when it is next called (clients poll it), so no task is lost or counted twice. An idle job leaves memory after two
/// minutes rather than Orleans' default fifteen (its state is durable): a steady stream of small jobs otherwise keeps
/// thousands of finished ones resident (the soak run showed silo memory climbing with them). Placed by rendezvous
/// hashing, so a silo's death elsewhere cannot start a second activation of a running job.
/// </summary>
[Reentrant, CollectionAgeLimit(Minutes = 2), Hosting.RendezvousPlacement]
public sealed partial class JobGrain(
    [PersistentState("job", JobStorage.Name)] IPersistentState<JobGrainState> state,
    IClusterMembershipService membership,
    ILocalSiloDetails localSilo,
    AgentsSettings settings,
    ILogger<JobGrain> logger) : Grain, IJobGrain
{
    /// <summary>Failures kept with their messages; the count covers all of them.</summary>
    public const int FailuresKept = 100;

    private const int KeywordsKept = 500;
    private const int MaxAttempts = 20;
    private static readonly TimeSpan PersistInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan SuspectFor = TimeSpan.FromSeconds(10);

    private readonly Dictionary<int, JobTask[]> _inputs = [];
    private readonly Dictionary<SiloAddress, int> _inFlight = [];
    private readonly Dictionary<string, int> _capacity = [];
    private readonly Dictionary<SiloAddress, DateTime> _suspects = [];
    private static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(5);
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Queue<int> _pending = new();
    private TaskCompletionSource _inputArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _appending;
    private bool _superseded;
    private Task? _run;
    private int _nextSilo;
    private bool _dirty;
    private Task _writing = Task.CompletedTask;

    private JobGrainState S => state.State;

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
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
            Vectors.ShardRouter.ValidateName(name);
            var target = await GrainFactory.GetGrain<IVectorCollectionGrain>(name).GetSpecAsync()
                ?? throw new KeyNotFoundException($"Collection '{name}' does not exist; create it with dimension {Embeddings.SentenceEmbedder.Dimension} first.");
            if (target.Dimension != Embeddings.SentenceEmbedder.Dimension)
            {
                throw new ArgumentException($"Collection '{name}' has dimension {target.Dimension}; the embedding model gives {Embeddings.SentenceEmbedder.Dimension}.");
            }
        }

        S.Spec = spec;
        // A document costs ~100× more to embed than to process as text, so embedding jobs default to a tenth of the
        // batch: batches stay well inside the worker call's timeout and spread over more workers.
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
    public async Task AppendTasksAsync(JobTask[] tasks)
    {
        if (S.Spec is null)
        {
            throw new InvalidOperationException($"Job {this.GetPrimaryKey()} does not exist; create it first.");
        }

        if (tasks.Length > 0 && tasks[0].Id + tasks.Length <= S.TotalTasks)
        {
            // A retried append whose first attempt landed: already durable, nothing to do.
            return;
        }

        if (S.InputSealed || S.State is JobState.Completed or JobState.Cancelled)
        {
            throw new InvalidOperationException($"Job {this.GetPrimaryKey()} takes no more tasks: its input is complete or it has finished.");
        }

        if (_appending)
        {
            // Usually the client's retry of an append it gave up waiting for (a silo left meanwhile): retryable, and
            // the retry finds the first attempt durable and returns.
            throw new OverloadedException($"Job {this.GetPrimaryKey()} is still taking the previous append; send this one again once it finishes (appends go one at a time).");
        }

        for (var i = 0; i < tasks.Length; i++)
        {
            if (tasks[i].Id != S.TotalTasks + i)
            {
                throw new ArgumentException($"Task ids must continue from {S.TotalTasks}; got {tasks[i].Id} at position {i}.", nameof(tasks));
            }
        }

        _appending = true;
        try
        {
            // An oversized document is counted as failed here, so it is never stored or shipped to a worker.
            var max = settings.Text.MaxDocumentSize;
            var rejected = tasks.Where(t => t.Content.Length > max).ToList();
            var accepted = rejected.Count == 0 ? tasks : tasks.Where(t => t.Content.Length <= max).ToArray();
            var batches = accepted.Chunk(S.BatchSize).ToList();
            var first = S.BatchSizes.Count;

            // Durable first; only then do the batches join the state (and the dispatcher) in one turn.
            await Task.WhenAll(batches.Select((chunk, i) => BatchGrain(first + i).SetAsync(chunk)));
            foreach (var chunk in batches)
            {
                var index = S.BatchSizes.Count;
                S.BatchSizes.Add(chunk.Length);
                S.Counted.Add(false);
                _inputs[index] = chunk;
                _pending.Enqueue(index);
            }

            foreach (var task in rejected)
            {
                S.Failed++;
                S.TaskIdSum += task.Id;
                if (S.Failures.Count < FailuresKept)
                {
                    S.Failures.Add(new TaskFailure(task.Id, task.Name,
                        $"The document is too large: {task.Content.Length / 1048576.0:F1} MB ({task.Content.Length} bytes); the largest accepted is {Configuration.ValueParsers.FormatSize(max)} (text.max_document_size)."));
                }
            }

            S.TotalTasks += tasks.Length;
            await WriteAsync();
            _inputArrived.TrySetResult();
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
            _inputArrived.TrySetResult();
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

        var counted = S.Succeeded + S.Failed;
        var latency = new LatencySummary(
            LatencyHistogram.Quantile(S.Latency, 0.50), LatencyHistogram.Quantile(S.Latency, 0.95),
            LatencyHistogram.Quantile(S.Latency, 0.99), S.LatencyMax, counted == 0 ? 0 : S.LatencySum / counted);
        var keywords = S.Keywords.OrderByDescending(k => k.Value).ThenBy(k => k.Key, StringComparer.Ordinal)
            .Take(20).Select(k => new KeywordCount(k.Key, k.Value)).ToList();
        return Task.FromResult<JobResult?>(new JobResult(
            Status(), S.Totals, S.PerSilo.Values.OrderBy(s => s.Silo, StringComparer.Ordinal).ToList(),
            latency, S.Failures.ToList(), keywords, S.TaskIdSum));
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
        }

        return Status();
    }

    private IJobBatchGrain BatchGrain(int index) => GrainFactory.GetGrain<IJobBatchGrain>($"{this.GetPrimaryKey():N}/{index}");

    private JobStatus Status() => new(
        this.GetPrimaryKey(), S.State, S.Spec?.TaskType ?? "", S.Spec?.Distribution ?? Distribution.RoundRobin, S.Spec?.Label,
        S.TotalTasks, S.Succeeded, S.Failed, S.BatchSizes.Count, S.CompletedBatches, S.RedispatchedBatches,
        S.CreatedAt, S.StartedAt, S.FinishedAt, localSilo.SiloAddress.ToParsableString(), Environment.ProcessId);

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
        foreach (var i in Enumerable.Range(0, S.BatchSizes.Count).Where(i => !S.Counted[i]))
        {
            _pending.Enqueue(i);
        }

        var pending = _pending;
        var inFlight = new Dictionary<Task<BatchResult>, (int Batch, SiloAddress Silo)>();
        var attempts = new Dictionary<int, int>();
        while (!_superseded && ((S.State == JobState.Running && (pending.Count > 0 || !S.InputSealed)) || inFlight.Count > 0))
        {
            while (S.State == JobState.Running && pending.Count > 0 && ChooseSilo() is { } silo)
            {
                var batch = pending.Dequeue();
                _inFlight[silo] = _inFlight.GetValueOrDefault(silo) + 1;
                inFlight[DispatchAsync(batch, silo)] = (batch, silo);
            }

            if (_inputArrived.Task.IsCompleted)
            {
                _inputArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            if (inFlight.Count == 0)
            {
                // Nothing to wait for but more input, or an active silo to take work while the cluster changes.
                await Task.WhenAny(_inputArrived.Task, Task.Delay(pending.Count > 0 ? 200 : 1000));
                continue;
            }

            if (await Task.WhenAny(inFlight.Keys.Append<Task>(_inputArrived.Task)) is not Task<BatchResult> done)
            {
                continue;
            }

            var (index, target) = inFlight[done];
            inFlight.Remove(done);
            _inFlight[target]--;
            try
            {
                Count(index, await done);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A lost silo is not the batch's fault: avoid the silo until membership decides, and do not count the attempt.
                var siloLost = IsSiloFailure(e);
                if (siloLost)
                {
                    _suspects[target] = DateTime.UtcNow + SuspectFor;
                }

                var n = siloLost ? attempts.GetValueOrDefault(index) : attempts[index] = attempts.GetValueOrDefault(index) + 1;
                LogBatchFailed(logger, e, this.GetPrimaryKey(), index, target, n);
                if (n >= MaxAttempts)
                {
                    await FailBatchAsync(index, e);
                }
                else
                {
                    S.RedispatchedBatches++;
                    _dirty = true;
                    pending.Enqueue(index);
                }
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
        if (S.State == JobState.Completed)
        {
            _inputs.Clear();
            // The inputs are no longer needed once every batch is counted.
            await Task.WhenAll(Enumerable.Range(0, S.BatchSizes.Count).Select(i => BatchGrain(i).ClearAsync()));
        }
    }

    private static bool IsSiloFailure(Exception e) =>
        e is SiloUnavailableException or OrleansMessageRejectionException or TimeoutException
        || e.InnerException is not null && IsSiloFailure(e.InnerException);

    private async Task<BatchResult> DispatchAsync(int batch, SiloAddress silo)
    {
        if (!_inputs.TryGetValue(batch, out var tasks))
        {
            tasks = await BatchGrain(batch).GetAsync();
            _inputs[batch] = tasks;
        }

        var work = new BatchWork(this.GetPrimaryKey(), batch, S.Spec!.TaskType, tasks, S.Spec.Collection);
        return await GrainFactory.GetGrain<IWorkerGrain>(silo.ToParsableString()).ProcessAsync(work);
    }

    private SiloAddress? ChooseSilo()
    {
        var now = DateTime.UtcNow;
        var active = membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active)
            .Select(m => m.SiloAddress)
            .OrderBy(a => a.ToParsableString(), StringComparer.Ordinal)
            .ToList();
        var silos = active.Where(s => _suspects.GetValueOrDefault(s) < now).ToList();
        if (silos.Count == 0)
        {
            return null;
        }

        int Limit(SiloAddress s) => 2 * _capacity.GetValueOrDefault(s.ToParsableString(), 2);
        bool HasRoom(SiloAddress s) => _inFlight.GetValueOrDefault(s) < Limit(s);

        switch (S.Spec!.Distribution)
        {
            case Distribution.RoundRobin:
                // Strict rotation: wait for the next silo in turn rather than skip it, so shares stay equal.
                var next = silos[_nextSilo % silos.Count];
                if (!HasRoom(next))
                {
                    return null;
                }

                _nextSilo++;
                return next;
            case Distribution.Random:
                var pick = silos[Random.Shared.Next(silos.Count)];
                return HasRoom(pick) ? pick : null;
            default:
                // Ties (often all idle) go to a random one of the least loaded, so no silo is favoured by its name.
                double Load(SiloAddress s) => (double)_inFlight.GetValueOrDefault(s) / Limit(s);
                var lowest = silos.Min(Load);
                var least = silos.Where(s => Load(s) <= lowest).ToList();
                var choice = least[Random.Shared.Next(least.Count)];
                return HasRoom(choice) ? choice : null;
        }
    }

    private void Count(int index, BatchResult result)
    {
        _capacity[result.Silo] = Math.Max(1, result.Capacity);
        _inputs.Remove(index);
        if (S.Counted[index])
        {
            return;
        }

        S.Counted[index] = true;
        S.CompletedBatches++;
        S.Succeeded += result.Succeeded;
        S.Failed += result.Failures.Length;
        S.Totals = S.Totals.Add(result.Totals);
        S.TaskIdSum += result.TaskIdSum;
        foreach (var failure in result.Failures.Take(FailuresKept - S.Failures.Count))
        {
            S.Failures.Add(failure);
        }

        var share = S.PerSilo.GetValueOrDefault(result.Silo) ?? new SiloShare(result.Silo, 0, 0, 0);
        S.PerSilo[result.Silo] = share with
        {
            Batches = share.Batches + 1,
            Tasks = share.Tasks + result.Succeeded + result.Failures.Length,
            BusySeconds = share.BusySeconds + result.BusySeconds,
        };
        foreach (var ms in result.TaskMilliseconds)
        {
            LatencyHistogram.Record(S.Latency, ms);
            S.LatencySum += ms;
            S.LatencyMax = Math.Max(S.LatencyMax, ms);
        }

        foreach (var keyword in result.Keywords)
        {
            S.Keywords[keyword.Term] = S.Keywords.GetValueOrDefault(keyword.Term) + keyword.Documents;
        }

        if (S.Keywords.Count > 2 * KeywordsKept)
        {
            // Bounded state: keep the most frequent terms (the top of the list is what a user reads).
            S.Keywords = S.Keywords.OrderByDescending(k => k.Value).Take(KeywordsKept).ToDictionary();
        }

        _dirty = true;
    }

    private async Task FailBatchAsync(int index, Exception error)
    {
        var tasks = _inputs.TryGetValue(index, out var cached) ? cached : await BatchGrain(index).GetAsync();
        var failures = tasks.Select(t => new TaskFailure(t.Id, t.Name, $"batch {index} failed {MaxAttempts} times: {error.Message}")).ToArray();
        Count(index, new BatchResult(index, "none", 1, 0, TextTotals.Zero, failures, [], [], tasks.Sum(t => (long)t.Id), 0));
    }

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
    private static partial void LogBatchFailed(ILogger logger, Exception error, Guid jobId, int batch, SiloAddress silo, int attempt);
}
