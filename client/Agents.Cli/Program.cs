using System.CommandLine;
using System.CommandLine.Invocation;
using System.Runtime.InteropServices;
using Agents.Cli;

// A command line that does not parse is refused here, in two lines on stderr, with exit code 2: nothing starts.
var parse = Commands.Build().Parse(args);
if (parse.Action is ParseErrorAction)
{
    await Console.Error.WriteLineAsync(CommandLineErrors.Describe(parse));
    return 2;
}

// Ctrl-C or SIGTERM cancels the command's token (the command stops what it runs and the silos it started) and the
// command ends with 130 / 143; one that has not finished 2 s later, or a second signal, ends the process with that code.
// The signals are handled here rather than by System.CommandLine, so the exit code never races the command's own end.
using var stop = new CancellationTokenSource();
var signalled = 0;
void OnSignal(PosixSignalContext context, int code)
{
    context.Cancel = true;
    if (Interlocked.CompareExchange(ref signalled, code, 0) != 0)
    {
        Environment.Exit(signalled);
    }

    _ = stop.CancelAsync();
    _ = Task.Delay(TimeSpan.FromSeconds(2)).ContinueWith(_ => Environment.Exit(signalled), TaskScheduler.Default);
}

using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => OnSignal(context, 130));
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => OnSignal(context, 143));
var code = await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }, stop.Token);
return Volatile.Read(ref signalled) is var s and not 0 ? s : code;
