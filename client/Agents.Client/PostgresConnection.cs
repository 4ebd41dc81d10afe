using Npgsql;

namespace Agents.Client;

/// <summary>The cluster's PostgreSQL connection string: its pool and keepalive, and how to name it without secrets.</summary>
public static class PostgresConnection
{
    /// <summary>The ADO.NET invariant the Orleans providers use for Npgsql.</summary>
    public const string Invariant = "Npgsql";

    /// <summary>Applies a pool size and a TCP keepalive to a connection string; throws <see cref="ArgumentException"/> naming a bad keyword.</summary>
    public static string Build(string connectionString, int poolSize, TimeSpan keepalive)
    {
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException e)
        {
            // The message of Npgsql names the bad keyword; the string itself may hold a password, so it is not echoed.
            throw new ArgumentException($"The cluster connection string is not valid: {e.Message}");
        }

        builder.MaxPoolSize = poolSize;
        builder.MinPoolSize = Math.Min(builder.MinPoolSize, builder.MaxPoolSize);
        builder.KeepAlive = (int)Math.Max(1, keepalive.TotalSeconds);
        return builder.ConnectionString;
    }

    /// <summary>A one-line description of where a connection string points, without secrets.</summary>
    public static string Describe(string connectionString)
    {
        var b = new NpgsqlConnectionStringBuilder(connectionString);
        return $"{b.Host}:{b.Port}/{b.Database}";
    }
}
