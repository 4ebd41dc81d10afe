namespace Agents.GrainInterfaces;

/// <summary>A message between agents.</summary>
/// <param name="From">The sending agent's id (or a topic's name for a broadcast, as <c>topic:NAME</c>).</param>
/// <param name="To">The receiving agent's id (or <c>topic:NAME</c>).</param>
/// <param name="Sequence">1, 2, 3... per sender activation and receiver, so order and gaps can be checked.</param>
/// <param name="Kind">What the message is, for the receiver's code (free-form; <c>echo</c> and <c>capabilities</c> are answered by the agent itself).</param>
/// <param name="Body">The content, usually UTF-8 JSON.</param>
/// <param name="SentAtUtcTicks">When the sender queued it (UTC ticks), for latency.</param>
/// <param name="Epoch">
/// The sending activation (random per activation): a sender that reactivates after its silo died starts its
/// sequence again at 1 under a new epoch, and the receiver must not take those messages for repeats.
/// </param>
[GenerateSerializer, Immutable]
public sealed record AgentMessage(string From, string To, long Sequence, string Kind, byte[] Body, long SentAtUtcTicks, long Epoch = 0);

/// <summary>An agent's description.</summary>
[GenerateSerializer, Immutable]
public sealed record AgentProfile(string Id, IReadOnlyList<string> Capabilities, IReadOnlyList<string> Topics, string Silo);

/// <summary>
/// What an agent has seen: delivered and sent counts, the latency of what it received (percentiles, and the encoded
/// HDR histogram for adding several agents' up), and the messages its full inbox dropped (oldest first) because nobody read them.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record AgentStats(
    long Received, long Sent, long Batches, long InboxLength, double LatencyP50Ms, double LatencyP95Ms, double LatencyP99Ms, long Dropped = 0,
    byte[]? LatencyHistogram = null);

/// <summary>A client watching an inbox (see <see cref="IAgentGrain.SubscribeAsync"/>).</summary>
public interface IAgentInboxObserver : IGrainObserver
{
    /// <summary>Messages just delivered to the agent, in order.</summary>
    void OnMessages(AgentMessage[] messages);
}

/// <summary>
/// An agent (key: its id). Agents message each other peer to peer: one-way sends are queued per receiver and
/// delivered in batches of up to <c>message_batch_size</c> (or after <c>message_flush_interval</c>), in order per
/// sender; asks are request/reply. Delivered messages wait in the inbox for <see cref="ReadInboxAsync"/> and go to
/// subscribed observers. Topics are broadcast over an Orleans stream.
/// </summary>
public interface IAgentGrain : IGrainWithStringKey
{
    /// <summary>
    /// Sets the capabilities this agent serves (a capability names a group of request kinds; see
    /// <c>AgentHandlerRegistry</c>) and records the agent in each capability's <see cref="ICapabilityDirectoryGrain"/>
    /// (and out of those it dropped), so <c>FindAgentsAsync</c> and <c>AskAnyAsync</c> find it.
    /// </summary>
    Task SetCapabilitiesAsync(string[] capabilities);

    /// <summary>Id, capabilities, topics and the silo the agent is on.</summary>
    Task<AgentProfile> GetProfileAsync();

    /// <summary>
    /// Sends a one-way message to agent <paramref name="to"/> in the sender's next batch; returns once the receiver
    /// has it (in its inbox and passed to its watchers). Throws <see cref="OverloadedException"/>, having queued
    /// nothing, when the sender already holds <c>message_outbox_limit</c> undelivered messages.
    /// </summary>
    Task SendAsync(string to, string kind, byte[] body);

    /// <summary>Delivers everything queued and waits until the receivers have it.</summary>
    Task FlushAsync();

    /// <summary>
    /// Request/reply: agent <paramref name="to"/> answers with the handler registered for <paramref name="kind"/>
    /// (itself for <c>echo</c> and <c>capabilities</c>). Throws <see cref="AgentRequestFailedException"/> when the
    /// handler throws or there is none, <see cref="AgentRequestTimeoutException"/> after <paramref name="timeout"/>
    /// (default <see cref="AgentRequests.DefaultTimeout"/>).
    /// </summary>
    Task<byte[]> AskAsync(string to, string kind, byte[] body, TimeSpan? timeout = null);

    /// <summary>
    /// Request/reply with any agent holding <paramref name="capability"/>: a holder on this agent's silo when there is
    /// one, else the holders in turn, skipping one with more requests in flight than the rest; a holder lost on the way (its silo died, it
    /// was deactivated) is reported to the directory and another one asked. Failures as <see cref="AskAsync"/>.
    /// </summary>
    Task<byte[]> AskAnyAsync(string capability, string kind, byte[] body, TimeSpan? timeout = null);

    /// <summary>A batch from one sender, in its order (called by the sending agent).</summary>
    Task DeliverAsync(AgentMessage[] messages);

    /// <summary>
    /// Unread messages handed over by a leaving activation of this same agent (a duplicate that lost to the registered
    /// one, or one on a silo shutting down): taken as they are, already checked for repeats. One-way, so the leaving
    /// activation need not wait on the agent it is handing over to.
    /// </summary>
    [OneWay]
    Task TakeOverInboxAsync(AgentMessage[] messages);

    /// <summary>Answers a request with the default timeout (called by the asking agent).</summary>
    Task<byte[]> AnswerAsync(AgentMessage request);

    /// <summary>
    /// Answers a request with its handler, bounded by the request's timeout (called by askers: agents and clients).
    /// A failing handler comes back as <see cref="AgentRequestFailedException"/> and leaves the agent running.
    /// </summary>
    Task<byte[]> HandleAsync(AgentRequest request);

    /// <summary>Takes up to <paramref name="max"/> messages from the inbox, oldest first.</summary>
    Task<AgentMessage[]> ReadInboxAsync(int max = 1000);

    /// <summary>Sends every later delivery to <paramref name="observer"/>; subscribe again within 5 minutes to stay subscribed.</summary>
    Task SubscribeAsync(IAgentInboxObserver observer);

    /// <summary>Stops sending deliveries to <paramref name="observer"/>.</summary>
    Task UnsubscribeAsync(IAgentInboxObserver observer);

    /// <summary>Receives what is published to <paramref name="topic"/> from now on.</summary>
    Task JoinTopicAsync(string topic);

    /// <summary>Stops receiving <paramref name="topic"/>.</summary>
    Task LeaveTopicAsync(string topic);

    /// <summary>Publishes to every agent that joined <paramref name="topic"/>.</summary>
    Task PublishAsync(string topic, string kind, byte[] body);

    /// <summary>Counts and latency of what this agent received and sent.</summary>
    Task<AgentStats> GetStatsAsync();
}
