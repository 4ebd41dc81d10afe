using System.CommandLine;
using System.CommandLine.Parsing;

namespace Agents.Cli;

/// <summary>
/// A command line that does not parse, told in one line in the user's words (with the closest known name when one
/// is near) and a pointer to the command's help, as <c>kubectl</c> and <c>gh</c> do; never the whole help.
/// </summary>
internal static class CommandLineErrors
{
    /// <summary>The two lines for <paramref name="parse"/>'s first error.</summary>
    public static string Describe(ParseResult parse)
    {
        var command = parse.CommandResult.Command;
        var path = CommandPath(parse.CommandResult);
        return $"error: {FirstError(parse, command, path)}\nRun '{path} --help' for usage.";
    }

    private static string FirstError(ParseResult parse, Command command, string path)
    {
        // Tokens nothing took come first: they are most often a typo, which the other errors only follow from.
        if (parse.UnmatchedTokens is [var token, ..])
        {
            if (token.StartsWith('-'))
            {
                var options = OptionNames(parse.CommandResult).ToList();
                var near = Suggestions.Closest(token.Split('=')[0], options);
                return $"unknown option '{token}' for '{path}'{(near is null ? "" : $"; did you mean '{near}'?")}";
            }

            if (command.Subcommands.Count > 0)
            {
                var names = command.Subcommands.Where(c => !c.Hidden).SelectMany(c => c.Aliases.Prepend(c.Name)).ToList();
                var near = Suggestions.Closest(token, names);
                return $"unknown command '{token}' for '{path}'{(near is null ? $"; commands: {Suggestions.List(command.Subcommands.Select(c => c.Name).ToList())}" : $"; did you mean '{near}'?")}";
            }

            return $"unexpected argument '{token}' for '{path}'";
        }

        var error = parse.Errors[0];
        return error.SymbolResult switch
        {
            OptionResult { Option: var option } o when o.Tokens.Count == 0 && !o.Implicit => $"{option.Name} needs a value",
            OptionResult { Option: var option } o when IsConversion(error) => NotA(option.Name, o.Tokens[^1].Value, option.ValueType),
            ArgumentResult { Argument: var argument } a when IsConversion(error) && a.Tokens.Count > 0 =>
                NotA($"<{argument.Name}>", a.Tokens[^1].Value, argument.ValueType),
            _ when error.Message.StartsWith("Required argument missing for command", StringComparison.Ordinal) =>
                $"'{path}' needs {string.Join(" ", command.Arguments.Select(a => $"<{a.Name}>"))}",
            CommandResult when error.Message.StartsWith("Required command", StringComparison.Ordinal) =>
                $"'{path}' needs a command: {Suggestions.List(command.Subcommands.Select(s => s.Name).ToList())}",
            _ => Lower(error.Message.TrimEnd('.')),
        };
    }

    // System.CommandLine says "Cannot parse argument 'x' ... as expected type 'System.Int32'": the type is the tell.
    private static bool IsConversion(ParseError error) => error.Message.Contains("expected type", StringComparison.Ordinal);

    private static string NotA(string name, string value, Type type)
    {
        var what = Nullable.GetUnderlyingType(type) ?? type;
        var expected = what == typeof(int) || what == typeof(long) ? "a whole number"
            : what == typeof(double) || what == typeof(float) ? "a number"
            : what == typeof(Guid) ? "a job id (such as 3f2b8c1e-7d4a-4c2e-9a61-0b5d7e9f1234)"
            : what == typeof(bool) ? "true or false"
            : $"a valid {name.TrimStart('-', '<').TrimEnd('>')}";
        return $"{name} '{value}' is not {expected}";
    }

    private static string Lower(string message) => message.Length > 1 && char.IsUpper(message[0]) && !char.IsUpper(message[1])
        ? char.ToLowerInvariant(message[0]) + message[1..]
        : message;

    /// <summary>"p2p-ai-agents vectors search".</summary>
    private static string CommandPath(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? r = result; r is not null; r = r.Parent)
        {
            if (r is CommandResult c)
            {
                names.Add(c.Command.Name);
            }
        }

        names.Reverse();
        return string.Join(' ', names);
    }

    /// <summary>The options a command takes: its own, and those of its parents that apply to it.</summary>
    private static IEnumerable<string> OptionNames(CommandResult result)
    {
        for (SymbolResult? r = result; r is not null; r = r.Parent)
        {
            if (r is CommandResult c)
            {
                foreach (var option in c.Command.Options.Where(o => !o.Hidden && (r == result || o.Recursive)))
                {
                    yield return option.Name;
                    foreach (var alias in option.Aliases)
                    {
                        yield return alias;
                    }
                }
            }
        }
    }
}
