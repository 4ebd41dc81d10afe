namespace Agents.Engine.Text;

/// <summary>Thrown when a document cannot be processed: empty, whitespace only, too large or not valid UTF-8.</summary>
public sealed class DocumentRejectedException : ArgumentException
{
    /// <summary>Creates the exception with a message that says what was wrong.</summary>
    public DocumentRejectedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the argument that was rejected.</summary>
    public DocumentRejectedException(string message, string? paramName)
        : base(message, paramName)
    {
    }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public DocumentRejectedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
