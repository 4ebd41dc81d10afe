namespace Agents.Grains.Jobs;

/// <summary>
/// Which silo runs each batch of a job. A new batch goes to an active silo by the job's distribution (round-robin by
/// batch index, random, or the silo with the least work outstanding for its capacity). A stored batch runs on the silo
/// that holds it, at most <see cref="Limit"/> at once per silo; batches whose silo has left share one more slot,
/// <see cref="Elsewhere"/>, and run wherever their input is placed again. A silo whose call failed is passed over for a
/// while. Not thread-safe: the job grain calls it from its own turns.
/// </summary>
public sealed class SiloChoice(Random? random = null)
{
    /// <summary>The in-flight slot of batches whose silo has left the cluster: they run wherever their input is placed again.</summary>
    public const string Elsewhere = "";

    private readonly Random _random = random ?? Random.Shared;
    private readonly Dictionary<string, int> _inFlight = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _uncounted = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _capacity = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTime> _suspects = new(StringComparer.Ordinal);
    private List<string> _active = [];
    private HashSet<string> _activeSet = new(StringComparer.Ordinal);

    /// <summary>The active silos, in ordinal order.</summary>
    public IReadOnlyList<string> Active => _active;

    /// <summary>Takes the cluster's active silos (their parsable addresses).</summary>
    public void SetActive(IEnumerable<string> silos)
    {
        _active = silos.Order(StringComparer.Ordinal).ToList();
        _activeSet = _active.ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>
    /// Batches one silo runs at once: four per worker thread, so a silo always has the next ones queued, even while the
    /// silo that hosts the job is busy (under a CPU cap, paused for most of each period) and cannot dispatch.
    /// </summary>
    public int Limit(string slot) => 4 * _capacity.GetValueOrDefault(slot, 1);

    /// <summary>Batches running in <paramref name="slot"/> now.</summary>
    public int InFlight(string slot) => _inFlight.GetValueOrDefault(slot);

    /// <summary>Batches held by <paramref name="silo"/> and not counted yet (the load least-loaded placement weighs).</summary>
    public int Uncounted(string silo) => _uncounted.GetValueOrDefault(silo);

    /// <summary>A batch stored on <paramref name="silo"/> waits to be counted.</summary>
    public void Holds(string silo) => _uncounted[silo] = _uncounted.GetValueOrDefault(silo) + 1;

    /// <summary>A batch stored on <paramref name="silo"/> was counted.</summary>
    public void Counted(string silo) => _uncounted[silo]--;

    /// <summary>How many batches <paramref name="silo"/> runs at once, as its last result reported.</summary>
    public void Reported(string silo, int capacity) => _capacity[silo] = Math.Max(1, capacity);

    /// <summary>
    /// The silos batches <paramref name="firstBatch"/>.. should be stored on, one per batch, chosen by
    /// <paramref name="distribution"/> among the active silos not under suspicion at <paramref name="now"/>.
    /// </summary>
    /// <exception cref="OverloadedException">No active silo can take a batch now.</exception>
    public string[] Place(Distribution distribution, int firstBatch, int count, DateTime now)
    {
        var silos = _active.Where(s => _suspects.GetValueOrDefault(s) < now).ToList();
        if (silos.Count == 0)
        {
            throw new OverloadedException("No active silo can take a batch now; try again once the cluster has one.");
        }

        var placed = new string[count];
        var planned = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            placed[i] = distribution switch
            {
                Distribution.RoundRobin => silos[(firstBatch + i) % silos.Count],
                Distribution.Random => silos[_random.Next(silos.Count)],
                _ => LeastLoaded(silos, planned),
            };
            planned[placed[i]] = planned.GetValueOrDefault(placed[i]) + 1;
        }

        return placed;
    }

    /// <summary>Where a batch stored on <paramref name="silo"/> runs: that silo while it is active, <see cref="Elsewhere"/> once it has left.</summary>
    public string SlotOf(string silo) => _activeSet.Contains(silo) ? silo : Elsewhere;

    /// <summary>True while <paramref name="slot"/> is passed over after a failed call (never for <see cref="Elsewhere"/>).</summary>
    public bool IsSuspect(string slot, DateTime now) => slot != Elsewhere && _suspects.GetValueOrDefault(slot) > now;

    /// <summary>True if <paramref name="slot"/> can run one more batch now.</summary>
    public bool HasRoom(string slot) => InFlight(slot) < Limit(slot);

    /// <summary>A batch starts running in <paramref name="slot"/>.</summary>
    public void Start(string slot) => _inFlight[slot] = InFlight(slot) + 1;

    /// <summary>A batch running in <paramref name="slot"/> has finished, counted or not.</summary>
    public void Finish(string slot) => _inFlight[slot]--;

    /// <summary>Passes <paramref name="slot"/> over until <paramref name="until"/> (its silo may be dead; membership decides).</summary>
    public void Suspect(string slot, DateTime until)
    {
        if (slot != Elsewhere)
        {
            _suspects[slot] = until;
        }
    }

    // The silo with the least work outstanding for its capacity; ties (often all idle) go to a random one of them.
    private string LeastLoaded(List<string> silos, Dictionary<string, int> planned)
    {
        double Load(string s) => (double)(_uncounted.GetValueOrDefault(s) + planned.GetValueOrDefault(s)) / Limit(s);
        var lowest = silos.Min(Load);
        var least = silos.Where(s => Load(s) <= lowest).ToList();
        return least[_random.Next(least.Count)];
    }
}
