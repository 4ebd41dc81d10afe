using System.Reflection;
using Agents.Grains.Configuration;
using Npgsql;

namespace Agents.Grains.Hosting;

/// <summary>The cluster's PostgreSQL connection: pool and keepalive from configuration, and the schema in <c>deploy/sql</c>.</summary>
public static class PostgresConnection
{
    /// <summary>The ADO.NET invariant the Orleans providers use for Npgsql.</summary>
    public const string Invariant = "Npgsql";

    /// <summary>Applies <c>connection_pool_size</c> and <c>keepalive_interval</c> to a connection string.</summary>
    public static string Build(string connectionString, PerformanceSettings performance)
    {
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException e)
        {
            // The message of Npgsql names the bad keyword; the string itself may hold a password, so it is not echoed.
            throw new ConfigurationException($"The cluster connection string is not valid: {e.Message}");
        }

        builder.MaxPoolSize = performance.ConnectionPoolSize;
        builder.MinPoolSize = Math.Min(builder.MinPoolSize, builder.MaxPoolSize);
        builder.KeepAlive = (int)Math.Max(1, performance.KeepaliveInterval.TotalSeconds);
        return builder.ConnectionString;
    }

    /// <summary>The schema and query rows of <c>deploy/sql/postgresql-orleans.sql</c>.</summary>
    public static string SchemaScript() => SqlScripts.Read("postgresql-orleans.sql");

    /// <summary>Applies the Orleans and the vector schema; both scripts are idempotent and serialise concurrent appliers.</summary>
    public static async Task ApplySchemaAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(SchemaScript(), connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
        await using var vectors = new NpgsqlCommand(Vectors.Storage.VectorSchema.Script, connection);
        await vectors.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>A one-line description of where a connection string points, without secrets.</summary>
    public static string Describe(string connectionString)
    {
        var b = new NpgsqlConnectionStringBuilder(connectionString);
        return $"{b.Host}:{b.Port}/{b.Database}";
    }

    internal static Assembly NpgsqlAssembly => typeof(NpgsqlConnection).Assembly;
}
