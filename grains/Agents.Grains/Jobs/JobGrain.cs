using System.Diagnostics;
using Agents.Engine;

namespace Agents.Grains.Jobs;

/// <summary>
/// The control plane of a job: places its batches on the active silos, dispatches each to the silo that holds its input
/// and counts each batch once in durable state. Documents never pass through here: a client stores each batch on the
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
    /// <summary>Failures kept with their messages; the count covers all of them.</summary>
    public const int FailuresKept = 100;

    /// <summary>Most batches one <see cref="IJobGrain.PlaceBatchesAsync"/> or <see cref="IJobGrain.AddBatchesAsync"/> call takes.</summary>
    public const int MaxBatchesPerCall = 10_000;

    /// <summary>Most tasks one batch holds.</summary>
    public const int MaxTasksPerBatch = 100_000;

    private const int KeywordsKept = 500;
    private const int MaxAttempts = 20;

    // The in-flight slot of batches whose silo has left the cluster: they run wherever their input is placed again.
    private const string Elsewhere = "";
    private static readonly TimeSpan PersistInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan SuspectFor = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(5);

    private readonly Dictionary<string, Queue<int>> _pending = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _inFlight = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _uncounted = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _capacity = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTime> _suspects = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Dictionary<int, int> _attempts = [];
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private HashSet<string> _active = [];
    private MembershipVersion _activeVersion = MembershipVersion.MinValue;
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
        for (var i = 0; i < S.BatchSizes.Count; i++)
        {
            if (!S.Counted[i])
            {
                _uncounted[SiloOf(i)] = _uncounted.GetValueOrDefault(SiloOf(i)) + 1;
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

        var now = DateTime.UtcNow;
        var silos = ActiveSilos().Where(s => _suspects.GetValueOrDefault(s) < now).ToList();
        if (silos.Count == 0)
        {
            throw new OverloadedException("No active silo can take a batch now; try again once the cluster has one.");
        }

        var placed = new string[count];
        var planned = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            placed[i] = S.Spec!.Distribution switch
            {
                Distribution.RoundRobin => silos[(firstBatch + i) % silos.Count],
                Distribution.Random => silos[Random.Shared.Next(silos.Count)],
                _ => LeastLoaded(silos, planned),
            };
            planned[placed[i]] = planned.GetValueOrDefault(placed[i]) + 1;
        }

        return Task.FromResult(placed);
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
                _uncounted[b.Silo] = _uncounted.GetValueOrDefault(b.Silo) + 1;
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

    private List<string> ActiveSilos() => membership.CurrentSnapshot.Members.Values
        .Where(m => m.Status == SiloStatus.Active)
        .Select(m => m.SiloAddress.ToParsableString())
        .Order(StringComparer.Ordinal)
        .ToList();

    // Four batches per worker thread in flight: a silo always has the next ones queued, even while the silo that hosts
    // this grain is busy (under a CPU cap, paused for most of each period) and cannot dispatch.
    private int Limit(string silo) => 4 * _capacity.GetValueOrDefault(silo, 1);

    // The silo with the least work outstanding for its capacity; ties (often all idle) go to a random one of them.
    private string LeastLoaded(List<string> silos, Dictionary<string, int> planned)
    {
        double Load(string s) => (double)(_uncounted.GetValueOrDefault(s) + planned.GetValueOrDefault(s)) / Limit(s);
        var lowest = silos.Min(Load);
        var least = silos.Where(s => Load(s) <= lowest).ToList();
        return least[Random.Shared.Next(least.Count)];
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
        var snapshot = membership.CurrentSnapshot;
        if (snapshot.Version != _activeVersion)
        {
            (_active, _activeVersion) = (ActiveSilos().ToHashSet(StringComparer.Ordinal), snapshot.Version);
        }

        foreach (var (silo, queue) in _pending)
        {
            var slot = _active.Contains(silo) ? silo : Elsewhere;
            if (slot != Elsewhere && _suspects.GetValueOrDefault(silo) > now)
            {
                continue;
            }

            while (queue.Count > 0 && _inFlight.GetValueOrDefault(slot) < Limit(slot))
            {
                var batch = queue.Dequeue();
                _pendingCount--;
                _inFlight[slot] = _inFlight.GetValueOrDefault(slot) + 1;
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
            if (siloLost && slot != Elsewhere)
            {
                _suspects[slot] = DateTime.UtcNow + SuspectFor;
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
            _inFlight[slot]--;
            _running--;
            _wake.TrySetResult();
        }
    }

    private static bool IsSiloFailure(Exception e) =>
        e is SiloUnavailableException or OrleansMessageRejectionException or TimeoutException
        || e.InnerException is not null && IsSiloFailure(e.InnerException);

    private void Count(int index, BatchResult result)
    {
        _capacity[result.Silo] = Math.Max(1, result.Capacity);
        if (S.Counted[index])
        {
            return;
        }

        S.Counted[index] = true;
        _uncounted[SiloOf(index)]--;
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

    private void FailBatch(int index, Exception error)
    {
        var first = S.BatchSizes.Take(index).Sum();
        var ids = Enumerable.Range(first, S.BatchSizes[index]).ToArray();
        var failures = ids.Select(id => new TaskFailure(id, $"task {id}", $"batch {index} failed {MaxAttempts} times: {error.Message}")).ToArray();
        Count(index, new BatchResult(index, "none", 1, 0, TextTotals.Zero, failures, [], [], ids.Sum(id => (long)id), 0));
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
    private static partial void LogBatchFailed(ILogger logger, Exception error, Guid jobId, int batch, string silo, int attempt);
}
