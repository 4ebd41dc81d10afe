using System.Diagnostics;

namespace Agents.Tests.Infrastructure;

/// <summary>Runs the real <c>p2p-ai-agents</c> command from the test's output folder.</summary>
public static class CliProcess
{
    public sealed record Outcome(int ExitCode, string Stdout, string Stderr);

    public static Task<Outcome> RunAsync(IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null) =>
        RunToolAsync("dotnet", [Path.Combine(AppContext.BaseDirectory, "p2p-ai-agents.dll"), .. arguments], AppContext.BaseDirectory, environment, timeout);

    /// <summary>Runs any program to its end (killing it after <paramref name="timeout"/>, 120 s by default).</summary>
    public static async Task<Outcome> RunToolAsync(
        string file, IEnumerable<string> arguments, string directory, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            // Not the test runner's terminal: a command that would ask a question sees no one to answer it.
            RedirectStandardInput = true,
            WorkingDirectory = directory,
        };
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[k] = v;
        }

        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(120));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', start.ArgumentList)} did not finish: {await stdout}{await stderr}");
        }

        return new Outcome(process.ExitCode, await stdout, await stderr);
    }
}
