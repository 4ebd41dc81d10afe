using System.Reflection;

namespace Agents.Engine;

/// <summary>Scripts of <c>deploy/sql</c>, embedded in the assembly that applies them as <c>Agents.Sql.&lt;file name&gt;</c>.</summary>
public static class SqlScripts
{
    /// <summary>The text of <c>deploy/sql/<paramref name="fileName"/></c>, embedded in <paramref name="assembly"/>.</summary>
    public static string Read(Assembly assembly, string fileName)
    {
        using var stream = assembly.GetManifestResourceStream($"Agents.Sql.{fileName}")
            ?? throw new InvalidOperationException($"deploy/sql/{fileName} is missing from {assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
