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

// Ctrl-C or SIGTERM cancels the command's token (the command stops what it runs and the silos it started); the
// command then ends with 130 / 143, and one that has not finished 2 s later is ended with that code.
int? signalled = null;
using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, _ => signalled ??= 130);
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => signalled ??= 143);
var code = await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(2) });
return signalled ?? code;
