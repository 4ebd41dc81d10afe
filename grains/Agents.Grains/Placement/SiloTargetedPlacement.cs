using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace Agents.Grains.Placement;

/// <summary>
/// Places a grain whose string key is, or begins with, a silo address (<c>silo</c> or <c>silo/rest</c>) on that silo, so a
/// caller chooses where work runs.
/// </summary>
[GenerateSerializer, Immutable, SuppressReferenceTracking]
public sealed class SiloTargetedPlacement : PlacementStrategy
{
    /// <summary>The one instance.</summary>
    public static readonly SiloTargetedPlacement Instance = new();
}

/// <summary>Marks a grain class for <see cref="SiloTargetedPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class SiloTargetedPlacementAttribute() : PlacementAttribute(SiloTargetedPlacement.Instance);

/// <summary>Puts the activation on the silo its key names when that silo is compatible and alive, else on a random one.</summary>
public sealed class SiloTargetedPlacementDirector : IPlacementDirector
{
    /// <inheritdoc />
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var silos = context.GetCompatibleSilos(target);
        var key = target.GrainIdentity.Key.ToString();
        if (key is not null)
        {
            try
            {
                var slash = key.IndexOf('/', StringComparison.Ordinal);
                var wanted = SiloAddress.FromParsableString(slash < 0 ? key : key[..slash]);
                foreach (var silo in silos)
                {
                    if (silo.Equals(wanted))
                    {
                        return Task.FromResult(silo);
                    }
                }
            }
            catch (FormatException)
            {
                // Not a silo address: fall back to random placement.
            }
        }

        return Task.FromResult(silos[Random.Shared.Next(silos.Length)]);
    }
}
