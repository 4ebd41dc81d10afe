using System.Text.Json;
using System.Text.Json.Serialization;

namespace Agents.GrainInterfaces;

/// <summary>
/// How typed agent requests and replies are written as JSON bodies — by application handlers, the built-in
/// capabilities and the client's typed asks alike: camelCase, case-insensitive on read, enums by name.
/// </summary>
public static class AgentJson
{
    /// <summary>The serializer options of every typed body.</summary>
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };
}

/// <summary>
/// A request to one agent: the asker, the kind (which handler answers it), the body (UTF-8 JSON of the handler's request
/// type) and how long the asker waits for the reply.
/// </summary>
/// <param name="Id">Unique per request; a retry to the same agent keeps it, so a handler can tell a repeat.</param>
/// <param name="From">The asking agent's id, or <c>client</c>.</param>
/// <param name="To">The agent asked.</param>
/// <param name="Kind">The request kind (a registered handler's name, or <c>echo</c> / <c>capabilities</c>).</param>
/// <param name="Body">The request, usually UTF-8 JSON.</param>
/// <param name="SentAtUtcTicks">When the asker sent it (UTC ticks), for latency.</param>
/// <param name="Timeout">How long the handler may run; its cancellation token fires then and the asker gets an <see cref="AgentRequestTimeoutException"/>.</param>
[GenerateSerializer, Immutable]
public sealed record AgentRequest(Guid Id, string From, string To, string Kind, byte[] Body, long SentAtUtcTicks, TimeSpan Timeout);

/// <summary>An agent that holds a capability, as the capability directory lists it.</summary>
/// <param name="AgentId">The agent's id.</param>
/// <param name="Silo">The silo its activation was on when it registered (Orleans' parsable silo address).</param>
/// <param name="RegisteredAtUtc">When it registered there.</param>
/// <param name="InFlight">Requests the asker has in flight to it (the load the router balances; 0 from the directory).</param>
[GenerateSerializer, Immutable]
public sealed record AgentHolder(string AgentId, string Silo, DateTime RegisteredAtUtc, int InFlight = 0);

/// <summary>Why a request failed at the agent (as opposed to on the way to it).</summary>
public enum AgentRequestFailure
{
    /// <summary>The handler threw; <see cref="AgentRequestFailedException.ErrorType"/> names the exception.</summary>
    HandlerFailed,

    /// <summary>The agent has no handler for the kind (it does not list the kind's capability, or its silo registered none).</summary>
    NoHandler,

    /// <summary>The body is not the JSON of the handler's request type.</summary>
    BadRequest,
}

/// <summary>
/// A request reached its agent and failed there: the handler threw, the agent has no handler for the kind, or the body
/// did not parse. The agent lives on and answers its next request. Never retried by the client library (running the
/// handler again would fail the same way, or do its work twice).
/// </summary>
[GenerateSerializer]
public sealed class AgentRequestFailedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public AgentRequestFailedException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public AgentRequestFailedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public AgentRequestFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a request of <paramref name="kind"/> that failed at agent <paramref name="agentId"/>.</summary>
    public AgentRequestFailedException(string agentId, string kind, AgentRequestFailure failure, string? errorType, string message)
        : base(message)
    {
        AgentId = agentId;
        Kind = kind;
        Failure = failure;
        ErrorType = errorType;
    }

    /// <summary>The agent asked.</summary>
    [Id(0)]
    public string AgentId { get; init; } = "";

    /// <summary>The request's kind.</summary>
    [Id(1)]
    public string Kind { get; init; } = "";

    /// <summary>Why it failed.</summary>
    [Id(2)]
    public AgentRequestFailure Failure { get; init; }

    /// <summary>The handler's exception type (full name) when it threw.</summary>
    [Id(3)]
    public string? ErrorType { get; init; }
}

/// <summary>
/// A request's handler ran past the asker's timeout: its cancellation token was cancelled and the asker stopped waiting.
/// Never retried by the client library (the handler may have done part of its work).
/// </summary>
[GenerateSerializer]
public sealed class AgentRequestTimeoutException : TimeoutException
{
    /// <summary>Creates the exception.</summary>
    public AgentRequestTimeoutException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public AgentRequestTimeoutException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public AgentRequestTimeoutException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a request of <paramref name="kind"/> to agent <paramref name="agentId"/> that outran <paramref name="timeout"/>.</summary>
    public AgentRequestTimeoutException(string agentId, string kind, TimeSpan timeout)
        : base($"Agent '{agentId}' did not answer '{kind}' within {timeout.TotalSeconds:0.###} s; its handler was cancelled.")
    {
        AgentId = agentId;
        Kind = kind;
    }

    /// <summary>The agent asked.</summary>
    [Id(0)]
    public string AgentId { get; init; } = "";

    /// <summary>The request's kind.</summary>
    [Id(1)]
    public string Kind { get; init; } = "";
}

/// <summary>
/// The agents that hold one capability (key: the capability's name), with the silo each was on when it registered.
/// Kept in grain storage (PostgreSQL in a cluster), so the list survives the death of the silo the directory is on. An
/// agent registers itself when it takes a capability and again whenever it activates; the directory drops holders whose
/// silo has left the cluster and those the router reports lost.
/// </summary>
public interface ICapabilityDirectoryGrain : IGrainWithStringKey
{
    /// <summary>Records that <paramref name="agentId"/> holds this capability on <paramref name="silo"/>.</summary>
    Task AddAsync(string agentId, string silo);

    /// <summary>Forgets <paramref name="agentId"/> (it gave up the capability).</summary>
    Task RemoveAsync(string agentId);

    /// <summary>
    /// A router found <paramref name="agentId"/> lost on <paramref name="silo"/>: forgotten if it is still listed there
    /// and that silo is dead in the membership (a failed gateway makes live holders look lost); an agent that
    /// re-registered elsewhere since stays.
    /// </summary>
    Task ReportLostAsync(string agentId, string silo);

    /// <summary>The holders on live silos, in registration order; holders on silos that left are pruned first.</summary>
    Task<AgentHolder[]> GetHoldersAsync();
}

/// <summary>The names of every capability any agent has registered (key: 0), for listing.</summary>
public interface ICapabilityCatalogGrain : IGrainWithIntegerKey
{
    /// <summary>Records <paramref name="capability"/>.</summary>
    Task AddAsync(string capability);

    /// <summary>Every capability recorded, in name order.</summary>
    Task<string[]> ListAsync();
}

/// <summary>The rules for request kinds and capabilities that client and silo both check, and the defaults of asks.</summary>
public static class AgentRequests
{
    /// <summary>How long an ask waits when the asker gives no timeout.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Longest timeout an ask may set.</summary>
    public static readonly TimeSpan MaxTimeout = TimeSpan.FromMinutes(10);

    /// <summary>The kinds every agent answers itself.</summary>
    public static readonly IReadOnlyList<string> BuiltInKinds = ["echo", "capabilities"];

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="name"/> is a usable kind or capability name (1-128 characters, no whitespace).</summary>
    public static void ValidateName(string name, string what)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 128 || name.Any(char.IsWhiteSpace))
        {
            throw new ArgumentException($"A {what} must be 1-128 characters without spaces; got '{name}'.");
        }
    }

    /// <summary>The timeout to use: <paramref name="timeout"/> or the default; throws naming it when it is not positive or above <see cref="MaxTimeout"/>.</summary>
    public static TimeSpan EffectiveTimeout(TimeSpan? timeout)
    {
        var value = timeout ?? DefaultTimeout;
        if (value <= TimeSpan.Zero || value > MaxTimeout)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), value, $"An ask's timeout must be above 0 and at most {MaxTimeout.TotalMinutes:0} minutes.");
        }

        return value;
    }
}
