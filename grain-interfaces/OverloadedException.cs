namespace Agents.GrainInterfaces;

/// <summary>
/// A silo refused work because one of its bounded queues is full. Nothing of the call was accepted, so it can be
/// retried once the load falls; the client library does so with back-off (<c>AgentsClient.IsTransient</c>).
/// </summary>
[GenerateSerializer]
public sealed class OverloadedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public OverloadedException()
    {
    }

    /// <summary>Creates the exception with a message saying which queue is full and how full.</summary>
    public OverloadedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public OverloadedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
