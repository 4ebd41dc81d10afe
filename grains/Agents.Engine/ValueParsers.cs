using System.Globalization;

namespace Agents.Engine;

/// <summary>Parses the human forms of sizes (<c>512MB</c>) and durations (<c>30s</c>) used in configuration.</summary>
public static class ValueParsers
{
    private static readonly (string Suffix, long Factor)[] SizeUnits =
    [
        ("TB", 1L << 40), ("GB", 1L << 30), ("MB", 1L << 20), ("KB", 1L << 10),
        ("T", 1L << 40), ("G", 1L << 30), ("M", 1L << 20), ("K", 1L << 10), ("B", 1),
    ];

    private static readonly (string Suffix, double Seconds)[] DurationUnits =
    [
        ("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400),
    ];

    /// <summary>Parses <c>1GB</c>, <c>512MB</c>, <c>64KB</c>, <c>1.5GB</c> or a plain byte count (binary units: 1KB = 1024 bytes).</summary>
    public static bool TryParseSize(string? text, out long bytes)
    {
        bytes = 0;
        var s = text?.Trim().Replace(" ", "", StringComparison.Ordinal).ToUpperInvariant();
        if (string.IsNullOrEmpty(s))
        {
            return false;
        }

        if (s.EndsWith("IB", StringComparison.Ordinal))
        {
            s = s[..^2] + "B";
        }

        long factor = 1;
        foreach (var (suffix, f) in SizeUnits)
        {
            if (s.EndsWith(suffix, StringComparison.Ordinal))
            {
                factor = f;
                s = s[..^suffix.Length];
                break;
            }
        }

        if (!double.TryParse(s, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value)
            || double.IsNaN(value) || value < 0 || value * factor > long.MaxValue)
        {
            return false;
        }

        bytes = (long)Math.Round(value * factor);
        return true;
    }

    /// <summary>Parses <c>30s</c>, <c>500ms</c>, <c>5m</c>, <c>1h</c>, <c>1d</c> or <c>hh:mm:ss</c>.</summary>
    public static bool TryParseDuration(string? text, out TimeSpan duration)
    {
        duration = default;
        var s = text?.Trim().ToLowerInvariant();
        if (string.IsNullOrEmpty(s))
        {
            return false;
        }

        if (s.Contains(':', StringComparison.Ordinal))
        {
            return TimeSpan.TryParse(s, CultureInfo.InvariantCulture, out duration) && duration >= TimeSpan.Zero;
        }

        foreach (var (suffix, seconds) in DurationUnits)
        {
            if (s.EndsWith(suffix, StringComparison.Ordinal)
                && double.TryParse(s[..^suffix.Length], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value)
                && value >= 0 && value * seconds < TimeSpan.MaxValue.TotalSeconds)
            {
                duration = TimeSpan.FromSeconds(value * seconds);
                return true;
            }
        }

        return false;
    }

    /// <summary>Formats a byte count the way configuration writes it.</summary>
    public static string FormatSize(long bytes) => bytes switch
    {
        >= 1L << 30 when bytes % (1L << 30) == 0 => $"{bytes >> 30}GB",
        >= 1L << 20 when bytes % (1L << 20) == 0 => $"{bytes >> 20}MB",
        >= 1L << 10 when bytes % (1L << 10) == 0 => $"{bytes >> 10}KB",
        _ => $"{bytes}B",
    };
}
