namespace Agents.Cli;

/// <summary>A job run from this command: started, fed its tasks, and followed to its result.</summary>
public static class JobSubmission
{
    /// <summary>Starts a job, streams its tasks while showing its progress, and returns its result.</summary>
    public static async Task<(Guid JobId, JobResult Result)> RunAsync(
        AgentsClient client, JobSpec spec, IEnumerable<JobTask> tasks, bool quiet, CancellationToken cancellationToken)
    {
        var jobId = await client.StartJobAsync(spec, cancellationToken);
        using var feedFailed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var feeding = Task.Run(async () =>
        {
            try
            {
                await client.AppendAsync(jobId, tasks, cancellationToken);
                await client.SealAsync(jobId, cancellationToken);
            }
            catch
            {
                // A job whose input never completes never finishes: stop following it.
                await feedFailed.CancelAsync();
                throw;
            }
        }, cancellationToken);
        try
        {
            var result = await ProgressReporter.FollowAsync(client, jobId, quiet, feedFailed.Token);
            await feeding;
            return (jobId, result);
        }
        catch (OperationCanceledException) when (feeding.IsFaulted)
        {
            await client.CancelAsync(jobId, CancellationToken.None);
            await feeding;
            throw;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await CancelOnStopAsync(client, jobId);
            throw;
        }
    }

    /// <summary>
    /// A job this command runs attached is cancelled when the command is stopped (Ctrl-C, SIGTERM), as an attached
    /// <c>docker run</c> stops its container; the cancel gets one second, since the command itself must end within two.
    /// </summary>
    public static async Task CancelOnStopAsync(AgentsClient client, Guid jobId)
    {
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        try
        {
            await client.CancelAsync(jobId, bound.Token);
            await Console.Error.WriteLineAsync($"stopped: job {jobId} cancelled");
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException)
        {
            await Console.Error.WriteLineAsync($"stopped: job {jobId} may still be running; 'jobs cancel {jobId}' stops it");
        }
    }
}
