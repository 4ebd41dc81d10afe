using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Text;
using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace Agents.Grains.Vectors;

/// <summary>
/// Places a collection's shards so every active silo holds its share (the counts differ by at most one), a silo that
/// joins takes its share, and a silo's death leaves the other silos' shards where they are. The assignment is a pure
/// function of the collection, its shard count and the cluster's membership, so every silo computes the same one
/// without asking anybody:
/// <list type="bullet">
/// <item>Every silo the membership knows, active or departed (dead rows are kept for at least an hour), joins in the
/// order it started (<see cref="SiloAddress.Generation"/>, then address). The first holds every shard; each later one
/// takes floor(S/N) shards, one at a time from a most loaded silo, choosing the shard whose rendezvous score with it is
/// highest. Then the shards of departed silos go, in the order those silos started, to a least loaded active silo.</item>
/// <item>A silo that joins is the youngest, so its step comes last: with no departed silos on record only the shards it
/// takes move, the minimum for a fair share; with some, a few of their shards are dealt again as well.</item>
/// <item>A silo that dies stays in the replay and only its shards are dealt out, so no surviving shard moves when
/// nobody else died in the last hour (with earlier deaths on record, a few of their shards may be dealt again). This is
/// the property that matters for safety: after a crash, a caller whose directory entry died with the silo places the
/// shard again, and it must land where the shard already lives, or there would be two copies writing one store
/// (the reason agents use rendezvous placement).</item>
/// <item>The trade-off against plain rendezvous: rendezvous never moves a survivor whatever the history, but with few
/// shards it leaves silos empty (2 of 2 shards on one silo half the time), which defeats adding silos. Here survivors
/// move when a dead row expires from membership (an hour or more later, when directory entries are long settled);
/// <see cref="VectorShardGrain"/> carries those moves out as migrations, which the directory keeps single.</item>
/// </list>
/// </summary>
[GenerateSerializer, Immutable, SuppressReferenceTracking]
public sealed class ShardPlacement : PlacementStrategy
{
    /// <summary>The one instance.</summary>
    public static readonly ShardPlacement Instance = new();

    /// <summary>
    /// Which silo each shard of <paramref name="collection"/> belongs on, indexed by shard: one of <paramref name="active"/>.
    /// <paramref name="departed"/> are silos the membership still lists that are shutting down or dead. The order of
    /// either list does not matter.
    /// </summary>
    public static SiloAddress[] Assign(string collection, int shards, IEnumerable<SiloAddress> active, IEnumerable<SiloAddress>? departed = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shards, 1);
        var alive = active.ToHashSet();
        if (alive.Count == 0)
        {
            throw new ArgumentException("There are no active silos to place shards on.", nameof(active));
        }

        var byAge = alive.Concat(departed ?? []).Distinct().OrderBy(s => s, AgeOrder.Instance).ToList();
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

        // Departed silos' shards, the oldest silo's first, each to a least loaded active silo.
        var orphans = Enumerable.Range(0, shards).Where(s => !alive.Contains(owner[s])).OrderBy(s => owner[s], AgeOrder.Instance).ThenBy(s => s).ToList();
        var aliveLoad = alive.ToDictionary(s => s, s => load.GetValueOrDefault(s));
        foreach (var shard in orphans)
        {
            var least = aliveLoad.Values.Min();
            var to = aliveLoad.Where(p => p.Value == least).Select(p => p.Key)
                .OrderByDescending(s => Score(collection, shard, s)).ThenBy(s => s, AgeOrder.Instance).First();
            owner[shard] = to;
            aliveLoad[to]++;
        }

        return owner;
    }

    /// <summary>Active and departed silos of a membership snapshot, as <see cref="Assign"/> takes them.</summary>
    public static (List<SiloAddress> Active, List<SiloAddress> Departed) Members(ClusterMembershipSnapshot snapshot)
    {
        var active = new List<SiloAddress>();
        var departed = new List<SiloAddress>();
        foreach (var member in snapshot.Members.Values)
        {
            if (member.Status == SiloStatus.Active)
            {
                active.Add(member.SiloAddress);
            }
            else if (member.Status is SiloStatus.ShuttingDown or SiloStatus.Stopping or SiloStatus.Dead)
            {
                departed.Add(member.SiloAddress);
            }
        }

        return (active, departed);
    }

    private static ulong Score(string collection, int shard, SiloAddress silo) =>
        XxHash64.HashToUInt64(Encoding.UTF8.GetBytes($"{ShardRouter.ShardKey(collection, shard)}\n{silo.ToParsableString()}"));

    /// <summary>Older silos first: by generation (start time), then by address.</summary>
    private sealed class AgeOrder : IComparer<SiloAddress>
    {
        public static readonly AgeOrder Instance = new();

        public int Compare(SiloAddress? x, SiloAddress? y) =>
            x!.Generation != y!.Generation
                ? x.Generation.CompareTo(y.Generation)
                : string.CompareOrdinal(x.ToParsableString(), y.ToParsableString());
    }
}

/// <summary>Marks a grain class keyed <c>collection/shard</c> for <see cref="ShardPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class ShardPlacementAttribute() : PlacementAttribute(ShardPlacement.Instance);

/// <summary>
/// Places a shard on its silo in <see cref="ShardPlacement.Assign"/>, or on the silo a migrating shard names in
/// <see cref="IPlacementDirector.PlacementHintKey"/>. The shard count comes from the collection grain and is cached
/// briefly (a collection's count never changes, but a dropped name can be created again with another).
/// </summary>
public sealed class ShardPlacementDirector(IGrainFactory grains, IClusterMembershipService membership) : IPlacementDirector
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
        if (shards is not { } count || shard < 0 || shard >= count)
        {
            return Placement.RendezvousPlacementDirector.Choose(key, silos);
        }

        var (_, departed) = ShardPlacement.Members(membership.CurrentSnapshot);
        return ShardPlacement.Assign(collection, count, silos, departed)[shard];
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
