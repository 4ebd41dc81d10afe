using Agents.Client;
using Agents.Engine;
using Agents.Engine.Vectors.Storage;
using Npgsql;

namespace Agents.Hosting;

/// <summary>The cluster's PostgreSQL schema: Orleans' tables and queries, and the vector store's tables (<c>deploy/sql</c>).</summary>
public static class ClusterSchema
{
    /// <summary>The schema and query rows of <c>deploy/sql/postgresql-orleans.sql</c>.</summary>
    public static string OrleansScript() => SqlScripts.Read(typeof(ClusterSchema).Assembly, "postgresql-orleans.sql");

    /// <summary>Applies the Orleans and the vector schema; both scripts are idempotent and serialise concurrent appliers.</summary>
    public static async Task ApplyAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(OrleansScript(), connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
        await using var vectors = new NpgsqlCommand(VectorSchema.Script, connection);
        await vectors.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>A cluster connection string with the pool and keepalive of <paramref name="performance"/>; a bad string is a <see cref="ConfigurationException"/>.</summary>
    public static string Connection(string connectionString, PerformanceSettings performance)
    {
        try
        {
            return PostgresConnection.Build(connectionString, performance.ConnectionPoolSize, performance.KeepaliveInterval);
        }
        catch (ArgumentException e)
        {
            throw new ConfigurationException(e.Message);
        }
    }
}
