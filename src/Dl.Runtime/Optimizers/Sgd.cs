using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Dl;

/// <summary>
/// Stochastic gradient descent with PyTorch's semantics (dampening 0):
/// g = ∇ + λ·p; with momentum μ: b = μ·b + g (b = g on the first step), then d = g + μ·b (Nesterov) or d = b;
/// p ← p − η·d. Without momentum d = g.
/// </summary>
public sealed class Sgd : Optimizer
{
    private float[]? _momentumBuffer;

    /// <param name="lr">Learning rate η.</param>
    /// <param name="momentum">Momentum μ in [0, 1); 0 disables the buffer.</param>
    /// <param name="nesterov">Nesterov momentum (requires μ &gt; 0).</param>
    /// <param name="weightDecay">L2 penalty λ, added to the gradient.</param>
    public Sgd(float lr, float momentum = 0, bool nesterov = false, float weightDecay = 0) : base(lr)
    {
        Momentum = RequireUnitInterval(momentum, nameof(momentum));
        WeightDecay = RequireNonNegative(weightDecay, nameof(weightDecay));
        if (nesterov && momentum == 0)
            throw new ArgumentException("Nesterov momentum requires momentum > 0.", nameof(nesterov));
        Nesterov = nesterov;
    }

    public float Momentum { get; }
    public bool Nesterov { get; }
    public float WeightDecay { get; }

    protected override void AllocateState(int count) =>
        _momentumBuffer = Momentum == 0 ? null : ZeroedBuffer(_momentumBuffer, count);

    private static readonly string[] MomentumBuffer = ["momentum_buffer"];

    public override IReadOnlyList<string> StateNames => Momentum == 0 ? [] : MomentumBuffer;

    protected override float[]? StateBuffer(string name) => name == "momentum_buffer" ? _momentumBuffer : null;

    protected override void Update(Span<float> parameters, ReadOnlySpan<float> gradients, long step)
    {
        float lr = LearningRate, wd = WeightDecay, mu = Momentum;
        ref float p = ref MemoryMarshal.GetReference(parameters);
        ref float g = ref MemoryMarshal.GetReference(gradients);
        int n = parameters.Length, i = 0;

        if (_momentumBuffer is null)
        {
            if (Vector256.IsHardwareAccelerated)
            {
                Vector256<float> vlr = Vector256.Create(lr), vwd = Vector256.Create(wd);
                for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
                {
                    Vector256<float> pv = Vector256.LoadUnsafe(ref p, (nuint)i);
                    Vector256<float> gv = Vector256.LoadUnsafe(ref g, (nuint)i) + vwd * pv;
                    (pv - vlr * gv).StoreUnsafe(ref p, (nuint)i);
                }
            }
            for (; i < n; i++)
            {
                float pi = parameters[i];
                float gi = gradients[i] + wd * pi;
                parameters[i] = pi - lr * gi;
            }
            return;
        }

        ref float b = ref MemoryMarshal.GetArrayDataReference(_momentumBuffer);
        Span<float> buffer = _momentumBuffer;
        bool nesterov = Nesterov;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> vlr = Vector256.Create(lr), vwd = Vector256.Create(wd), vmu = Vector256.Create(mu);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                Vector256<float> pv = Vector256.LoadUnsafe(ref p, (nuint)i);
                Vector256<float> gv = Vector256.LoadUnsafe(ref g, (nuint)i) + vwd * pv;
                Vector256<float> bv = vmu * Vector256.LoadUnsafe(ref b, (nuint)i) + gv;
                bv.StoreUnsafe(ref b, (nuint)i);
                Vector256<float> d = nesterov ? gv + vmu * bv : bv;
                (pv - vlr * d).StoreUnsafe(ref p, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float pi = parameters[i];
            float gi = gradients[i] + wd * pi;
            float bi = mu * buffer[i] + gi;
            buffer[i] = bi;
            float d = nesterov ? gi + mu * bi : bi;
            parameters[i] = pi - lr * d;
        }
    }
}
