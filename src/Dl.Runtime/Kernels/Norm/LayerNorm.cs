using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Dl.Kernels;

/// <summary>
/// Layer normalization over the last axis (PyTorch's nn.LayerNorm(dim)): for each row of <c>dim</c> values,
/// y = (x − μ)·r·γ + β with μ the row mean, r = 1/√(σ² + eps) and σ² the biased variance.
/// </summary>
/// <remarks>
/// <para>Statistics: <c>stats[2·row]</c> = μ and <c>stats[2·row + 1]</c> = r, written by Forward and read by Backward.
/// Both are computed in two passes over the row, the first one shifted by the row's first element:
/// μ = x₀ + Σ(x − x₀)/dim, then σ² = Σ(x − μ)²/dim. The shift keeps the mean accurate when |μ| ≫ σ and makes a
/// constant row exact: μ = x₀, every x − μ = 0, so y = β exactly and the gradients are finite.</para>
/// <para>Backward, with x̂ = (x − μ)·r and g = γ·dy: dx = r·(g − mean(g) − x̂·mean(g·x̂)), dγ = Σ_rows dy·x̂,
/// dβ = Σ_rows dy. An empty dx, dγ or dβ is not wanted; <c>accumulate</c> adds into dx,
/// <c>accumulateParameters</c> into dγ and dβ, otherwise they are overwritten.</para>
/// <para>float runs a Vector256 path (two partial sums per pass, a scalar tail with no re-processing); other types
/// (double: the dynamic tape's reference and the finite-difference tests) run plain loops with the same formulas.
/// y may be x and dx may be dy (same span); other overlaps throw. Nothing is allocated.</para>
/// </remarks>
public static class LayerNorm
{
    /// <summary>y = (x − μ)/√(σ² + eps)·γ + β per row, and the row statistics (μ, 1/√(σ² + eps)) into
    /// <paramref name="stats"/>.</summary>
    /// <param name="rows">Rows (all samples' positions together).</param>
    /// <param name="dim">Values per row, the normalized axis.</param>
    /// <param name="eps">Added to the variance (PyTorch's default 1e-5); finite, ≥ 0.</param>
    /// <param name="x">[rows, dim].</param>
    /// <param name="gamma">γ [dim].</param>
    /// <param name="beta">β [dim].</param>
    /// <param name="y">[rows, dim]; may be x.</param>
    /// <param name="stats">At least 2·rows: (μ, 1/√(σ² + eps)) per row.</param>
    /// <exception cref="ArgumentException">A length is wrong, or y partially overlaps x.</exception>
    /// <exception cref="ArgumentOutOfRangeException">rows &lt; 0, dim &lt; 1, or eps negative or not finite (Dl.LayerRules.NormEps).</exception>
    public static void Forward<T>(int rows, int dim, float eps, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, Span<T> y, Span<T> stats)
        where T : IFloatingPointIeee754<T>
    {
        CheckShape(rows, dim);
        if (LayerRules.NormEps(eps) is { } why) throw new ArgumentOutOfRangeException(nameof(eps), eps, $"layer norm: {why}.");
        CheckRows(x.Length, rows, dim, nameof(x));
        CheckRows(y.Length, rows, dim, nameof(y));
        CheckDim(gamma.Length, dim, nameof(gamma));
        CheckDim(beta.Length, dim, nameof(beta));
        CheckStats(stats.Length, rows);
        CheckAlias(x, y, nameof(y));
        if (typeof(T) == typeof(float))
        {
            ForwardFloat(rows, dim, eps, As<T, float>(x), As<T, float>(gamma), As<T, float>(beta), As<T, float>(y), As<T, float>(stats));
            return;
        }
        T e = T.CreateTruncating(eps), n = T.CreateTruncating(dim);
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<T> xr = x.Slice(r * dim, dim);
            Span<T> yr = y.Slice(r * dim, dim);
            T x0 = xr[0], s = T.Zero;
            for (int j = 0; j < dim; j++) s += xr[j] - x0;
            T mean = x0 + s / n, v = T.Zero;
            for (int j = 0; j < dim; j++) { T d = xr[j] - mean; v += d * d; }
            T inv = T.One / T.Sqrt(v / n + e);
            stats[2 * r] = mean;
            stats[2 * r + 1] = inv;
            for (int j = 0; j < dim; j++) yr[j] = (xr[j] - mean) * inv * gamma[j] + beta[j];
        }
    }

    /// <summary>The gradients of <see cref="Forward"/>: dx (+)= r·(g − mean(g) − x̂·mean(g·x̂)) with g = γ·dy,
    /// dγ (+)= Σ_rows dy·x̂, dβ (+)= Σ_rows dy.</summary>
    /// <param name="rows">As in the forward call.</param>
    /// <param name="dim">As in the forward call.</param>
    /// <param name="x">The forward's input [rows, dim].</param>
    /// <param name="gamma">γ [dim].</param>
    /// <param name="stats">The forward's statistics (at least 2·rows).</param>
    /// <param name="dy">dL/dy [rows, dim].</param>
    /// <param name="dx">dL/dx [rows, dim], or empty when not wanted; may be dy.</param>
    /// <param name="accumulate">Add into dx instead of overwriting it.</param>
    /// <param name="dgamma">dL/dγ [dim], or empty.</param>
    /// <param name="dbeta">dL/dβ [dim], or empty.</param>
    /// <param name="accumulateParameters">Add into dγ and dβ instead of overwriting them.</param>
    /// <exception cref="ArgumentException">A length is wrong, or an output partially overlaps an input.</exception>
    public static void Backward<T>(int rows, int dim, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma, ReadOnlySpan<T> stats, ReadOnlySpan<T> dy,
        Span<T> dx, bool accumulate, Span<T> dgamma, Span<T> dbeta, bool accumulateParameters) where T : IFloatingPointIeee754<T>
    {
        CheckShape(rows, dim);
        CheckRows(x.Length, rows, dim, nameof(x));
        CheckRows(dy.Length, rows, dim, nameof(dy));
        if (!dx.IsEmpty) CheckRows(dx.Length, rows, dim, nameof(dx));
        CheckDim(gamma.Length, dim, nameof(gamma));
        if (!dgamma.IsEmpty) CheckDim(dgamma.Length, dim, nameof(dgamma));
        if (!dbeta.IsEmpty) CheckDim(dbeta.Length, dim, nameof(dbeta));
        CheckStats(stats.Length, rows);
        CheckAlias(x, dx, nameof(dx));
        CheckAlias(dy, dx, nameof(dx));
        if (!accumulateParameters)
        {
            dgamma.Clear();
            dbeta.Clear();
        }
        if (typeof(T) == typeof(float))
        {
            BackwardFloat(rows, dim, As<T, float>(x), As<T, float>(gamma), As<T, float>(stats), As<T, float>(dy), As<T, float>(dx), accumulate,
                As<T, float>(dgamma), As<T, float>(dbeta));
            return;
        }
        T n = T.CreateTruncating(dim);
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<T> xr = x.Slice(r * dim, dim), gr = dy.Slice(r * dim, dim);
            T mean = stats[2 * r], inv = stats[2 * r + 1], sg = T.Zero, sgx = T.Zero;
            for (int j = 0; j < dim; j++)
            {
                T xh = (xr[j] - mean) * inv, g = gr[j] * gamma[j];
                sg += g;
                sgx += g * xh;
                if (!dgamma.IsEmpty) dgamma[j] += gr[j] * xh;
                if (!dbeta.IsEmpty) dbeta[j] += gr[j];
            }
            if (dx.IsEmpty) continue;
            Span<T> dr = dx.Slice(r * dim, dim);
            T mg = sg / n, mgx = sgx / n;
            for (int j = 0; j < dim; j++)
            {
                T xh = (xr[j] - mean) * inv;
                T d = inv * (gr[j] * gamma[j] - mg - xh * mgx);
                dr[j] = accumulate ? dr[j] + d : d;
            }
        }
    }

    // ---- float: Vector256 ----

    private static void ForwardFloat(int rows, int dim, float eps, ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        Span<float> y, Span<float> stats)
    {
        const int W = 8; // Vector256<float>.Count
        bool vector = Vector256.IsHardwareAccelerated && dim >= W;
        int body = vector ? dim - dim % W : 0;
        ref float gr = ref MemoryMarshal.GetReference(gamma);
        ref float br = ref MemoryMarshal.GetReference(beta);
        for (int r = 0; r < rows; r++)
        {
            ref float xr = ref Unsafe.Add(ref MemoryMarshal.GetReference(x), r * dim);
            ref float yr = ref Unsafe.Add(ref MemoryMarshal.GetReference(y), r * dim);
            float x0 = xr, s = 0f;
            int j = 0;
            if (vector)
            {
                // Two partial sums hide the add latency; the shift by x₀ makes a constant row's mean exact.
                Vector256<float> shift = Vector256.Create(x0), a = Vector256<float>.Zero, b = Vector256<float>.Zero;
                for (; j <= body - 2 * W; j += 2 * W)
                {
                    a += Vector256.LoadUnsafe(ref xr, (nuint)j) - shift;
                    b += Vector256.LoadUnsafe(ref xr, (nuint)(j + W)) - shift;
                }
                if (j < body) { a += Vector256.LoadUnsafe(ref xr, (nuint)j) - shift; j += W; }
                s = Vector256.Sum(a + b);
            }
            for (; j < dim; j++) s += Unsafe.Add(ref xr, j) - x0;
            float mean = x0 + s / dim, v = 0f;
            j = 0;
            if (vector)
            {
                Vector256<float> m = Vector256.Create(mean), a = Vector256<float>.Zero, b = Vector256<float>.Zero;
                for (; j <= body - 2 * W; j += 2 * W)
                {
                    Vector256<float> d0 = Vector256.LoadUnsafe(ref xr, (nuint)j) - m, d1 = Vector256.LoadUnsafe(ref xr, (nuint)(j + W)) - m;
                    a += d0 * d0;
                    b += d1 * d1;
                }
                if (j < body) { Vector256<float> d = Vector256.LoadUnsafe(ref xr, (nuint)j) - m; a += d * d; j += W; }
                v = Vector256.Sum(a + b);
            }
            for (; j < dim; j++) { float d = Unsafe.Add(ref xr, j) - mean; v += d * d; }
            float inv = 1f / MathF.Sqrt(v / dim + eps);
            stats[2 * r] = mean;
            stats[2 * r + 1] = inv;
            j = 0;
            if (vector)
            {
                Vector256<float> m = Vector256.Create(mean), k = Vector256.Create(inv);
                for (; j < body; j += W)
                    ((Vector256.LoadUnsafe(ref xr, (nuint)j) - m) * k * Vector256.LoadUnsafe(ref gr, (nuint)j) + Vector256.LoadUnsafe(ref br, (nuint)j))
                        .StoreUnsafe(ref yr, (nuint)j);
            }
            for (; j < dim; j++) Unsafe.Add(ref yr, j) = (Unsafe.Add(ref xr, j) - mean) * inv * Unsafe.Add(ref gr, j) + Unsafe.Add(ref br, j);
        }
    }

    private static void BackwardFloat(int rows, int dim, ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> stats,
        ReadOnlySpan<float> dy, Span<float> dx, bool accumulate, Span<float> dgamma, Span<float> dbeta)
    {
        const int W = 8;
        bool vector = Vector256.IsHardwareAccelerated && dim >= W;
        int body = vector ? dim - dim % W : 0;
        bool wantX = !dx.IsEmpty, wantG = !dgamma.IsEmpty, wantB = !dbeta.IsEmpty;
        ref float gammaRef = ref MemoryMarshal.GetReference(gamma);
        ref float dgRef = ref MemoryMarshal.GetReference(dgamma);
        ref float dbRef = ref MemoryMarshal.GetReference(dbeta);
        for (int r = 0; r < rows; r++)
        {
            ref float xr = ref Unsafe.Add(ref MemoryMarshal.GetReference(x), r * dim);
            ref float gr = ref Unsafe.Add(ref MemoryMarshal.GetReference(dy), r * dim);
            float mean = stats[2 * r], inv = stats[2 * r + 1], sg = 0f, sgx = 0f;
            int j = 0;
            // Pass 1: Σ γ·dy and Σ γ·dy·x̂ for dx, and the parameter gradients' per-row terms.
            if (vector)
            {
                Vector256<float> m = Vector256.Create(mean), k = Vector256.Create(inv), a = Vector256<float>.Zero, b = Vector256<float>.Zero;
                for (; j < body; j += W)
                {
                    Vector256<float> g = Vector256.LoadUnsafe(ref gr, (nuint)j), xh = (Vector256.LoadUnsafe(ref xr, (nuint)j) - m) * k;
                    Vector256<float> gg = g * Vector256.LoadUnsafe(ref gammaRef, (nuint)j);
                    a += gg;
                    b += gg * xh;
                    if (wantG) (Vector256.LoadUnsafe(ref dgRef, (nuint)j) + g * xh).StoreUnsafe(ref dgRef, (nuint)j);
                    if (wantB) (Vector256.LoadUnsafe(ref dbRef, (nuint)j) + g).StoreUnsafe(ref dbRef, (nuint)j);
                }
                sg = Vector256.Sum(a);
                sgx = Vector256.Sum(b);
            }
            for (; j < dim; j++)
            {
                float g = Unsafe.Add(ref gr, j), xh = (Unsafe.Add(ref xr, j) - mean) * inv, gg = g * Unsafe.Add(ref gammaRef, j);
                sg += gg;
                sgx += gg * xh;
                if (wantG) Unsafe.Add(ref dgRef, j) += g * xh;
                if (wantB) Unsafe.Add(ref dbRef, j) += g;
            }
            if (!wantX) continue;
            // Pass 2: dx = r·(γ·dy − mean(γ·dy) − x̂·mean(γ·dy·x̂)).
            ref float dr = ref Unsafe.Add(ref MemoryMarshal.GetReference(dx), r * dim);
            float mg = sg / dim, mgx = sgx / dim;
            j = 0;
            if (vector)
            {
                Vector256<float> m = Vector256.Create(mean), k = Vector256.Create(inv), mgv = Vector256.Create(mg), mgxv = Vector256.Create(mgx);
                for (; j < body; j += W)
                {
                    Vector256<float> xh = (Vector256.LoadUnsafe(ref xr, (nuint)j) - m) * k;
                    Vector256<float> d = k * (Vector256.LoadUnsafe(ref gr, (nuint)j) * Vector256.LoadUnsafe(ref gammaRef, (nuint)j) - mgv - xh * mgxv);
                    if (accumulate) d += Vector256.LoadUnsafe(ref dr, (nuint)j);
                    d.StoreUnsafe(ref dr, (nuint)j);
                }
            }
            for (; j < dim; j++)
            {
                float xh = (Unsafe.Add(ref xr, j) - mean) * inv;
                float d = inv * (Unsafe.Add(ref gr, j) * Unsafe.Add(ref gammaRef, j) - mg - xh * mgx);
                Unsafe.Add(ref dr, j) = accumulate ? Unsafe.Add(ref dr, j) + d : d;
            }
        }
    }

    // ---- Argument checks ----

    private static ReadOnlySpan<TTo> As<TFrom, TTo>(ReadOnlySpan<TFrom> s)
        => MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<TFrom, TTo>(ref MemoryMarshal.GetReference(s)), s.Length);

    private static Span<TTo> As<TFrom, TTo>(Span<TFrom> s)
        => MemoryMarshal.CreateSpan(ref Unsafe.As<TFrom, TTo>(ref MemoryMarshal.GetReference(s)), s.Length);

    private static void CheckShape(int rows, int dim)
    {
        if (rows < 0) throw new ArgumentOutOfRangeException(nameof(rows), rows, $"layer norm: rows is {rows}; expected at least 0.");
        if (dim < 1) throw new ArgumentOutOfRangeException(nameof(dim), dim, $"layer norm: dim is {dim}; expected at least 1.");
        if ((long)rows * dim > int.MaxValue)
            throw new ArgumentException($"layer norm: rows × dim = {rows} × {dim} exceeds the largest span ({int.MaxValue}).", nameof(rows));
    }

    private static void CheckRows(int length, int rows, int dim, string name)
    {
        if (length != rows * dim)
            throw new ArgumentException($"layer norm: {name} has {length} elements; expected rows × dim = {rows} × {dim} = {rows * dim}.", name);
    }

    private static void CheckDim(int length, int dim, string name)
    {
        if (length != dim) throw new ArgumentException($"layer norm: {name} has {length} elements; expected dim = {dim}.", name);
    }

    private static void CheckStats(int length, int rows)
    {
        if (length < 2 * rows)
            throw new ArgumentException($"layer norm: stats has {length} elements; expected at least 2 × rows = {2 * rows} (mean and 1/√(var + eps) per row).", "stats");
    }

    /// <summary>An output may be an input exactly (each element is read before it is written) but not shifted against it.</summary>
    private static void CheckAlias<T>(ReadOnlySpan<T> input, Span<T> output, string name)
    {
        if (input.Overlaps(output, out int offset) && offset != 0)
            throw new ArgumentException($"layer norm: {name} overlaps an input at an offset of {offset} elements; it must be the same span or disjoint.", name);
    }
}
