namespace Agents.Grains.Messaging;

/// <summary>
/// What an agent has received and nobody has read yet, oldest first. A sender's retried batch arrives again: the inbox
/// keeps each sequence number of a sender's activation once. It holds at most <see cref="Capacity"/> messages and drops
/// (and counts) the oldest beyond that. Not thread-safe: its grain calls it from its own turns.
/// </summary>
/// <param name="capacity">The most messages kept.</param>
public sealed class AgentInbox(int capacity = AgentInbox.Capacity)
{
    /// <summary>Messages an agent's inbox keeps; older ones are dropped (and counted) when nobody reads it.</summary>
    public const int Capacity = 100_000;

    private readonly Queue<AgentMessage> _messages = new();
    private readonly Dictionary<string, (long Epoch, long Sequence)> _lastSeen = new(StringComparer.Ordinal);

    /// <summary>Messages waiting to be read.</summary>
    public int Count => _messages.Count;

    /// <summary>Messages dropped, oldest first, because the inbox was full.</summary>
    public long Dropped { get; private set; }

    /// <summary>
    /// The messages of a delivered batch not seen before: a message whose sender activation (epoch) already delivered
    /// its sequence number, or a later one, is a repeat.
    /// </summary>
    public List<AgentMessage> DropRepeats(AgentMessage[] messages)
    {
        var fresh = new List<AgentMessage>(messages.Length);
        foreach (var message in messages)
        {
            if (_lastSeen.TryGetValue(message.From, out var last) && last.Epoch == message.Epoch && message.Sequence <= last.Sequence)
            {
                continue;
            }

            _lastSeen[message.From] = (message.Epoch, message.Sequence);
            fresh.Add(message);
        }

        return fresh;
    }

    /// <summary>Adds messages after those waiting, dropping the oldest beyond the capacity.</summary>
    public void Add(IEnumerable<AgentMessage> messages)
    {
        foreach (var message in messages)
        {
            _messages.Enqueue(message);
        }

        while (_messages.Count > capacity)
        {
            _messages.Dequeue();
            Dropped++;
        }
    }

    /// <summary>Takes up to <paramref name="max"/> messages, oldest first.</summary>
    public AgentMessage[] Take(int max)
    {
        var taken = new AgentMessage[Math.Min(max, _messages.Count)];
        for (var i = 0; i < taken.Length; i++)
        {
            taken[i] = _messages.Dequeue();
        }

        return taken;
    }

    /// <summary>
    /// Puts <paramref name="older"/> (handed over by a leaving activation of the same agent) before the messages waiting,
    /// keeping the newest up to the capacity; they were counted where they first arrived, so nothing counts as dropped.
    /// </summary>
    public void TakeOver(AgentMessage[] older)
    {
        var newer = _messages.ToArray();
        _messages.Clear();
        foreach (var message in older.Concat(newer).TakeLast(capacity))
        {
            _messages.Enqueue(message);
        }
    }
}
