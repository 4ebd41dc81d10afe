namespace Agents.Client;

/// <summary>
/// Polls the cluster's active silos and signals each time one leaves. A call whose silo is SIGKILLed gets no answer
/// (the request died with the process), so without this it would wait out the whole response timeout; the client
/// retries such calls as soon as the cluster has declared the silo dead instead.
/// </summary>
internal sealed class SiloLossWatcher : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private TaskCompletionSource _lost = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public SiloLossWatcher(IClusterClient cluster, TimeSpan period)
    {
        _loop = RunAsync(cluster.GetGrain<IManagementGrain>(0), period);
    }

    /// <summary>Completes when the next silo leaves the cluster.</summary>
    public Task NextLoss => Volatile.Read(ref _lost).Task;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }

    private async Task RunAsync(IManagementGrain management, TimeSpan period)
    {
        HashSet<SiloAddress>? known = null;
        using var timer = new PeriodicTimer(period);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                try
                {
                    var active = (await management.GetHosts(onlyActive: true).WaitAsync(period * 4, _stop.Token)).Keys.ToHashSet();
                    if (known is not null && known.Except(active).Any())
                    {
                        Interlocked.Exchange(ref _lost, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
                    }

                    known = active;
                }
                catch (Exception) when (!_stop.IsCancellationRequested)
                {
                    // The poll itself was lost with a silo (or timed out): the next tick asks again.
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }
}
