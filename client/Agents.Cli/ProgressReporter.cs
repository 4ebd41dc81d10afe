using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace Agents.Cli;

/// <summary>
/// The one progress reporter, always on stderr so results on stdout stay clean: a live bar when stderr is a terminal,
/// otherwise a plain line a second. Each names what runs (<c>ingest notes</c>, <c>benchmark text-processing</c>) with
/// its counts, rate and time left, and its last line is written before the caller prints a result.
/// </summary>
public static class ProgressReporter
{
    private static readonly Lazy<IAnsiConsole> ErrorConsole = new(() => AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(Console.Error),
        Interactive = IsInteractive ? InteractionSupport.Yes : InteractionSupport.No,
    }));

    /// <summary>True when stderr is a terminal a live bar can be drawn on.</summary>
    public static bool IsInteractive => !Console.IsErrorRedirected && Environment.GetEnvironmentVariable("TERM") is not "dumb";

    /// <summary>One line of what is happening now ("starting silo"), on stderr; nothing when <paramref name="quiet"/> and stderr is not a terminal.</summary>
    public static void Say(string line, bool quiet = false)
    {
        if (!quiet || IsInteractive)
        {
            Console.Error.WriteLine(line);
        }
    }

    /// <summary>Connects to <paramref name="target"/>, saying first what that involves (starting a silo takes seconds).</summary>
    public static Task<AgentsClient> ConnectAsync(Target target, bool quiet, CancellationToken cancellationToken)
    {
        Say(target.IsEmbedded ? "starting silo" : $"connecting to {target.Describe()}", quiet);
        return target.ConnectAsync(cancellationToken);
    }

    /// <summary>What a job is shown as: its label and task type (<c>benchmark text-processing</c>, <c>warming up embedding</c>).</summary>
    public static string Title(JobSpec spec) => spec.Label switch
    {
        null or "" => spec.TaskType,
        "warm-up" => $"warming up ({spec.TaskType})",
        "benchmark" => $"benchmark {spec.TaskType}",
        var label => $"{spec.TaskType} {label}",
    };

    /// <summary>Waits for a job, showing its progress under <paramref name="title"/>, and returns its result.</summary>
    /// <param name="expectedTasks">The tasks the job will hold, when known while they are still being added.</param>
    public static Task<JobResult> FollowAsync(
        AgentsClient client, Guid jobId, string title, bool quiet, CancellationToken cancellationToken, long? expectedTasks = null) =>
        RunAsync(title, "tasks", quiet, report => client.WaitAsync(
            jobId,
            new Reported<JobStatus>(s => report(s.CountedTasks, Math.Max(s.TotalTasks, expectedTasks ?? 0))),
            cancellationToken));

    /// <summary>
    /// Runs <paramref name="work"/>, which reports (done, total) of <paramref name="unit"/> as it goes (cheaply, from
    /// any thread: the display is refreshed apart from it), showing its progress; the last line is written before this
    /// returns.
    /// </summary>
    public static async Task<T> RunAsync<T>(string title, string unit, bool quiet, Func<Action<long, long>, Task<T>> work)
    {
        var line = new ProgressLine(title, unit);
        if (IsInteractive)
        {
            T result = default!;
            await ErrorConsole.Value.Progress()
                .AutoClear(false)
                .HideCompleted(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .StartAsync(async ctx =>
                {
                    var bar = ctx.AddTask(Markup.Escape(line.Describe(withTimeLeft: false)), maxValue: 1);
                    bar.IsIndeterminate = true;
                    void Show()
                    {
                        var (done, total) = line.Counts;
                        if (total > 0)
                        {
                            bar.IsIndeterminate = false;
                            bar.MaxValue = total;
                            bar.Value = Math.Min(done, total);
                        }

                        bar.Description = Markup.Escape(line.Describe(withTimeLeft: false));
                    }

                    result = await WithRefreshAsync(work(line.Update), TimeSpan.FromMilliseconds(200), Show);
                    Show();
                    bar.Description = Markup.Escape(line.Final());
                    bar.IsIndeterminate = false;
                    bar.Value = bar.MaxValue;
                    bar.StopTask();
                });
            return result;
        }

        if (quiet)
        {
            return await work((_, _) => { });
        }

        Console.Error.WriteLine(line.Describe(withTimeLeft: true));
        var value = await WithRefreshAsync(work(line.Update), TimeSpan.FromSeconds(1), () =>
        {
            // A line a second while there is something counted and more to come; the final one is written below.
            var (done, total) = line.Counts;
            if (done > 0 && done < total)
            {
                Console.Error.WriteLine(line.Describe(withTimeLeft: true));
            }
        });
        Console.Error.WriteLine(line.Final());
        return value;
    }

    /// <summary>Awaits <paramref name="work"/>, calling <paramref name="show"/> every <paramref name="period"/> until it ends (and not after).</summary>
    private static async Task<T> WithRefreshAsync<T>(Task<T> work, TimeSpan period, Action show)
    {
        using var timer = new PeriodicTimer(period);
        while (!work.IsCompleted)
        {
            var tick = timer.WaitForNextTickAsync().AsTask();
            if (await Task.WhenAny(work, tick) == tick)
            {
                show();
            }
        }

        return await work;
    }

    /// <summary>"12 s", "3 min 20 s", "1 h 05 min".</summary>
    public static string FormatDuration(TimeSpan t) =>
        t.TotalSeconds < 60 ? $"{Math.Ceiling(t.TotalSeconds):F0} s"
        : t.TotalMinutes < 60 ? $"{(int)t.TotalMinutes} min {t.Seconds:D2} s"
        : $"{(int)t.TotalHours} h {t.Minutes:D2} min";

    /// <summary>The text of a progress line: counts, rate and time left, measured from its first update.</summary>
    public sealed class ProgressLine(string title, string unit)
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();

        private readonly Lock _lock = new();
        private long _done;
        private long _total;

        /// <summary>Counted so far, and the whole (0: not known yet), read together.</summary>
        public (long Done, long Total) Counts
        {
            get
            {
                lock (_lock)
                {
                    return (_done, _total);
                }
            }
        }

        /// <summary>Since the work started.</summary>
        public TimeSpan Elapsed => _clock.Elapsed;

        /// <summary>Takes the latest counts (from any thread; counts only grow).</summary>
        public void Update(long done, long total)
        {
            lock (_lock)
            {
                _done = Math.Max(_done, done);
                _total = Math.Max(Math.Max(_total, total), _done);
            }
        }

        /// <summary>"benchmark text-processing: 1,200/10,000 tasks, 2,400/s, 4 s left".</summary>
        public string Describe(bool withTimeLeft)
        {
            var (done, total) = Counts;
            if (done == 0)
            {
                return $"{title}: starting";
            }

            var rate = done / Math.Max(Elapsed.TotalSeconds, 1e-3);
            var counts = total > 0 ? $"{N(done)}/{N(total)} {unit}" : $"{N(done)} {unit}";
            var left = withTimeLeft && total > done ? $", {FormatDuration(TimeSpan.FromSeconds((total - done) / rate))} left" : "";
            return $"{title}: {counts}, {N(rate)}/s{left}";
        }

        /// <summary>"benchmark text-processing: 10,000/10,000 tasks in 4.1 s (2,439/s)".</summary>
        public string Final()
        {
            var (done, total) = Counts;
            return $"{title}: {N(done)}/{N(total)} {unit} in {Elapsed.TotalSeconds:F1} s ({N(done / Math.Max(Elapsed.TotalSeconds, 1e-3))}/s)";
        }

        private static string N(double value) => value.ToString("N0", CultureInfo.InvariantCulture);
    }

    /// <summary>An <see cref="IProgress{T}"/> that reports on the caller's thread, so no report lands after the work returns.</summary>
    public sealed class Reported<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
