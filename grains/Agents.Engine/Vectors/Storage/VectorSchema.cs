using Npgsql;

namespace Agents.Engine.Vectors.Storage;

/// <summary>The PostgreSQL schema of the vector store: the text of <c>deploy/sql/postgresql-vectors.sql</c>, and how to apply it.</summary>
public static class VectorSchema
{
    /// <summary>The contents of <c>deploy/sql/postgresql-vectors.sql</c>, embedded in the assembly.</summary>
    public static string Script { get; } = SqlScripts.Read(typeof(VectorSchema).Assembly, "postgresql-vectors.sql");

    /// <summary>Applies <see cref="Script"/>; idempotent, and concurrent appliers wait for each other.</summary>
    public static async Task ApplyAsync(NpgsqlDataSource ds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ds);
        await using var connection = await ds.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(Script, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
