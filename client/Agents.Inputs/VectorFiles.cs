using System.Globalization;
using System.IO.MemoryMappedFiles;
using System.Text;
using System.Text.Json;

namespace Agents.Inputs;

/// <summary>Reads vectors from <c>.fvecs</c> (TEXMEX: int32 dimension then that many float32, little-endian) and <c>.jsonl</c>.</summary>
public static class VectorFiles
{
    /// <summary>
    /// Points from a file: <c>.fvecs</c> rows get ids 0..n-1; <c>.jsonl</c> lines are <c>{"id", "vector", "payload"}</c>.
    /// A point the cluster would refuse (a bad number, id or payload, another dimension) is reported with its row or line.
    /// </summary>
    public static IEnumerable<PointInput> ReadPoints(string path) =>
        Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".fvecs" => ReadFvecs(path).Select((v, i) => new PointInput(i.ToString(CultureInfo.InvariantCulture), v)),
            ".jsonl" or ".ndjson" => ReadJsonl(path),
            var other => throw new ArgumentException($"'{path}': unknown vector file type '{other}'; use .fvecs or .jsonl."),
        };

    /// <summary>The rows of an <c>.fvecs</c> file, read through a memory map; a malformed file or a value that is not finite is reported with the row and byte offset.</summary>
    public static IEnumerable<float[]> ReadFvecs(string path)
    {
        // A symbolic link is read as its target: FileInfo of the link itself gives the link's own length.
        var file = new FileInfo(path);
        var target = file.LinkTarget is null ? file : file.ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? file;
        var length = target.Exists ? target.Length : throw new FileNotFoundException($"Vector file '{path}' does not exist{(target != file ? $" (it links to '{target.FullName}')" : "")}.");
        if (length == 0)
        {
            yield break;
        }

        using var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        using var view = map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
        long offset = 0;
        var row = 0;
        int? dimension = null;
        while (offset < length)
        {
            if (length - offset < 4)
            {
                throw new InvalidDataException($"'{path}': row {row} at byte {offset} is cut short (no room for its dimension).");
            }

            var d = view.ReadInt32(offset);
            if (d is < 1 or > 4096)
            {
                throw new InvalidDataException($"'{path}': row {row} at byte {offset} declares dimension {d}; expected 1..4096 (is this an .fvecs file?).");
            }

            if (dimension is { } first && d != first)
            {
                throw new InvalidDataException($"'{path}': row {row} at byte {offset} has dimension {d}, but row 0 has {first}.");
            }

            dimension = d;
            if (length - offset - 4 < (long)d * 4)
            {
                throw new InvalidDataException($"'{path}': row {row} at byte {offset} is cut short: {d} floats declared, {(length - offset - 4) / 4} present.");
            }

            var vector = new float[d];
            view.ReadArray(offset + 4, vector, 0, d);
            if (Array.FindIndex(vector, x => !float.IsFinite(x)) is var bad and >= 0)
            {
                throw new InvalidDataException($"'{path}': row {row} at byte {offset} holds {vector[bad]} at dimension {bad}; only finite numbers are accepted.");
            }

            offset += 4 + (long)d * 4;
            row++;
            yield return vector;
        }
    }

    /// <summary>The integer rows of an <c>.ivecs</c> file (ground truth).</summary>
    public static IEnumerable<int[]> ReadIvecs(string path)
    {
        using var stream = File.OpenRead(path);
        using var reader = new BinaryReader(stream);
        var row = 0;
        while (stream.Position < stream.Length)
        {
            if (stream.Length - stream.Position < 4)
            {
                throw new InvalidDataException($"'{path}': row {row} is cut short (no room for its dimension).");
            }

            var d = reader.ReadInt32();
            if (d is < 1 or > 100_000 || stream.Length - stream.Position < (long)d * 4)
            {
                throw new InvalidDataException($"'{path}': row {row} is malformed (dimension {d}).");
            }

            var values = new int[d];
            for (var i = 0; i < d; i++)
            {
                values[i] = reader.ReadInt32();
            }

            row++;
            yield return values;
        }
    }

    /// <summary>Points from JSON lines; a bad line is reported with its number.</summary>
    public static IEnumerable<PointInput> ReadJsonl(string path)
    {
        var number = 0;
        var lineOfId = new Dictionary<string, int>(StringComparer.Ordinal);
        (int Length, int Line)? first = null;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            PointInput point;
            try
            {
                using var json = JsonDocument.Parse(line);
                var root = json.RootElement;
                var id = root.GetProperty("id") switch
                {
                    { ValueKind: JsonValueKind.String } s => s.GetString()!,
                    { ValueKind: JsonValueKind.Number } n => n.GetRawText(),
                    _ => throw new InvalidDataException("\"id\" must be a string or a number"),
                };
                if (id.Length is 0 or > ShardRouter.MaxIdLength)
                {
                    throw new InvalidDataException($"\"id\" has {id.Length} characters; use 1..{ShardRouter.MaxIdLength}");
                }

                if (!lineOfId.TryAdd(id, number))
                {
                    throw new InvalidDataException($"id '{id}' is already on line {lineOfId[id]}");
                }

                var vector = root.GetProperty("vector").EnumerateArray().Select(e => e.GetSingle()).ToArray();
                if (vector.Length is 0 or > ShardRouter.MaxDimension)
                {
                    throw new InvalidDataException($"\"vector\" has {vector.Length} numbers; use 1..{ShardRouter.MaxDimension}");
                }

                if (first is { } f && f.Length != vector.Length)
                {
                    throw new InvalidDataException($"\"vector\" has {vector.Length} numbers, but line {f.Line} has {f.Length}");
                }

                first ??= (vector.Length, number);
                if (Array.FindIndex(vector, x => !float.IsFinite(x)) is var bad and >= 0)
                {
                    throw new InvalidDataException($"\"vector\" holds {vector[bad]} at {bad}; only finite numbers are accepted");
                }

                var payload = root.TryGetProperty("payload", out var p) ? p.ValueKind switch
                {
                    JsonValueKind.Object => p.GetRawText(),
                    JsonValueKind.Null => null,
                    _ => throw new InvalidDataException("\"payload\" must be an object"),
                } : null;
                if (payload is not null)
                {
                    // The shard's own rules, checked here so a bad payload is named by its line.
                    PayloadFields.Parse(Encoding.UTF8.GetBytes(payload));
                }

                point = new PointInput(id, vector, payload);
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or InvalidDataException or ArgumentException)
            {
                throw new InvalidDataException($"'{path}' line {number}: {e.Message} (expected {{\"id\": \"...\", \"vector\": [...], \"payload\": {{...}}}}).");
            }

            yield return point;
        }
    }

    /// <summary>Parses <c>--vector "0.1,0.2,..."</c>: 1..4096 finite numbers.</summary>
    public static float[] ParseVector(string text)
    {
        float[] vector;
        try
        {
            vector = text.Trim('[', ']', ' ').Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(v => float.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture)).ToArray();
        }
        catch (FormatException)
        {
            throw new ArgumentException($"--vector '{text}' is not a comma-separated list of numbers.");
        }

        if (vector.Length is 0 or > ShardRouter.MaxDimension)
        {
            throw new ArgumentException($"--vector has {vector.Length} numbers; use 1..{ShardRouter.MaxDimension}.");
        }

        return Array.FindIndex(vector, x => !float.IsFinite(x)) is var bad and >= 0
            ? throw new ArgumentException($"--vector holds {vector[bad]} at {bad}; only finite numbers are accepted.")
            : vector;
    }

    /// <summary>Parses a <c>--filter</c>: <c>field=value</c>, <c>field=a|b|c</c> (any of), <c>field&gt;=1</c>, <c>field&lt;=5</c> or <c>field=1..5</c>.</summary>
    public static FilterCondition ParseFilter(string text)
    {
        var ops = new[] { ">=", "<=", "=" };
        foreach (var op in ops)
        {
            var at = text.IndexOf(op, StringComparison.Ordinal);
            if (at <= 0)
            {
                continue;
            }

            var field = text[..at].Trim();
            var value = text[(at + op.Length)..].Trim();
            if (value.Length == 0)
            {
                break;
            }

            double Number(string v) => double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var x)
                ? x : throw new ArgumentException($"--filter '{text}': '{v}' is not a number.");
            return op switch
            {
                ">=" => new FilterCondition(field, FilterOperator.Range, Min: Number(value)),
                "<=" => new FilterCondition(field, FilterOperator.Range, Max: Number(value)),
                _ when value.Contains("..", StringComparison.Ordinal) is true && value.Split("..") is [var lo, var hi] =>
                    new FilterCondition(field, FilterOperator.Range, Min: lo.Length > 0 ? Number(lo) : null, Max: hi.Length > 0 ? Number(hi) : null),
                _ => new FilterCondition(field, FilterOperator.In, value.Split('|')),
            };
        }

        throw new ArgumentException($"--filter '{text}' is not understood; write field=value, field=a|b, field>=n, field<=n or field=lo..hi.");
    }
}
