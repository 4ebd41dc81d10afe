using System.Runtime.InteropServices;
using System.Text;

namespace Agents.Engine.Vectors.Storage;

/// <summary>Crash-safe file replacement: write a temporary file, fsync it, rename it into place, fsync the directory.</summary>
internal static class DurableFile
{
    /// <summary>A temporary name beside <paramref name="path"/>; unique so concurrent writers never share one.</summary>
    public static string TempPath(string path) => $"{path}.{Guid.NewGuid():N}.tmp";

    /// <summary>Atomically replaces <paramref name="path"/> with <paramref name="head"/> followed by <paramref name="body"/>.</summary>
    public static void Replace(string path, ReadOnlySpan<byte> head, ReadOnlySpan<byte> body)
    {
        var temp = WriteTemp(path, head, body);
        try
        {
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }

        FsyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    /// <summary>Creates <paramref name="path"/> with <paramref name="content"/> unless it exists; false when it did.</summary>
    public static bool TryCreate(string path, ReadOnlySpan<byte> content)
    {
        var temp = WriteTemp(path, content, default);
        try
        {
            if (!CreateLink(temp, path))
            {
                return false;
            }
        }
        finally
        {
            TryDelete(temp);
        }

        FsyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        return true;
    }

    /// <summary>Gives <paramref name="temp"/> the name <paramref name="path"/> unless that name exists, atomically.</summary>
    private static bool CreateLink(string temp, string path)
    {
        // File.Move without overwrite checks for the target and then renames, so two racing creators can both win;
        // link(2) fails with EEXIST when the name is taken, which is the atomic create-if-absent needed here.
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS() && !OperatingSystem.IsFreeBSD())
        {
            try
            {
                File.Move(temp, path, overwrite: false);
                return true;
            }
            catch (IOException) when (File.Exists(path))
            {
                return false;
            }
        }

        if (Native.Link(Encoding.UTF8.GetBytes(temp + "\0"), Encoding.UTF8.GetBytes(path + "\0")) == 0)
        {
            return true;
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno == EExist
            ? false
            : throw new IOException($"Could not create '{path}' (link failed with errno {errno}); the data directory must be on a file system with hard links.");
    }

    /// <summary>Makes a rename or unlink in <paramref name="directory"/> durable (without it a crash can undo the rename).</summary>
    public static void FsyncDirectory(string directory)
    {
        // .NET cannot open a directory as a file handle, so this goes to libc; Windows has no equivalent and needs none.
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS() && !OperatingSystem.IsFreeBSD())
        {
            return;
        }

        var path = Encoding.UTF8.GetBytes(directory + "\0");
        var fd = Native.Open(path, 0);
        if (fd < 0)
        {
            // Some file systems refuse to open directories; the data itself was fsync'd, so this is not worth failing a write for.
            return;
        }

        try
        {
            if (Native.Fsync(fd) != 0)
            {
                throw new IOException($"fsync of directory '{directory}' failed (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = Native.Close(fd);
        }
    }

    public static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Leftover temp files are removed on the next open; a failure to tidy up must not hide the real error.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static string WriteTemp(string path, ReadOnlySpan<byte> head, ReadOnlySpan<byte> body)
    {
        var temp = TempPath(path);
        try
        {
            using var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0);
            stream.Write(head);
            stream.Write(body);
            stream.Flush(flushToDisk: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }

        return temp;
    }

    private const int EExist = 17;

    private static class Native
    {
        [DllImport("libc", EntryPoint = "link", SetLastError = true)]
        public static extern int Link(byte[] existing, byte[] created);

        [DllImport("libc", EntryPoint = "open", SetLastError = true)]
        public static extern int Open(byte[] path, int flags);

        [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
        public static extern int Fsync(int fd);

        [DllImport("libc", EntryPoint = "close", SetLastError = true)]
        public static extern int Close(int fd);
    }
}
