using System.Globalization;
using System.Text.Json;

namespace Agents.Engine.Vectors;

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

    /// <summary>True when <paramref name="field"/> equals one of <paramref name="values"/> (as text, or as the same number).</summary>
    public bool HasAny(string field, IReadOnlyList<string> values)
    {
        foreach (var (name, text, number) in _fields)
        {
            if (!string.Equals(name, field, StringComparison.Ordinal))
            {
                continue;
            }

            foreach (var v in values)
            {
                if (string.Equals(v, text, StringComparison.Ordinal)
                    || (number is { } x && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var y) && x == y))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>The text values of <paramref name="field"/>: a string, or each string of an array of them, in order.</summary>
    public IEnumerable<string> StringsOf(string field)
    {
        foreach (var (name, text, number) in _fields)
        {
            if (number is null && string.Equals(name, field, StringComparison.Ordinal))
            {
                yield return text;
            }
        }
    }

    /// <summary>True when <paramref name="field"/> is a number within [<paramref name="min"/>, <paramref name="max"/>] (a missing bound is open).</summary>
    public bool HasInRange(string field, double? min, double? max)
    {
        foreach (var (name, _, number) in _fields)
        {
            if (string.Equals(name, field, StringComparison.Ordinal)
                && number is { } n && (min is not { } lo || n >= lo) && (max is not { } hi || n <= hi))
            {
                return true;
            }
        }

        return false;
    }
}
