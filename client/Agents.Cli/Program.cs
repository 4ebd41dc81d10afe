using System.CommandLine;
using System.Runtime.InteropServices;
using Agents.Cli;

// Ctrl-C or SIGTERM cancels the command's token (the command stops what it runs and the silos it started); the
// command then ends with 130 / 143, and one that has not finished 2 s later is ended with that code.
int? signalled = null;
using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, _ => signalled ??= 130);
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => signalled ??= 143);
var code = await Commands.Build().Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(2) });
return signalled ?? code;
