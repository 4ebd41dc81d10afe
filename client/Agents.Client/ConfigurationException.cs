namespace Agents.Client;

/// <summary>A setting (a variable, a key of performance.yaml, a command-line value or a file it names) is wrong; the message says which and why.</summary>
public sealed class ConfigurationException(string message) : Exception(message);
