using System.Globalization;
using System.Text.Json;

namespace Agents.Grains.Vectors.Engine;

/// <summary>The top-level scalar fields of a JSON payload, parsed once so filters test them without re-reading JSON.</summary>
public sealed class PayloadFields
{
    /// <summary>A payload with no fields.</summary>
    public static readonly PayloadFields Empty = new([]);

    private readonly (string Name, string Text, double? Number)[] _fields;

    private PayloadFields((string Name, string Text, double? Number)[] fields) => _fields = fields;

    /// <summary>Parses a UTF-8 JSON object (empty bytes: no payload); throws <see cref="ArgumentException"/> saying what is wrong.</summary>
    public static PayloadFields Parse(ReadOnlySpan<byte> json)
    {
        if (json.IsEmpty)
        {
            return Empty;
        }

        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new ArgumentException("A payload must be a JSON object.");
            }

            var fields = new List<(string, string, double?)>();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                reader.Read();
                switch (reader.TokenType)
                {
                    case JsonTokenType.String:
                        fields.Add((name, reader.GetString()!, null));
                        break;
                    case JsonTokenType.Number:
                        var number = reader.GetDouble();
                        fields.Add((name, number.ToString(CultureInfo.InvariantCulture), number));
                        break;
                    case JsonTokenType.True or JsonTokenType.False:
                        fields.Add((name, reader.GetBoolean() ? "true" : "false", null));
                        break;
                    case JsonTokenType.StartArray:
                        // Arrays of scalars: the point matches a value if any element does.
                        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                        {
                            if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                            {
                                reader.Skip();
                            }
                            else if (reader.TokenType == JsonTokenType.Number)
                            {
                                var n = reader.GetDouble();
                                fields.Add((name, n.ToString(CultureInfo.InvariantCulture), n));
                            }
                            else if (reader.TokenType == JsonTokenType.String)
                            {
                                fields.Add((name, reader.GetString()!, null));
                            }
                        }

                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }

            return new PayloadFields([.. fields]);
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"A payload is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>True when every condition of <paramref name="filter"/> holds.</summary>
    public bool Matches(PayloadFilter filter)
    {
        foreach (var condition in filter.Must)
        {
            if (!Matches(condition))
            {
                return false;
            }
        }

        return true;
    }

    private bool Matches(FilterCondition condition)
    {
        foreach (var (name, text, number) in _fields)
        {
            if (!string.Equals(name, condition.Field, StringComparison.Ordinal))
            {
                continue;
            }

            if (condition.Operator == FilterOperator.Range)
            {
                if (number is { } n && (condition.Min is not { } min || n >= min) && (condition.Max is not { } max || n <= max))
                {
                    return true;
                }
            }
            else if (condition.Values is { } values)
            {
                foreach (var v in values)
                {
                    if (string.Equals(v, text, StringComparison.Ordinal)
                        || (number is { } x && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var y) && x == y))
                    {
                        return true;
                    }
                }
            }
        }

        return false;
    }

    /// <summary>Checks a filter's shape; throws <see cref="ArgumentException"/> naming the bad condition.</summary>
    public static void Validate(PayloadFilter filter)
    {
        foreach (var c in filter.Must)
        {
            if (string.IsNullOrWhiteSpace(c.Field))
            {
                throw new ArgumentException("A filter condition needs a field name.");
            }

            if (c.Operator == FilterOperator.In && (c.Values is null || c.Values.Length == 0))
            {
                throw new ArgumentException($"Filter on '{c.Field}' needs at least one value.");
            }

            if (c.Operator == FilterOperator.Range && c.Min is null && c.Max is null)
            {
                throw new ArgumentException($"Range filter on '{c.Field}' needs a minimum or a maximum.");
            }

            if (c.Min is { } min && c.Max is { } max && min > max)
            {
                throw new ArgumentException($"Range filter on '{c.Field}' has minimum {min} above maximum {max}.");
            }
        }
    }
}
