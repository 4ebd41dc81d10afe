using Agents.GrainInterfaces;
using Agents.Grains.Messaging;

namespace Agents.Tests.Messaging;

public sealed class AgentInboxTests
{
    private static AgentMessage Message(string from, long sequence, long epoch = 1) => new(from, "me", sequence, "k", [], 0, epoch);

    [Fact]
    public void RepeatsOfASendersActivationAreDropped()
    {
        var inbox = new AgentInbox();
        Assert.Equal([1L, 2L], inbox.DropRepeats([Message("a", 1), Message("a", 2)]).Select(m => m.Sequence));

        // A retried batch, then one from a new activation of the same sender (numbered from 1 again), and another sender.
        Assert.Empty(inbox.DropRepeats([Message("a", 1), Message("a", 2)]));
        Assert.Equal([1L, 3L], inbox.DropRepeats([Message("a", 1, epoch: 2), Message("b", 3)]).Select(m => m.Sequence));
    }

    [Fact]
    public void MessagesAreReadOldestFirst()
    {
        var inbox = new AgentInbox();
        inbox.Add([Message("a", 1), Message("a", 2), Message("a", 3)]);

        Assert.Equal([1L, 2L], inbox.Take(2).Select(m => m.Sequence));
        Assert.Equal([3L], inbox.Take(10).Select(m => m.Sequence));
        Assert.Empty(inbox.Take(10));
        Assert.Equal(0, inbox.Count);
    }

    [Fact]
    public void AFullInboxDropsItsOldestAndCountsThem()
    {
        var inbox = new AgentInbox(capacity: 3);
        inbox.Add(Enumerable.Range(1, 5).Select(i => Message("a", i)));

        Assert.Equal((3, 2L), (inbox.Count, inbox.Dropped));
        Assert.Equal([3L, 4L, 5L], inbox.Take(10).Select(m => m.Sequence));
        Assert.Equal(100_000, AgentInbox.Capacity);
    }

    [Fact]
    public void AHandedOverInboxGoesBeforeTheNewerMessagesKeepingTheNewest()
    {
        var inbox = new AgentInbox(capacity: 3);
        inbox.Add([Message("a", 3), Message("a", 4)]);
        inbox.TakeOver([Message("a", 1), Message("a", 2)]);

        Assert.Equal((3, 0L), (inbox.Count, inbox.Dropped));
        Assert.Equal([2L, 3L, 4L], inbox.Take(10).Select(m => m.Sequence));
    }
}
