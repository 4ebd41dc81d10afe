using System.Runtime.InteropServices;

namespace Agents.Engine.Embeddings;

/// <summary>The C library's heap, under the managed one: where ONNX Runtime allocates.</summary>
internal static partial class NativeHeap
{
    /// <summary>
    /// Hands the C heap's free pages back to the system (glibc's <c>malloc_trim</c>). Loading a session parses the whole
    /// model (~90 MB) into blocks that are freed once the session is built, but glibc keeps such freed blocks mapped, so
    /// without this a silo stays ~40 MB per session larger than what it uses. Does nothing where there is no glibc.
    /// </summary>
    public static void Trim()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        try
        {
            _ = MallocTrim(0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // musl and other C libraries have no malloc_trim; they return large blocks to the system on free.
        }
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
