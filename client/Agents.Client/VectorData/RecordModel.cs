using System.Buffers;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.VectorData;

namespace Agents.Client.VectorData;

/// <summary>What a mapped property is to the cluster.</summary>
internal enum PropertyRole
{
    /// <summary>The point id.</summary>
    Key,

    /// <summary>A field of the JSON payload.</summary>
    Data,

    /// <summary>The point's vector.</summary>
    Vector,
}

/// <summary>
/// One mapped property: its model name, its payload (storage) name, its .NET type, for classes its accessor, and for
/// data properties whether keyword search indexes it.
/// </summary>
internal sealed record ModelProperty(string Name, string StorageName, Type Type, PropertyRole Role, PropertyInfo? Clr, bool FullText = false);

/// <summary>
/// How records of <typeparamref name="TRecord"/> map to points: the key is the point id, the single vector is the point
/// vector and the data properties are the JSON payload under their storage names. Built once per collection object
/// from the definition (or the attributes), so mapping errors surface when the collection is obtained.
/// </summary>
internal sealed class RecordModel<TRecord>
    where TRecord : class
{
    /// <summary>Point ids the cluster accepts are at most this long.</summary>
    public const int MaxIdLength = 256;

    private static readonly Type[] s_keyTypes = [typeof(string), typeof(Guid), typeof(int), typeof(long)];

    private readonly Dictionary<string, ModelProperty> _byName;

    private RecordModel(
        ModelProperty key, ModelProperty vector, IReadOnlyList<ModelProperty> data, int dimensions, VectorMetric metric, VectorIndexKind index,
        bool autoGenerateKey, bool isDynamic)
    {
        Key = key;
        Vector = vector;
        Data = data;
        Dimensions = dimensions;
        Metric = metric;
        Index = index;
        AutoGenerateKey = autoGenerateKey;
        IsDynamic = isDynamic;
        _byName = new Dictionary<string, ModelProperty>(StringComparer.Ordinal) { [key.Name] = key, [vector.Name] = vector };
        foreach (var p in data)
        {
            _byName[p.Name] = p;
        }
    }

    /// <summary>Serializer settings for payload values and for filter constants, so both render a value the same way.</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new(JsonSerializerDefaults.General);

    public ModelProperty Key { get; }

    public ModelProperty Vector { get; }

    public IReadOnlyList<ModelProperty> Data { get; }

    /// <summary>The payload names of the full-text indexed data properties, in declaration order (empty when none).</summary>
    public string[] FullTextFields => Data.Where(d => d.FullText).Select(d => d.StorageName).ToArray();

    public int Dimensions { get; }

    public VectorMetric Metric { get; }

    /// <summary><c>hnsw</c> or <c>flat</c>.</summary>
    public VectorIndexKind Index { get; }

    /// <summary>A <see cref="Guid"/> key left empty gets a new Guid on upsert.</summary>
    public bool AutoGenerateKey { get; }

    /// <summary>Records are <c>Dictionary&lt;string, object?&gt;</c> keyed by property name.</summary>
    public bool IsDynamic { get; }

    /// <summary>The property with this model (CLR or definition) name, or null.</summary>
    public ModelProperty? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>Builds the model; throws <see cref="NotSupportedException"/> or <see cref="ArgumentException"/> naming what cannot be mapped.</summary>
    public static RecordModel<TRecord> Build(Type keyType, VectorStoreCollectionDefinition? definition)
    {
        var isDynamic = typeof(TRecord) == typeof(Dictionary<string, object?>);
        if (keyType != typeof(object) && !s_keyTypes.Contains(keyType))
        {
            throw new NotSupportedException(
                $"Key type '{keyType.Name}' is not supported by the Agents vector store: point ids are strings, so use string, Guid, int or long.");
        }

        if (isDynamic && definition is null)
        {
            throw new ArgumentException("A dynamic (Dictionary<string, object?>) collection needs a VectorStoreCollectionDefinition.");
        }

        if (!isDynamic && typeof(TRecord).GetConstructor(Type.EmptyTypes) is null)
        {
            throw new NotSupportedException(
                $"Record type '{typeof(TRecord).Name}' needs a public parameterless constructor: the Agents vector store fills records through their property setters.");
        }

        var properties = new List<(VectorStoreProperty Declared, PropertyInfo? Clr)>();
        if (definition is not null)
        {
            foreach (var declared in definition.Properties)
            {
                PropertyInfo? clr = null;
                if (!isDynamic)
                {
                    clr = typeof(TRecord).GetProperty(declared.Name, BindingFlags.Public | BindingFlags.Instance)
                        ?? throw new ArgumentException($"Record type '{typeof(TRecord).Name}' has no public property '{declared.Name}' named by the definition.");
                }

                properties.Add((declared, clr));
            }
        }
        else
        {
            foreach (var clr in typeof(TRecord).GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                if (FromAttributes(clr) is { } declared)
                {
                    properties.Add((declared, clr));
                }
            }
        }

        ModelProperty? key = null;
        ModelProperty? vector = null;
        VectorStoreVectorProperty? vectorDeclaration = null;
        bool? keyAutoGenerated = null;
        var data = new List<ModelProperty>();
        foreach (var (declared, clr) in properties)
        {
            if (clr is { CanRead: false } or { CanWrite: false })
            {
                throw new NotSupportedException($"Property '{clr.Name}' of '{typeof(TRecord).Name}' must have a public getter and setter.");
            }

            var type = declared.Type ?? clr?.PropertyType
                ?? (declared is VectorStoreVectorProperty ? typeof(ReadOnlyMemory<float>) : throw new ArgumentException($"Property '{declared.Name}' declares no type."));
            var storageName = string.IsNullOrEmpty(declared.StorageName) ? declared.Name : declared.StorageName;
            switch (declared)
            {
                case VectorStoreKeyProperty k:
                    if (key is not null)
                    {
                        throw new NotSupportedException($"'{typeof(TRecord).Name}' declares two keys ('{key.Name}', '{k.Name}'); a point has exactly one id.");
                    }

                    if (!s_keyTypes.Contains(type))
                    {
                        throw new NotSupportedException(
                            $"Key property '{k.Name}' has type '{type.Name}', which the Agents vector store does not support: use string, Guid, int or long.");
                    }

                    if (keyType != typeof(object) && keyType != type)
                    {
                        throw new ArgumentException($"Key property '{k.Name}' has type '{type.Name}' but the collection's key type is '{keyType.Name}'.");
                    }

                    key = new ModelProperty(k.Name, storageName, type, PropertyRole.Key, clr);
                    keyAutoGenerated = k.IsAutoGenerated;
                    break;
                case VectorStoreVectorProperty v:
                    if (vector is not null)
                    {
                        throw new NotSupportedException(
                            $"'{typeof(TRecord).Name}' declares two vector properties ('{vector.Name}', '{v.Name}'); an Agents collection holds one vector per point.");
                    }

                    if (type != typeof(ReadOnlyMemory<float>) && type != typeof(ReadOnlyMemory<float>?) && type != typeof(float[]))
                    {
                        throw new NotSupportedException(
                            $"Vector property '{v.Name}' has type '{type.Name}': the Agents vector store stores float32 vectors only (ReadOnlyMemory<float> or float[]) and generates no embeddings.");
                    }

                    vector = new ModelProperty(v.Name, storageName, type, PropertyRole.Vector, clr);
                    vectorDeclaration = v;
                    break;
                case VectorStoreDataProperty d:
                    if (d.IsFullTextIndexed && type != typeof(string))
                    {
                        throw new NotSupportedException(
                            $"Data property '{d.Name}' is full-text indexed but has type '{type.Name}': keyword search indexes string properties only.");
                    }

                    data.Add(new ModelProperty(d.Name, storageName, type, PropertyRole.Data, clr, d.IsFullTextIndexed));
                    break;
                default:
                    throw new NotSupportedException($"Property kind '{declared.GetType().Name}' of '{declared.Name}' is not supported.");
            }
        }

        if (key is null)
        {
            throw new ArgumentException($"'{typeof(TRecord).Name}' declares no key property ([VectorStoreKey] or a VectorStoreKeyProperty).");
        }

        if (vector is null || vectorDeclaration is null)
        {
            throw new NotSupportedException(
                $"'{typeof(TRecord).Name}' declares no vector property; an Agents collection needs exactly one ([VectorStoreVector] or a VectorStoreVectorProperty).");
        }

        if (vectorDeclaration.Dimensions < 1)
        {
            throw new ArgumentException($"Vector property '{vector.Name}' needs a positive Dimensions (it has {vectorDeclaration.Dimensions}).");
        }

        // The cluster only generates Guids client-side; other store-generated keys would need a server sequence it lacks.
        if (keyAutoGenerated == true && key.Type != typeof(Guid))
        {
            throw new NotSupportedException($"Key property '{key.Name}' is marked auto-generated; the Agents vector store can only generate Guid keys.");
        }

        var duplicate = data.GroupBy(d => d.StorageName, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException($"Two data properties share the storage name '{duplicate.Key}'.");
        }

        return new RecordModel<TRecord>(
            key, vector, data, vectorDeclaration.Dimensions, MapMetric(vectorDeclaration), MapIndex(vectorDeclaration),
            key.Type == typeof(Guid) && keyAutoGenerated != false, isDynamic);
    }

    /// <summary>The cluster's metric for a distance function; the three it computes natively, nothing else.</summary>
    public static VectorMetric MapMetric(VectorStoreVectorProperty vector) => vector.DistanceFunction switch
    {
        null or DistanceFunction.CosineSimilarity => VectorMetric.Cosine,
        DistanceFunction.DotProductSimilarity => VectorMetric.Dot,
        DistanceFunction.EuclideanDistance => VectorMetric.L2,
        var other => throw new NotSupportedException(
            $"Distance function '{other}' of vector property '{vector.Name}' is not supported by the Agents vector store: use CosineSimilarity, DotProductSimilarity or EuclideanDistance."),
    };

    private static VectorIndexKind MapIndex(VectorStoreVectorProperty vector) => vector.IndexKind switch
    {
        null or IndexKind.Hnsw => VectorIndexKind.Hnsw,
        IndexKind.Flat => VectorIndexKind.Flat,
        var other => throw new NotSupportedException(
            $"Index kind '{other}' of vector property '{vector.Name}' is not supported by the Agents vector store: use Hnsw or Flat."),
    };

    private static VectorStoreProperty? FromAttributes(PropertyInfo clr)
    {
        if (clr.GetCustomAttribute<VectorStoreKeyAttribute>() is { } k)
        {
            return new VectorStoreKeyProperty(clr.Name, clr.PropertyType) {
                // The attribute cannot say "unset", so only an explicit true is recorded; a Guid key is generated either way.
                StorageName = k.StorageName,
                IsAutoGenerated = k.IsAutoGenerated ? true : null,
            };
        }

        if (clr.GetCustomAttribute<VectorStoreVectorAttribute>() is { } v)
        {
            return new VectorStoreVectorProperty(clr.Name, clr.PropertyType, v.Dimensions)
            {
                StorageName = v.StorageName,
                DistanceFunction = v.DistanceFunction,
                IndexKind = v.IndexKind,
            };
        }

        return clr.GetCustomAttribute<VectorStoreDataAttribute>() is { } d
            ? new VectorStoreDataProperty(clr.Name, clr.PropertyType) { StorageName = d.StorageName, IsFullTextIndexed = d.IsFullTextIndexed }
            : null;
    }

    /// <summary>The point id for a key value (a <typeparamref name="TRecord"/> key or a dynamic record's boxed key).</summary>
    public string ToId(object? key)
    {
        var id = key switch
        {
            string s => s,
            Guid g => g.ToString("D"),
            int i => i.ToString(CultureInfo.InvariantCulture),
            long l => l.ToString(CultureInfo.InvariantCulture),
            null => throw new ArgumentNullException(nameof(key), "A record key must not be null."),
            _ => throw new NotSupportedException(
                $"Key value of type '{key.GetType().Name}' is not supported by the Agents vector store: use string, Guid, int or long."),
        };
        if (id.Length is 0 or > MaxIdLength)
        {
            throw new ArgumentException($"Key '{id}' is not a valid point id: it must be 1..{MaxIdLength} characters.");
        }

        return id;
    }

    /// <summary>The key value of a point id, typed as the key property.</summary>
    public object FromId(string id) =>
        Key.Type == typeof(string) ? id
        : Key.Type == typeof(Guid) ? Guid.Parse(id)
        : Key.Type == typeof(int) ? int.Parse(id, CultureInfo.InvariantCulture)
        : (object)long.Parse(id, CultureInfo.InvariantCulture); // boxed per branch, or the ternary would widen an int key to long

    /// <summary>Maps a record to a point; a Guid key left empty is generated and written back to the record.</summary>
    public PointInput ToPoint(TRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var key = GetValue(record, Key);
        if (AutoGenerateKey && key is Guid g && g == Guid.Empty)
        {
            key = Guid.NewGuid();
            SetValue(record, Key, key);
        }

        var vector = GetValue(record, Vector) switch
        {
            float[] array => array,
            ReadOnlyMemory<float> memory => memory.ToArray(),
            null => throw new ArgumentException($"Record '{key}' has no vector in '{Vector.Name}'."),
            var other => throw new NotSupportedException($"Vector value of type '{other.GetType().Name}' in '{Vector.Name}' is not supported; use ReadOnlyMemory<float> or float[]."),
        };
        return new PointInput(ToId(key), vector, WritePayload(record));
    }

    /// <summary>Builds a record from a point; the vector stays default when <paramref name="vector"/> is null.</summary>
    public TRecord ToRecord(string id, ReadOnlySpan<byte> payload, float[]? vector)
    {
        var record = IsDynamic ? (TRecord)(object)new Dictionary<string, object?>(StringComparer.Ordinal) : Activator.CreateInstance<TRecord>();
        SetValue(record, Key, FromId(id));
        if (vector is not null)
        {
            SetValue(record, Vector, Vector.Type == typeof(float[]) ? vector : (object)new ReadOnlyMemory<float>(vector));
        }
        else if (IsDynamic)
        {
            SetValue(record, Vector, null);
        }

        JsonDocument? document = null;
        try
        {
            if (!payload.IsEmpty)
            {
                var reader = new Utf8JsonReader(payload);
                document = JsonDocument.ParseValue(ref reader);
            }

            foreach (var property in Data)
            {
                object? value = null;
                if (document is not null && document.RootElement.ValueKind == JsonValueKind.Object
                    && document.RootElement.TryGetProperty(property.StorageName, out var element))
                {
                    value = element.Deserialize(property.Type, JsonOptions);
                }

                // A missing field leaves a class's initializer value alone but must still appear in a dictionary.
                if (value is not null || IsDynamic)
                {
                    SetValue(record, property, value);
                }
            }
        }
        finally
        {
            document?.Dispose();
        }

        return record;
    }

    private string? WritePayload(TRecord record)
    {
        if (Data.Count == 0)
        {
            return null;
        }

        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var property in Data)
            {
                var value = GetValue(record, property);
                writer.WritePropertyName(property.StorageName);
                JsonSerializer.Serialize(writer, value, value?.GetType() ?? property.Type, JsonOptions);
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private object? GetValue(TRecord record, ModelProperty property) =>
        IsDynamic
            ? ((Dictionary<string, object?>)(object)record).GetValueOrDefault(property.Name)
            : property.Clr!.GetValue(record);

    private void SetValue(TRecord record, ModelProperty property, object? value)
    {
        if (IsDynamic)
        {
            ((Dictionary<string, object?>)(object)record)[property.Name] = value;
        }
        else
        {
            property.Clr!.SetValue(record, value);
        }
    }
}
