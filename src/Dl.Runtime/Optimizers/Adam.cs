using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Dl;

/// <summary>
/// Adam (Kingma and Ba) with PyTorch's semantics and L2 weight decay added to the gradient:
/// g = ∇ + λ·p; m = m + (1 − β₁)(g − m); v = β₂·v + (1 − β₂)·g²;
/// p ← p − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε).
/// </summary>
public sealed class Adam : Optimizer
{
    private float[]? _m, _v;

    public Adam(float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 0) : base(lr)
    {
        Beta1 = RequireUnitInterval(beta1, nameof(beta1));
        Beta2 = RequireUnitInterval(beta2, nameof(beta2));
        Epsilon = RequireNonNegative(eps, nameof(eps));
        WeightDecay = RequireNonNegative(weightDecay, nameof(weightDecay));
    }

    public float Beta1 { get; }
    public float Beta2 { get; }
    public float Epsilon { get; }
    /// <summary>L2 penalty λ added to the gradient (coupled; see <see cref="AdamW"/> for the decoupled form).</summary>
    public float WeightDecay { get; }

    protected override void AllocateState(int count)
    {
        _m = ZeroedBuffer(_m, count);
        _v = ZeroedBuffer(_v, count);
    }

    private static readonly string[] Buffers = ["exp_avg", "exp_avg_sq"];

    public override IReadOnlyList<string> StateNames => Buffers;

    protected override float[]? StateBuffer(string name) => name switch { "exp_avg" => _m, "exp_avg_sq" => _v, _ => null };

    protected override void Update(Span<float> parameters, ReadOnlySpan<float> gradients, long step) =>
        AdamKernel.Run(parameters, gradients, _m!, _v!, step, LearningRate, Beta1, Beta2, Epsilon, WeightDecay, decoupledDecay: 0);
}

/// <summary>The shared Adam/AdamW loop: Vector256 body, scalar tail, identical operation order in both.</summary>
internal static class AdamKernel
{
    // decoupledDecay: 0 for Adam; the factor 1 − η·λ for AdamW (applied to p before the update).
    public static void Run(Span<float> parameters, ReadOnlySpan<float> gradients, float[] mState, float[] vState, long step,
        float lr, float beta1, float beta2, float eps, float l2, float decoupledDecay)
    {
        // Bias corrections in double, rounded once, as PyTorch computes them from Python floats.
        double bc1 = 1.0 - Math.Pow(beta1, step);
        double bc2 = 1.0 - Math.Pow(beta2, step);
        float stepSize = (float)(lr / bc1);
        float bc2Sqrt = (float)Math.Sqrt(bc2);
        float oneMinusBeta1 = (float)(1.0 - beta1), oneMinusBeta2 = (float)(1.0 - beta2);
        bool decoupled = decoupledDecay != 0;

        ref float p = ref MemoryMarshal.GetReference(parameters);
        ref float g = ref MemoryMarshal.GetReference(gradients);
        ref float m = ref MemoryMarshal.GetArrayDataReference(mState);
        ref float v = ref MemoryMarshal.GetArrayDataReference(vState);
        int n = parameters.Length, i = 0;

        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> vl2 = Vector256.Create(l2), vdecay = Vector256.Create(decoupledDecay);
            Vector256<float> vb2 = Vector256.Create(beta2), v1b1 = Vector256.Create(oneMinusBeta1), v1b2 = Vector256.Create(oneMinusBeta2);
            Vector256<float> vstep = Vector256.Create(stepSize), vbc2 = Vector256.Create(bc2Sqrt), veps = Vector256.Create(eps);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                Vector256<float> pv = Vector256.LoadUnsafe(ref p, (nuint)i);
                Vector256<float> gv = Vector256.LoadUnsafe(ref g, (nuint)i);
                if (decoupled) pv *= vdecay;
                else gv += vl2 * pv;
                Vector256<float> mv = Vector256.LoadUnsafe(ref m, (nuint)i);
                mv += v1b1 * (gv - mv);
                Vector256<float> vv = vb2 * Vector256.LoadUnsafe(ref v, (nuint)i) + v1b2 * (gv * gv);
                mv.StoreUnsafe(ref m, (nuint)i);
                vv.StoreUnsafe(ref v, (nuint)i);
                Vector256<float> denom = Vector256.Sqrt(vv) / vbc2 + veps;
                (pv - vstep * (mv / denom)).StoreUnsafe(ref p, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float pi = parameters[i], gi = gradients[i];
            if (decoupled) pi *= decoupledDecay;
            else gi += l2 * pi;
            float mi = mState[i];
            mi += oneMinusBeta1 * (gi - mi);
            float vi = beta2 * vState[i] + oneMinusBeta2 * (gi * gi);
            mState[i] = mi;
            vState[i] = vi;
            float denom = MathF.Sqrt(vi) / bc2Sqrt + eps;
            parameters[i] = pi - stepSize * (mi / denom);
        }
    }
}
