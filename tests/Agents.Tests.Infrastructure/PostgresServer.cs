using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Agents.Tests.Infrastructure;

/// <summary>
/// The one PostgreSQL fixture: a real server in a temporary folder on a free loopback port (initdb, pg_ctl),
/// stopped and deleted at the end. Binaries come from <c>/usr/lib/postgresql/*/bin</c> or <c>PG_BIN</c>.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    private string _dataDir = "";
    private string _bin = "";

    public int Port { get; private set; }

    /// <summary>A connection string to the server's <c>postgres</c> database.</summary>
    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres;Timeout=5";

    public async Task InitializeAsync()
    {
        _bin = FindBinaries();
        _dataDir = Path.Combine(Path.GetTempPath(), $"agents-pg-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_dataDir);
        Port = FreePort();
        await RunAsync("initdb", $"-D {_dataDir} -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync");
        await RunAsync("pg_ctl", $"-D {_dataDir} -w -t 60 -l {_dataDir}/server.log -o \"-c listen_addresses=127.0.0.1 -p {Port} -k {_dataDir} -c fsync=off -c max_connections=300\" start");
    }

    public async Task DisposeAsync()
    {
        try
        {
            await RunAsync("pg_ctl", $"-D {_dataDir} -w -m immediate stop");
        }
        finally
        {
            Directory.Delete(_dataDir, recursive: true);
        }
    }

    /// <summary>A fresh, empty database, so each test's cluster starts with no rows of another's.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = $"agents_{Guid.NewGuid():N}";
        await using var connection = new Npgsql.NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await command.ExecuteNonQueryAsync();
        return $"Host=127.0.0.1;Port={Port};Username=postgres;Database={name};Timeout=5";
    }

    /// <summary>Restarts the server (same data, same port).</summary>
    public async Task RestartAsync()
    {
        await RunAsync("pg_ctl", $"-D {_dataDir} -w -m fast restart");
    }

    private static string FindBinaries()
    {
        var fromEnv = Environment.GetEnvironmentVariable("PG_BIN");
        if (!string.IsNullOrEmpty(fromEnv))
        {
            return fromEnv;
        }

        var dirs = Directory.Exists("/usr/lib/postgresql") ? Directory.GetDirectories("/usr/lib/postgresql") : [];
        var best = dirs.Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "initdb")))
            .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0)
            .FirstOrDefault();
        return best ?? throw new InvalidOperationException("PostgreSQL binaries not found under /usr/lib/postgresql/*/bin; install postgresql or set PG_BIN.");
    }

    // PostgreSQL refuses to run as root: as root, run its tools as the postgres user over a folder it owns.
    private async Task RunAsync(string tool, string arguments)
    {
        var asRoot = Environment.UserName == "root";
        if (asRoot)
        {
            await Exec("chown", $"-R postgres:postgres {_dataDir}");
        }

        var exe = Path.Combine(_bin, tool);
        if (asRoot)
        {
            await Exec("runuser", $"-u postgres -- {exe} {arguments}");
        }
        else
        {
            await Exec(exe, arguments);
        }
    }

    private static async Task Exec(string file, string arguments)
    {
        var start = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {arguments} exited {process.ExitCode}: {await stderr}{await stdout}");
        }
    }

    /// <summary>A TCP port free on loopback now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

[CollectionDefinition(nameof(PostgresCollection))]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>;
