using System.CommandLine;

namespace Agents.Cli;

/// <summary>How every command ends: its exit code, and an error as one line on stderr.</summary>
internal static class CommandAction
{
    /// <summary>
    /// Runs <paramref name="action"/>: bad input exits 2 with its message (a bad option value also points to the
    /// command's help), a cluster that cannot be reached exits 3 naming what was tried, a call the cluster failed exits 1
    /// with what and where in one line, and anything else is the action's own exit code.
    /// </summary>
    public static async Task<int> Run(ParseResult parse, Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (ClusterUnreachableException e)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}");
            return 3;
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}\nRun '{string.Join(' ', Path(parse))} --help' for usage.");
            return 2;
        }
        catch (Exception e) when (e is ConfigurationException or KeyNotFoundException or IOException or InvalidOperationException or InvalidDataException)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}");
            return 2;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The cluster failed the call: say what and where in one line; the stack is for the silo's log.
            var inner = e.InnerException is { } i && i.Message != e.Message ? $" ({i.GetType().Name}: {i.Message})" : "";
            await Console.Error.WriteLineAsync($"error: {e.GetType().Name}: {e.Message.Split('\n')[0].Trim()}{inner}");
            return 1;
        }
    }

    private static IEnumerable<string> Path(ParseResult parse)
    {
        var names = new Stack<string>();
        for (var r = parse.CommandResult; r is not null; r = r.Parent as System.CommandLine.Parsing.CommandResult)
        {
            names.Push(r.Command.Name);
        }

        return names;
    }
}
