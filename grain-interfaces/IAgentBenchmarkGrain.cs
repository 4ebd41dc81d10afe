namespace Agents.GrainInterfaces;

/// <summary>
/// The messaging benchmark's driver for one agent (key: <see cref="AgentBenchmarkKey.Of"/>), on the silo where that
/// agent lives. It sends as the agent through the same outbox and delivery path an agent uses, and asks the receiving
/// agents through their public contract, so the figures are those of agents messaging each other.
/// </summary>
public interface IAgentBenchmarkGrain : IGrainWithStringKey
{
    /// <summary>
    /// Sends <paramref name="count"/> one-way messages of <paramref name="bodyBytes"/> bytes to agent <paramref name="to"/>,
    /// batched as an agent's outbox batches them, and waits until the receiver has them all; returns the deliveries made.
    /// </summary>
    Task<long> SendBurstAsync(string to, int count, int bodyBytes);

    /// <summary>
    /// <paramref name="count"/> request/replies (<c>echo</c>) to agent <paramref name="to"/>, <paramref name="inFlight"/>
    /// at a time, or, when <paramref name="raw"/>, as many plain grain calls (<see cref="PingAsync"/>) to the driver on the
    /// receiver's silo with the same body and concurrency: the baseline. Returns each call's latency in milliseconds.
    /// </summary>
    Task<float[]> AskBurstAsync(string to, int count, int bodyBytes, int inFlight, bool raw);

    /// <summary>A plain grain call that returns its argument (the raw baseline of <see cref="AskBurstAsync"/>).</summary>
    Task<byte[]> PingAsync(byte[] body);
}

/// <summary>The key of an <see cref="IAgentBenchmarkGrain"/>.</summary>
public static class AgentBenchmarkKey
{
    /// <summary><c>{silo}/{agent}</c>: the placement reads the silo from the key's first part.</summary>
    public static string Of(string silo, string agent) => $"{silo}/{agent}";

    /// <summary>The agent a key names.</summary>
    public static string AgentOf(string key)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? throw new ArgumentException($"'{key}' is not an agent benchmark key (silo/agent).", nameof(key)) : key[(slash + 1)..];
    }
}
