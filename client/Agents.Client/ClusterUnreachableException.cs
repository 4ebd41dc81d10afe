namespace Agents.Client;

/// <summary>
/// No gateway of the cluster answered within the connection's <see cref="ClusterConnection.ConnectTimeout"/>; the
/// message names what was tried (the gateways, or the PostgreSQL membership database) and what went wrong last.
/// </summary>
public sealed class ClusterUnreachableException(string message, Exception? inner = null) : Exception(message, inner);
