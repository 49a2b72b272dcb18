namespace Dl;

/// <summary>
/// AdamW (Loshchilov and Hutter) with PyTorch's semantics: decoupled weight decay p ← p·(1 − η·λ), then the
/// Adam update with the raw gradient: m = m + (1 − β₁)(∇ − m); v = β₂·v + (1 − β₂)·∇²;
/// p ← p − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε).
/// </summary>
public sealed class AdamW : Optimizer
{
    private float[]? _m, _v;

    public AdamW(float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 0.01f) : base(lr)
    {
        Beta1 = RequireUnitInterval(beta1, nameof(beta1));
        Beta2 = RequireUnitInterval(beta2, nameof(beta2));
        Epsilon = RequireNonNegative(eps, nameof(eps));
        WeightDecay = RequireNonNegative(weightDecay, nameof(weightDecay));
    }

    public float Beta1 { get; }
    public float Beta2 { get; }
    public float Epsilon { get; }
    /// <summary>Decoupled decay λ: each step multiplies the parameters by 1 − η·λ.</summary>
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
        AdamKernel.Run(parameters, gradients, _m!, _v!, step, LearningRate, Beta1, Beta2, Epsilon, l2: 0,
            decoupledDecay: (float)(1.0 - (double)LearningRate * WeightDecay));
}
