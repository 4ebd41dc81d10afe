using System.IO.Hashing;
using System.Text;
using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace Agents.Grains.Placement;

/// <summary>
/// Places each grain on the compatible silo that scores highest for its key (rendezvous hashing): grains spread evenly,
/// and losing a silo moves only the grains that were on it. That second property keeps a grain single after a crash:
/// when the dead silo took the grain's directory entry with it, the next call places the grain again, on the silo where
/// it already lives, and that silo hands the call to its existing activation instead of starting a second one (which,
/// for an agent, would split its inbox).
/// </summary>
[GenerateSerializer, Immutable, SuppressReferenceTracking]
public sealed class RendezvousPlacement : PlacementStrategy
{
    /// <summary>The one instance.</summary>
    public static readonly RendezvousPlacement Instance = new();
}

/// <summary>Marks a grain class for <see cref="RendezvousPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class RendezvousPlacementAttribute() : PlacementAttribute(RendezvousPlacement.Instance);

/// <summary>Picks the compatible silo whose hash with the grain's key is highest.</summary>
public sealed class RendezvousPlacementDirector : IPlacementDirector
{
    /// <inheritdoc />
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        IReadOnlyList<SiloAddress> silos;
        try
        {
            silos = context.GetCompatibleSilos(target);
        }
        catch (OrleansException)
        {
            // No silo is active: the last one is shutting down and moves its grains on retirement. There is nowhere to
            // move them, so they stay and end with it; the local silo is the answer Orleans takes for "do not migrate".
            return Task.FromResult(context.LocalSilo);
        }

        return Task.FromResult(Choose(target.GrainIdentity.ToString(), silos));
    }

    /// <summary>The silo of <paramref name="silos"/> that <paramref name="key"/> belongs on.</summary>
    public static SiloAddress Choose(string key, IReadOnlyList<SiloAddress> silos)
    {
        var best = silos[0];
        var bestScore = 0UL;
        foreach (var silo in silos)
        {
            var score = XxHash64.HashToUInt64(Encoding.UTF8.GetBytes($"{key}\n{silo.ToParsableString()}"));
            if (score >= bestScore)
            {
                (best, bestScore) = (silo, score);
            }
        }

        return best;
    }
}
