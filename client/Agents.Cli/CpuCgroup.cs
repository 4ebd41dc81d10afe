using System.Globalization;

namespace Agents.Cli;

/// <summary>
/// A CPU cgroup that caps one silo process at a number of cores: the v1 <c>cpu</c> controller
/// (<c>cpu.cfs_period_us</c>, <c>cpu.cfs_quota_us</c>) or the v2 unified hierarchy (<c>cpu.max</c>), whichever this
/// machine mounts. The process joins it from its first instruction (<see cref="Wrap"/>); the group is removed after the
/// process exits (<see cref="Remove"/>).
/// </summary>
public sealed class CpuCgroup
{
    /// <summary>The scheduling period every group is given: 100 ms, the kernel's default.</summary>
    public const int PeriodMicroseconds = 100_000;

    /// <summary>The smallest cap: the kernel refuses a quota under 1 ms per period.</summary>
    public const double MinCores = 0.01;

    private CpuCgroup(string path, bool unified, double cores)
    {
        Path = path;
        Unified = unified;
        Cores = cores;
    }

    /// <summary>The group's directory.</summary>
    public string Path { get; }

    /// <summary>True on the cgroup v2 unified hierarchy (<c>cpu.max</c>), false on the v1 <c>cpu</c> controller.</summary>
    public bool Unified { get; }

    /// <summary>The cap in cores.</summary>
    public double Cores { get; }

    /// <summary>The file a process writes its pid to in order to join the group.</summary>
    public string ProcsFile => System.IO.Path.Combine(Path, "cgroup.procs");

    /// <summary>The quota as written: <c>cpu.cfs_quota_us</c> (v1) or the first field of <c>cpu.max</c> (v2), in microseconds per period.</summary>
    public long QuotaMicroseconds => (long)Math.Round(Cores * PeriodMicroseconds);

    /// <summary>
    /// <c>--cpu-limit</c>'s value in cores: a number above 0 (at least <see cref="MinCores"/>) and at most this machine's
    /// processor count; anything else is an <see cref="ArgumentException"/> naming the option.
    /// </summary>
    public static double ParseCores(string text)
    {
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var cores) || !double.IsFinite(cores))
        {
            throw new ArgumentException($"--cpu-limit '{text}' is not a number of cores (such as 0.35).");
        }

        return cores >= MinCores && cores <= Environment.ProcessorCount
            ? cores
            : throw new ArgumentException(
                $"--cpu-limit {text} is out of range: give {MinCores.ToString(CultureInfo.InvariantCulture)}..{Environment.ProcessorCount} cores (this machine has {Environment.ProcessorCount}).");
    }

    /// <summary>
    /// Where groups can be made: the v1 <c>cpu</c> controller's mount, else a cgroup2 mount that offers the <c>cpu</c>
    /// controller; an <see cref="InvalidOperationException"/> naming <c>--cpu-limit</c> when there is neither.
    /// </summary>
    public static (string Root, bool Unified) FindHierarchy(string mounts = "/proc/mounts")
    {
        var lines = File.Exists(mounts) ? File.ReadAllLines(mounts) : [];
        var fields = lines.Select(l => l.Split(' ')).Where(f => f.Length >= 4).ToList();
        // A hybrid host mounts both; the v1 cpu controller is the one that owns the cpu there.
        if (fields.FirstOrDefault(f => f[2] == "cgroup" && f[3].Split(',').Contains("cpu")) is { } v1)
        {
            return (Unescape(v1[1]), false);
        }

        foreach (var f in fields.Where(f => f[2] == "cgroup2"))
        {
            var root = Unescape(f[1]);
            var controllers = System.IO.Path.Combine(root, "cgroup.controllers");
            if (File.Exists(controllers) && File.ReadAllText(controllers).Split(' ', StringSplitOptions.TrimEntries).Contains("cpu"))
            {
                return (root, true);
            }
        }

        throw new InvalidOperationException("--cpu-limit needs a CPU cgroup controller (cgroup v1 'cpu' or cgroup v2 with 'cpu'), and this machine mounts neither.");
    }

    /// <summary>Creates group <paramref name="name"/> capped at <paramref name="cores"/>; errors name <c>--cpu-limit</c> and the file.</summary>
    public static CpuCgroup Create(string name, double cores, string mounts = "/proc/mounts")
    {
        var (root, unified) = FindHierarchy(mounts);
        var group = new CpuCgroup(System.IO.Path.Combine(root, name), unified, cores);
        Write(() => Directory.CreateDirectory(group.Path), "create", group.Path);
        try
        {
            if (unified)
            {
                // The cpu controller must be enabled for the root's children before a child has cpu.max.
                var subtree = System.IO.Path.Combine(root, "cgroup.subtree_control");
                if (!File.ReadAllText(subtree).Split(' ', StringSplitOptions.TrimEntries).Contains("cpu"))
                {
                    Write(() => File.WriteAllText(subtree, "+cpu"), "write", subtree);
                }

                var max = System.IO.Path.Combine(group.Path, "cpu.max");
                Write(() => File.WriteAllText(max, string.Create(CultureInfo.InvariantCulture, $"{group.QuotaMicroseconds} {PeriodMicroseconds}")), "write", max);
            }
            else
            {
                // The period first: a quota is checked against the period in force.
                var period = System.IO.Path.Combine(group.Path, "cpu.cfs_period_us");
                var quota = System.IO.Path.Combine(group.Path, "cpu.cfs_quota_us");
                Write(() => File.WriteAllText(period, PeriodMicroseconds.ToString(CultureInfo.InvariantCulture)), "write", period);
                Write(() => File.WriteAllText(quota, group.QuotaMicroseconds.ToString(CultureInfo.InvariantCulture)), "write", quota);
            }

            return group;
        }
        catch
        {
            group.Remove();
            throw;
        }
    }

    /// <summary>
    /// <paramref name="command"/> started through <c>/bin/sh</c>, which writes its own pid to the group and then
    /// <c>exec</c>s the command: the process is capped from its first instruction and keeps the shell's pid.
    /// </summary>
    public (string File, IReadOnlyList<string> Arguments) Wrap(string file, IEnumerable<string> arguments) =>
        ("/bin/sh", ["-c", "echo $$ > \"$0\" && exec \"$@\"", ProcsFile, file, .. arguments]);

    /// <summary>True when <paramref name="pid"/> is listed in the group.</summary>
    public bool Contains(int pid)
    {
        try
        {
            return File.ReadAllLines(ProcsFile).Contains(pid.ToString(CultureInfo.InvariantCulture));
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Removes the group (rmdir), waiting up to 5 s for an exiting process to leave it; false when it stays.</summary>
    public bool Remove()
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (true)
        {
            try
            {
                if (Directory.Exists(Path))
                {
                    // Not recursive: a cgroup is removed by rmdir of its directory, never by deleting its files.
                    Directory.Delete(Path, recursive: false);
                }

                return true;
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(100);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return false;
            }
        }
    }

    private static void Write(Action action, string what, string path)
    {
        try
        {
            action();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"--cpu-limit: cannot {what} '{path}' ({e.Message.TrimEnd('.')}); CPU cgroups need root or a delegated cgroup.");
        }
    }

    // /proc/mounts escapes spaces and the like as octal (\040).
    private static string Unescape(string path) =>
        System.Text.RegularExpressions.Regex.Replace(path, @"\\([0-7]{3})", m => ((char)Convert.ToInt32(m.Groups[1].Value, 8)).ToString());
}
