namespace Agents.Engine.Text;

/// <summary>
/// Thread-safe least-recently-used cache of processed documents keyed by content hash, bounded by an approximate
/// byte budget (document_cache_size) estimated from the chunk texts, keywords and a fixed per-entry overhead.
/// </summary>
public sealed class DocumentCache
{
    /// <summary>Bytes charged per entry for the records, the hash key and the bookkeeping around them.</summary>
    public const int EntryOverheadBytes = 512;

    /// <summary>Bytes charged per chunk and per keyword on top of their text.</summary>
    public const int ItemOverheadBytes = 64;

    private readonly long _capacityBytes;
    private readonly Dictionary<string, LinkedListNode<Entry>> _entries = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> _recency = new();
    private readonly Lock _lock = new();
    private long _sizeBytes;
    private long _hits;
    private long _misses;

    /// <summary>Creates a cache holding at most about <paramref name="capacityBytes"/> bytes; 0 disables caching.</summary>
    public DocumentCache(long capacityBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacityBytes);
        _capacityBytes = capacityBytes;
    }

    /// <summary>The byte budget.</summary>
    public long CapacityBytes => _capacityBytes;

    /// <summary>Estimated bytes held now.</summary>
    public long SizeBytes
    {
        get
        {
            lock (_lock)
            {
                return _sizeBytes;
            }
        }
    }

    /// <summary>Documents held now.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Lookups that found their document.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Lookups that did not.</summary>
    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>The estimated bytes a document is charged in the cache.</summary>
    public static long EstimateSize(ProcessedDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        long size = EntryOverheadBytes + (2L * document.ContentHash.Length) + (2L * (document.Title?.Length ?? 0));
        foreach (var chunk in document.Chunks)
        {
            size += ItemOverheadBytes + (2L * chunk.Text.Length);
        }

        foreach (var keyword in document.Keywords)
        {
            size += ItemOverheadBytes + (2L * keyword.Term.Length);
        }

        return size;
    }

    /// <summary>Looks a document up by content hash and marks it most recently used.</summary>
    public bool TryGet(string contentHash, out ProcessedDocument? document)
    {
        ArgumentNullException.ThrowIfNull(contentHash);
        lock (_lock)
        {
            if (_entries.TryGetValue(contentHash, out var node))
            {
                _recency.Remove(node);
                _recency.AddFirst(node);
                _hits++;
                document = node.Value.Document;
                return true;
            }

            _misses++;
        }

        document = null;
        return false;
    }

    /// <summary>
    /// Adds or replaces a document, then evicts least recently used documents until the cache is within budget.
    /// A document larger than the whole budget is not kept.
    /// </summary>
    public void Add(string contentHash, ProcessedDocument document)
    {
        ArgumentNullException.ThrowIfNull(contentHash);
        ArgumentNullException.ThrowIfNull(document);
        var size = EstimateSize(document);
        lock (_lock)
        {
            if (_entries.Remove(contentHash, out var existing))
            {
                _recency.Remove(existing);
                _sizeBytes -= existing.Value.SizeBytes;
            }

            if (size > _capacityBytes)
            {
                return;
            }

            _entries[contentHash] = _recency.AddFirst(new Entry(contentHash, document, size));
            _sizeBytes += size;
            while (_sizeBytes > _capacityBytes && _recency.Last is { } oldest)
            {
                _recency.RemoveLast();
                _entries.Remove(oldest.Value.Key);
                _sizeBytes -= oldest.Value.SizeBytes;
            }
        }
    }

    private sealed record Entry(string Key, ProcessedDocument Document, long SizeBytes);
}
