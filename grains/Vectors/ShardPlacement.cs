using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Text;
using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace Agents.Grains.Vectors;

/// <summary>
/// Places a collection's shards so every active silo holds its share (the counts differ by at most one), and a silo
/// that joins takes exactly its share and nothing else moves. The assignment is a pure function of the collection,
/// its shard count and the active silos, so every silo computes the same one without asking anybody:
/// <list type="bullet">
/// <item>The silos join in the order they started (<see cref="SiloAddress.Generation"/>, then address). The oldest
/// holds every shard; each later one takes floor(S/N) shards, one at a time from a most loaded silo, choosing the
/// shard whose rendezvous score with it is highest.</item>
/// <item>A silo that joins is the youngest, so the new assignment is the old one plus its step: only the shards it
/// takes move (the minimum for a fair share).</item>
/// <item>The trade-off: when a silo dies, its shards move, and so may a few shards of silos that joined after it,
/// because their steps are replayed without it (none when the youngest dies; the unit tests measure the rest).
/// Plain rendezvous never moves a survivor, but with few shards it leaves silos empty (2 of 2 shards on one silo
/// half the time), which defeats the point of adding silos. A survivor whose target changed is moved by
/// <see cref="VectorShardGrain"/>'s rebalancing promptly; until then a caller whose directory entry died with the
/// silo could place a second copy, the window that the default (eventually consistent) grain directory leaves.</item>
/// </list>
/// </summary>
[GenerateSerializer, Immutable, SuppressReferenceTracking]
public sealed class ShardPlacement : PlacementStrategy
{
    /// <summary>The one instance.</summary>
    public static readonly ShardPlacement Instance = new();

    /// <summary>
    /// Which silo each shard of <paramref name="collection"/> belongs on, indexed by shard. <paramref name="silos"/> are
    /// the active silos in any order; the answer does not depend on it.
    /// </summary>
    public static SiloAddress[] Assign(string collection, int shards, IEnumerable<SiloAddress> silos)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shards, 1);
        var byAge = silos.Distinct().OrderBy(s => s.Generation).ThenBy(s => s.ToParsableString(), StringComparer.Ordinal).ToList();
        if (byAge.Count == 0)
        {
            throw new ArgumentException("There are no silos to place shards on.", nameof(silos));
        }

        var owner = new SiloAddress[shards];
        Array.Fill(owner, byAge[0]);
        var load = new Dictionary<SiloAddress, int> { [byAge[0]] = shards };
        for (var n = 1; n < byAge.Count; n++)
        {
            var joiner = byAge[n];
            load[joiner] = 0;
            for (var taken = 0; taken < shards / (n + 1); taken++)
            {
                var most = load.Where(p => !p.Key.Equals(joiner)).Max(p => p.Value);
                var pick = -1;
                var pickScore = 0UL;
                for (var shard = 0; shard < shards; shard++)
                {
                    if (owner[shard].Equals(joiner) || load[owner[shard]] != most)
                    {
                        continue;
                    }

                    var score = Score(collection, shard, joiner);
                    if (pick < 0 || score > pickScore)
                    {
                        (pick, pickScore) = (shard, score);
                    }
                }

                load[owner[pick]]--;
                owner[pick] = joiner;
                load[joiner]++;
            }
        }

        return owner;
    }

    private static ulong Score(string collection, int shard, SiloAddress silo) =>
        XxHash64.HashToUInt64(Encoding.UTF8.GetBytes($"{ShardRouter.ShardKey(collection, shard)}\n{silo.ToParsableString()}"));
}

/// <summary>Marks a grain class keyed <c>collection/shard</c> for <see cref="ShardPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class ShardPlacementAttribute() : PlacementAttribute(ShardPlacement.Instance);

/// <summary>
/// Places a shard on its silo in <see cref="ShardPlacement.Assign"/>, or on the silo a migrating shard names in
/// <see cref="IPlacementDirector.PlacementHintKey"/>. The shard count comes from the collection grain and is cached
/// briefly (a collection's count never changes, but a dropped name can be created again with another).
/// </summary>
public sealed class ShardPlacementDirector(IGrainFactory grains) : IPlacementDirector
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(10);
    private readonly ConcurrentDictionary<string, (int Shards, long Until)> _shardCounts = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public async Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var silos = context.GetCompatibleSilos(target);
        if (target.RequestContextData?.GetValueOrDefault(IPlacementDirector.PlacementHintKey) is SiloAddress hint && silos.Contains(hint))
        {
            return hint;
        }

        var key = target.GrainIdentity.Key.ToString()!;
        var (collection, shard) = ShardRouter.ParseShardKey(key);
        var shards = await ShardCountAsync(collection);

        // An unknown collection or shard fails in activation with a clear message; any silo will do for that.
        return shards is { } count && shard >= 0 && shard < count
            ? ShardPlacement.Assign(collection, count, silos)[shard]
            : Hosting.RendezvousPlacementDirector.Choose(key, silos);
    }

    private async Task<int?> ShardCountAsync(string collection)
    {
        var now = Environment.TickCount64;
        if (_shardCounts.TryGetValue(collection, out var cached) && cached.Until > now)
        {
            return cached.Shards;
        }

        var spec = await grains.GetGrain<IVectorCollectionGrain>(collection).GetSpecAsync();
        if (spec is null)
        {
            return null;
        }

        _shardCounts[collection] = (spec.Shards, now + (long)CacheFor.TotalMilliseconds);
        return spec.Shards;
    }
}
