namespace Agents.Engine.Vectors;

/// <summary>
/// Build and search knobs of an <see cref="HnswIndex"/>: <paramref name="M"/> links per node on the upper layers
/// (2·M on layer 0), the candidate-list width <paramref name="EfConstruction"/> used while inserting, the default
/// query width <paramref name="Ef"/>, the <paramref name="Seed"/> of the level generator (builds are deterministic), and
/// whether the graph is built and searched on int8 codes (<paramref name="Quantize"/>, see <see cref="ScalarQuantizer"/>)
/// with the best candidates rescored on the full vectors.
/// </summary>
public sealed record HnswParameters(int M = 16, int EfConstruction = 200, int Ef = 64, int Seed = 42, bool Quantize = false)
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the first parameter that is out of range.</summary>
    public void Validate()
    {
        if (M is < 2 or > 128)
        {
            throw new ArgumentException($"M must be in [2, 128]; got {M}.", nameof(M));
        }

        if (EfConstruction < M)
        {
            throw new ArgumentException($"EfConstruction must be at least M ({M}); got {EfConstruction}.", nameof(EfConstruction));
        }

        if (Ef < 1)
        {
            throw new ArgumentException($"Ef must be at least 1; got {Ef}.", nameof(Ef));
        }
    }
}
