using System.Collections;
using System.Linq.Expressions;
using System.Text.Json;

namespace Agents.Client.VectorData;

/// <summary>
/// Translates a LINQ filter into the cluster's <see cref="PayloadFilter"/>: an AND of equality, set membership and
/// inclusive numeric ranges on top-level payload fields. Anything the cluster cannot evaluate exactly is rejected with
/// <see cref="NotSupportedException"/> rather than approximated.
/// </summary>
internal static class FilterTranslator
{
    private const string Supported =
        "supported are ==, >=, <=, > and < (the strict ones on integer properties only), && of those, " +
        "collection.Contains(r.Property), r.ArrayProperty.Contains(value) and bare bool properties, on data properties";

    /// <summary>The translated filter; null with <paramref name="matchesNothing"/> false means no filter.</summary>
    public static PayloadFilter? Translate<TRecord>(Expression<Func<TRecord, bool>>? filter, RecordModel<TRecord> model, out bool matchesNothing)
        where TRecord : class
    {
        matchesNothing = false;
        if (filter is null)
        {
            return null;
        }

        var conditions = new List<FilterCondition>();
        var context = new Context<TRecord>(filter.Parameters[0], model, conditions);
        context.Visit(filter.Body);
        matchesNothing = context.MatchesNothing;
        return conditions.Count == 0 ? null : new PayloadFilter([.. conditions]);
    }

    private sealed class Context<TRecord>(ParameterExpression parameter, RecordModel<TRecord> model, List<FilterCondition> conditions)
        where TRecord : class
    {
        public bool MatchesNothing { get; private set; }

        public void Visit(Expression node)
        {
            switch (node)
            {
                case BinaryExpression { NodeType: ExpressionType.AndAlso or ExpressionType.And } both when both.Type == typeof(bool):
                    Visit(both.Left);
                    Visit(both.Right);
                    return;
                case BinaryExpression { NodeType: ExpressionType.Equal } equal:
                    VisitEquality(equal);
                    return;
                case BinaryExpression { NodeType: ExpressionType.GreaterThan or ExpressionType.GreaterThanOrEqual or ExpressionType.LessThan or ExpressionType.LessThanOrEqual } comparison:
                    VisitComparison(comparison);
                    return;
                case MethodCallExpression { Method.Name: "Contains" } call:
                    VisitContains(call);
                    return;
                case ConstantExpression { Value: true }:
                    return;
                case ConstantExpression { Value: false }:
                    MatchesNothing = true;
                    return;
            }

            // A bare bool property (r => r.IsOpen) is r.IsOpen == true.
            if (node.Type == typeof(bool) && TryField(node, out var flag))
            {
                conditions.Add(new FilterCondition(flag.StorageName, FilterOperator.In, ["true"]));
                return;
            }

            throw Unsupported(node);
        }

        private void VisitEquality(BinaryExpression node)
        {
            var (field, constant) = Split(node);
            var value = Evaluate(constant) ?? throw new NotSupportedException(
                $"Filter '{node}' compares '{field.Name}' with null, which the Agents vector store cannot filter on (null fields are not indexed).");
            conditions.Add(new FilterCondition(field.StorageName, FilterOperator.In, [Format(value, node)]));
        }

        private void VisitComparison(BinaryExpression node)
        {
            var (field, constant) = Split(node);
            var fieldOnLeft = TryField(node.Left, out _);

            // "5 < r.X" is "r.X > 5": normalise so the field is on the left.
            var op = fieldOnLeft ? node.NodeType : node.NodeType switch
            {
                ExpressionType.GreaterThan => ExpressionType.LessThan,
                ExpressionType.GreaterThanOrEqual => ExpressionType.LessThanOrEqual,
                ExpressionType.LessThan => ExpressionType.GreaterThan,
                _ => ExpressionType.GreaterThanOrEqual,
            };
            var raw = Evaluate(constant);
            if (raw is null || !IsNumeric(raw.GetType()) || !IsNumeric(Nullable.GetUnderlyingType(field.Type) ?? field.Type))
            {
                throw new NotSupportedException(
                    $"Filter '{node}' is not supported by the Agents vector store: range comparisons need a numeric data property and a numeric constant.");
            }

            var value = Convert.ToDouble(raw, System.Globalization.CultureInfo.InvariantCulture);
            var integral = IsIntegral(Nullable.GetUnderlyingType(field.Type) ?? field.Type);
            if (op is ExpressionType.GreaterThan or ExpressionType.LessThan && !integral)
            {
                // The cluster's ranges are inclusive; nudging by an epsilon would silently change results.
                throw new NotSupportedException(
                    $"Filter '{node}' uses a strict comparison on the non-integer property '{field.Name}'; the Agents vector store's ranges are inclusive, so use >= or <=.");
            }

            var (min, max) = op switch
            {
                ExpressionType.GreaterThanOrEqual => ((double?)value, (double?)null),
                ExpressionType.LessThanOrEqual => (null, value),
                ExpressionType.GreaterThan => (Math.Floor(value) + 1, null),
                _ => (null, Math.Ceiling(value) - 1),
            };
            conditions.Add(new FilterCondition(field.StorageName, FilterOperator.Range, Min: min, Max: max));
        }

        private void VisitContains(MethodCallExpression node)
        {
            if (node.Method.DeclaringType == typeof(string))
            {
                throw new NotSupportedException(
                    $"Filter '{node}' is a substring match, which the Agents vector store cannot evaluate; {Supported}.");
            }

            Expression source;
            Expression item;
            if (node.Object is null && node.Arguments.Count == 2)
            {
                (source, item) = (node.Arguments[0], node.Arguments[1]);
            }
            else if (node.Object is not null && node.Arguments.Count == 1)
            {
                (source, item) = (node.Object, node.Arguments[0]);
            }
            else
            {
                throw Unsupported(node);
            }

            // C# 14 binds array.Contains(x) to MemoryExtensions.Contains(ReadOnlySpan<T>, T) through an implicit conversion.
            source = UnwrapSpan(source);
            if (TryField(source, out var arrayField) && !References(item))
            {
                var value = Evaluate(item) ?? throw new NotSupportedException($"Filter '{node}' looks for null, which the Agents vector store cannot filter on.");
                conditions.Add(new FilterCondition(arrayField.StorageName, FilterOperator.In, [Format(value, node)]));
                return;
            }

            if (TryField(item, out var field) && !References(source))
            {
                if (Evaluate(source) is not IEnumerable values)
                {
                    throw Unsupported(node);
                }

                var formatted = values.Cast<object?>()
                    .Select(v => v is null ? null : Format(v, node))
                    .OfType<string>()
                    .Distinct(StringComparer.Ordinal)
                    .ToArray();
                if (formatted.Length == 0)
                {
                    MatchesNothing = true;
                }
                else
                {
                    conditions.Add(new FilterCondition(field.StorageName, FilterOperator.In, formatted));
                }

                return;
            }

            throw Unsupported(node);
        }

        private (ModelProperty Field, Expression Constant) Split(BinaryExpression node)
        {
            if (TryField(node.Left, out var left) && !References(node.Right))
            {
                return (left, node.Right);
            }

            if (TryField(node.Right, out var right) && !References(node.Left))
            {
                return (right, node.Left);
            }

            throw Unsupported(node);
        }

        /// <summary>True for r.Prop or r["Prop"] (under conversions) naming a data property; throws for the key and vector.</summary>
        private bool TryField(Expression expression, out ModelProperty field)
        {
            field = null!;
            expression = StripConvert(expression);
            string? name = expression switch
            {
                MemberExpression { Expression: { } target } member when StripConvert(target) == parameter => member.Member.Name,
                MethodCallExpression { Method.Name: "get_Item", Object: { } target, Arguments: [ConstantExpression { Value: string key }] }
                    when target == parameter => key,
                _ => null,
            };
            if (name is null)
            {
                return false;
            }

            var property = model.Find(name) ?? throw new NotSupportedException(
                $"Filter refers to '{name}', which is not a mapped property of '{typeof(TRecord).Name}'.");
            if (property.Role != PropertyRole.Data)
            {
                throw new NotSupportedException(
                    $"Filter refers to the {property.Role.ToString().ToLowerInvariant()} property '{name}'; the Agents vector store filters on data properties only (use GetAsync for keys).");
            }

            field = property;
            return true;
        }

        private bool References(Expression expression)
        {
            var finder = new ParameterFinder(parameter);
            finder.Visit(expression);
            return finder.Found;
        }

        private static Expression StripConvert(Expression expression)
        {
            while (expression is UnaryExpression { NodeType: ExpressionType.Convert or ExpressionType.ConvertChecked or ExpressionType.TypeAs } unary)
            {
                expression = unary.Operand;
            }

            return expression;
        }

        private static Expression UnwrapSpan(Expression expression)
        {
            while (true)
            {
                switch (expression)
                {
                    case MethodCallExpression { Method.Name: "op_Implicit" or "AsSpan", Arguments: [var inner] } call
                        when call.Type.IsGenericType && call.Type.GetGenericTypeDefinition() is var d && (d == typeof(ReadOnlySpan<>) || d == typeof(Span<>)):
                        expression = inner;
                        break;
                    case UnaryExpression { NodeType: ExpressionType.Convert } unary:
                        expression = unary.Operand;
                        break;
                    default:
                        return expression;
                }
            }
        }

        private static object? Evaluate(Expression expression) => expression is ConstantExpression constant
            ? constant.Value
            : Expression.Lambda<Func<object?>>(Expression.Convert(expression, typeof(object))).Compile(preferInterpretation: true)();

        /// <summary>A constant as the payload field's text: strings as is, everything else as System.Text.Json writes it.</summary>
        private static string Format(object value, Expression node)
        {
            var element = JsonSerializer.SerializeToElement(value, value.GetType(), RecordModel<TRecord>.JsonOptions);
            return element.ValueKind switch
            {
                JsonValueKind.String => element.GetString()!,
                JsonValueKind.Number => element.GetRawText(),
                JsonValueKind.True => "true",
                JsonValueKind.False => "false",
                _ => throw new NotSupportedException(
                    $"Filter '{node}' compares with a {value.GetType().Name}, which is not a scalar payload value the Agents vector store can match."),
            };
        }

        private static bool IsNumeric(Type type) => IsIntegral(type) || type == typeof(float) || type == typeof(double) || type == typeof(decimal);

        private static bool IsIntegral(Type type) =>
            type == typeof(int) || type == typeof(long) || type == typeof(short) || type == typeof(byte)
            || type == typeof(sbyte) || type == typeof(ushort) || type == typeof(uint) || type == typeof(ulong);

        private static NotSupportedException Unsupported(Expression node) => new(
            $"Filter expression node {node.NodeType} ('{node}') is not supported by the Agents vector store; {Supported}.");
    }

    private sealed class ParameterFinder(ParameterExpression parameter) : ExpressionVisitor
    {
        public bool Found { get; private set; }

        protected override Expression VisitParameter(ParameterExpression node)
        {
            Found |= node == parameter;
            return node;
        }
    }
}
