using System.Text;

namespace Agents.Engine.Vectors;

/// <summary>
/// A shard's saved index: the point id of every graph slot (null for dead slots) and the HNSW graph, so a shard that
/// reactivates elsewhere rebuilds its arena in the graph's order and does not re-index from scratch.
/// </summary>
public static class ShardSnapshot
{
    private const int Magic = 0x53485041; // "APHS"
    private const int Version = 1;

    /// <summary>Serialises the slot ids and the graph.</summary>
    public static byte[] Write(IEnumerable<string?> slotIds, HnswIndex graph)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Magic);
            writer.Write(Version);
            var ids = slotIds.ToList();
            writer.Write(ids.Count);
            foreach (var id in ids)
            {
                writer.Write(id is not null);
                if (id is not null)
                {
                    writer.Write(id);
                }
            }
        }

        graph.Save(stream);
        return stream.ToArray();
    }

    /// <summary>Reads what <see cref="Write"/> wrote; false (and nothing) for another format, so the caller re-indexes.</summary>
    public static bool TryRead(byte[] bytes, out List<string?> slotIds, out byte[] graph)
    {
        slotIds = [];
        graph = [];
        try
        {
            using var stream = new MemoryStream(bytes);
            using var reader = new BinaryReader(stream, Encoding.UTF8);
            if (reader.ReadInt32() != Magic || reader.ReadInt32() != Version)
            {
                return false;
            }

            var count = reader.ReadInt32();
            if (count < 0 || count > bytes.Length)
            {
                return false;
            }

            var ids = new List<string?>(count);
            for (var i = 0; i < count; i++)
            {
                ids.Add(reader.ReadBoolean() ? reader.ReadString() : null);
            }

            slotIds = ids;
            graph = bytes[(int)stream.Position..];
            return true;
        }
        catch (EndOfStreamException)
        {
            return false;
        }
    }
}
