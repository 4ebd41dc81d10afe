namespace Agents.GrainInterfaces;

/// <summary>The task types a job can run, by their command-line names.</summary>
public static class TaskTypes
{
    /// <summary>Normalise, tokenise, split, chunk and extract keywords and statistics from documents.</summary>
    public const string TextProcessing = "text-processing";

    /// <summary>Text processing, then a sentence embedding of every chunk (counted, not stored).</summary>
    public const string Embedding = "embedding";

    /// <summary>Ingest: text processing, embeddings, and an upsert of every chunk into the job's collection.</summary>
    public const string Ingest = "e2e";

    /// <summary>Every task type the product names; not all of them run as jobs yet.</summary>
    public static readonly IReadOnlyList<string> All =
        [TextProcessing, Embedding, "vector-store", "vector-search", "messaging", Ingest];

    /// <summary>The task types a job can run in this build.</summary>
    public static readonly IReadOnlyList<string> Runnable = [TextProcessing, Embedding, Ingest];

    /// <summary>Throws an <see cref="ArgumentException"/> that says what is wrong with <paramref name="taskType"/>.</summary>
    public static void EnsureRunnable(string? taskType)
    {
        if (string.IsNullOrWhiteSpace(taskType))
        {
            throw new ArgumentException($"A task type is required; one of: {string.Join(", ", Runnable)}.", nameof(taskType));
        }

        if (!Runnable.Contains(taskType))
        {
            var known = All.Contains(taskType) ? "is not runnable as a job in this build" : "is unknown";
            throw new ArgumentException($"Task type '{taskType}' {known}; runnable task types: {string.Join(", ", Runnable)}.", nameof(taskType));
        }
    }
}
