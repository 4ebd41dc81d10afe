namespace Agents.Grains.Hosting;

/// <summary>The scripts of <c>deploy/sql</c>, embedded in this assembly.</summary>
public static class SqlScripts
{
    /// <summary>The text of <c>deploy/sql/<paramref name="fileName"/></c>.</summary>
    public static string Read(string fileName)
    {
        using var stream = typeof(SqlScripts).Assembly.GetManifestResourceStream($"Agents.Sql.{fileName}")
            ?? throw new InvalidOperationException($"deploy/sql/{fileName} is missing from the assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
