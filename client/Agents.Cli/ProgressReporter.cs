using Spectre.Console;

namespace Agents.Cli;

/// <summary>The one progress reporter: a bar on a terminal, a plain line a second otherwise.</summary>
public static class ProgressReporter
{
    /// <summary>True when stdout is a terminal a bar can be drawn on.</summary>
    public static bool IsInteractive => !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>Waits for a job, showing its progress, and returns its result.</summary>
    public static async Task<JobResult> FollowAsync(AgentsClient client, Guid jobId, bool quiet, CancellationToken cancellationToken)
    {
        if (quiet)
        {
            return await client.WaitAsync(jobId, cancellationToken: cancellationToken);
        }

        if (IsInteractive)
        {
            JobResult? result = null;
            await AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .StartAsync(async ctx =>
                {
                    var bar = ctx.AddTask($"job {jobId:N}"[..12]);
                    result = await client.WaitAsync(jobId, new Progress<JobStatus>(s =>
                    {
                        bar.MaxValue = Math.Max(1, s.TotalTasks);
                        bar.Value = s.CountedTasks;
                    }), cancellationToken);
                    bar.Value = bar.MaxValue;
                });
            return result!;
        }

        var last = DateTime.MinValue;
        return await client.WaitAsync(jobId, new Progress<JobStatus>(s =>
        {
            if (DateTime.UtcNow - last >= TimeSpan.FromSeconds(1) || s.IsFinished)
            {
                last = DateTime.UtcNow;
                Console.WriteLine($"job {s.JobId}: {s.State.ToString().ToLowerInvariant()} {s.CountedTasks}/{s.TotalTasks} tasks, {s.CompletedBatches}/{s.TotalBatches} batches");
            }
        }), cancellationToken);
    }
}
