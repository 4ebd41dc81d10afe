using System.CommandLine;
using System.CommandLine.Parsing;

namespace Agents.Cli;

/// <summary>Checks of option and argument values shared by the commands; each throws <see cref="ArgumentException"/> naming the option.</summary>
internal static class OptionChecks
{
    /// <summary>
    /// The collection name given to <paramref name="argument"/>, if valid. One that begins with '-' must come after
    /// <c>--</c>: otherwise it is most likely a mistyped option (and <c>collection drop --forse</c> would drop "--forse").
    /// </summary>
    public static string CollectionName(ParseResult parse, Argument<string> argument)
    {
        var name = parse.GetValue(argument);
        if (name is ['-', ..] && !parse.Tokens.Any(t => t.Type == TokenType.DoubleDash))
        {
            throw new ArgumentException($"'{name}' is not an option of this command; to name a collection '{name}', put it after --.");
        }

        ShardRouter.ValidateName(name);
        return name!;
    }

    /// <summary><paramref name="value"/> of <paramref name="option"/>, if within <paramref name="min"/>..<paramref name="max"/>.</summary>
    public static int InRange(int value, string option, int min, int max) =>
        value >= min && value <= max ? value : throw new ArgumentException($"{option} {value} is out of range: use {min}..{max}.");

    /// <summary><paramref name="value"/> of <paramref name="option"/>, if at least <paramref name="min"/>.</summary>
    public static int AtLeast(int value, string option, int min) =>
        value >= min ? value : throw new ArgumentException($"{option} must be at least {min}; got {value}.");

    /// <summary>The path given to <paramref name="option"/>, if it is not empty.</summary>
    public static string PathOf(string? path, string option) =>
        string.IsNullOrWhiteSpace(path) ? throw new ArgumentException($"{option} needs a path; got '{path}'.") : path;

    /// <summary>A file to write, checked before the work that fills it: not empty, not a folder; null when not given.</summary>
    public static string? OutputFile(string? path, string option) =>
        path is null ? null
        : Directory.Exists(PathOf(path, option)) ? throw new ArgumentException($"{option} '{path}' is a folder; give the file to write.")
        : path;
}
