using Agents.Engine.Vectors;

namespace Agents.Tests.Vectors;

public sealed class KernelTests
{
    [Theory]
    [InlineData(DistanceMetric.Cosine)]
    [InlineData(DistanceMetric.Dot)]
    [InlineData(DistanceMetric.L2)]
    public void SimdEqualsTheScalarReferenceAtEveryLength(DistanceMetric metric)
    {
        var random = new Random(11);
        foreach (var length in Enumerable.Range(1, 70).Concat([127, 128, 129, 383, 384, 385, 448, 511, 512, 513, 768, 1000, 1536, 4096]))
        {
            var a = Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            var b = Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            var simd = DistanceKernels.ScoreSimd(metric, a, b);
            var scalar = DistanceKernels.ScoreScalar(metric, a, b);
            var reference = Reference(metric, a, b);
            Assert.True(Math.Abs(simd - reference) <= 1e-4 * Math.Max(1, Math.Abs(reference)), $"length {length}: simd {simd} vs {reference}");
            Assert.True(Math.Abs(scalar - reference) <= 1e-4 * Math.Max(1, Math.Abs(reference)), $"length {length}: scalar {scalar} vs {reference}");
        }
    }

    [Fact]
    public void NormalizeGivesUnitLengthOnBothPaths()
    {
        var v = new float[] { 3, 4, 0, 0, 0, 0, 0, 0, 0, 12 };
        DistanceKernels.Normalize(v);
        Assert.Equal(1f, DistanceKernels.ScoreScalar(DistanceMetric.Dot, v, v), 5);
        Assert.Equal(3f / 13, v[0], 5);
    }

    [Fact]
    public void UserScoreOfL2IsTheEuclideanDistance()
    {
        float[] a = [0, 0], b = [3, 4];
        Assert.Equal(5f, DistanceKernels.ToUserScore(DistanceMetric.L2, DistanceKernels.Score(DistanceMetric.L2, a, b)), 5);
    }

    [Fact]
    public void ExactScanAcrossRangesMergesToTheTrueTopK()
    {
        var random = new Random(3);
        var arena = new VectorArena(16);
        for (var i = 0; i < 5000; i++)
        {
            arena.Add(Enumerable.Range(0, 16).Select(_ => (float)random.NextDouble()).ToArray());
        }

        var query = Enumerable.Range(0, 16).Select(_ => (float)random.NextDouble()).ToArray();
        var top = new TopK(10);
        ExactSearch.Scan(arena, DistanceMetric.L2, query, 0, 2000, null, top);
        ExactSearch.Scan(arena, DistanceMetric.L2, query, 2000, 5000, slot => slot % 2 == 0 || slot < 2000, top);
        var expected = Enumerable.Range(0, 5000).Where(s => s < 2000 || s % 2 == 0)
            .OrderByDescending(s => DistanceKernels.ScoreScalar(DistanceMetric.L2, query, arena[s])).Take(10).ToArray();
        Assert.Equal(expected, top.ToSortedArray().Select(h => h.Slot).ToArray());
    }

    private static double Reference(DistanceMetric metric, float[] a, float[] b)
    {
        double sum = 0;
        for (var i = 0; i < a.Length; i++)
        {
            sum += metric == DistanceMetric.L2 ? (a[i] - (double)b[i]) * (a[i] - (double)b[i]) : a[i] * (double)b[i];
        }

        return metric == DistanceMetric.L2 ? -sum : sum;
    }
}
