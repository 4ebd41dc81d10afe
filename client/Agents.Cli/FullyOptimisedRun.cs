using System.Reflection;
using System.Runtime.InteropServices;

namespace Agents.Cli;

/// <summary>
/// Measured runs (<c>benchmark</c>, <c>soak</c>) on fully optimised code from the first call. The command starts with
/// tiered compilation, which halves the JIT work of a short command (an embedded <c>collection list</c>: 2.4 → 1.2 CPU s);
/// but with both cores busy the tier-1 re-compilation starves and a measured run stays in slow code (text-processing
/// benchmark: 600-1,600 vs 1,900-4,900 tasks/s in alternating runs here). So a measured run replaces this process
/// (execve: same pid, same arguments and streams) with one that has <c>DOTNET_TieredCompilation=0</c>.
/// </summary>
internal static class FullyOptimisedRun
{
    private const string Variable = "DOTNET_TieredCompilation";

    /// <summary>
    /// Re-executes this command without tiered compilation, unless it already runs so, the variable is set (the user's
    /// choice), the command is hosted by another program (tests invoking the command tree), or this is not Linux.
    /// Returns only when it does not re-execute.
    /// </summary>
    public static void Ensure()
    {
        if (!OperatingSystem.IsLinux()
            || Environment.GetEnvironmentVariable(Variable) is not null
            || Assembly.GetEntryAssembly()?.GetName().Name != "p2p-ai-agents"
            || AppContext.TryGetSwitch("System.Runtime.TieredCompilation", out var tiered) && !tiered)
        {
            return;
        }

        // The exact arguments this process was started with ("dotnet p2p-ai-agents.dll ..." or the apphost's).
        var cmdline = File.ReadAllText("/proc/self/cmdline");
        var argv = cmdline.TrimEnd('\0').Split('\0').Append(null).ToArray();
        var environment = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .Select(e => $"{e.Key}={e.Value}").Append($"{Variable}=0").Append(null).ToArray();
        Console.Out.Flush();
        Console.Error.Flush();
        try
        {
            _ = Execve("/proc/self/exe", argv, environment);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or MarshalDirectiveException)
        {
            // No libc to call: as below.
        }

        // Only reached when execve failed: the run goes on with tiered code, which is slower but correct.
    }

    [DllImport("libc", EntryPoint = "execve", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    // LPStr is UTF-8 on Unix.
    private static extern int Execve(
        [MarshalAs(UnmanagedType.LPStr)] string path,
        [MarshalAs(UnmanagedType.LPArray, ArraySubType = UnmanagedType.LPStr)] string?[] argv,
        [MarshalAs(UnmanagedType.LPArray, ArraySubType = UnmanagedType.LPStr)] string?[] envp);
}
