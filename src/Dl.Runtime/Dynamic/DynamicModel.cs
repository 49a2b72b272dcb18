using System.Numerics;
using System.Runtime.InteropServices;

namespace Dl.Dynamic;

/// <summary>
/// A model's source run eagerly on the dynamic tape (define-by-run autograd): every call executes the forward pass
/// op by op through the shared kernels, records the graph, and for gradients walks it backwards applying each op's
/// vector-Jacobian rule. The training loss is the batch mean L = (1/B) Σ_s ℓ_s, so the backward pass is seeded with
/// dL/dℓ_s = 1/B.
/// </summary>
/// <remarks>
/// <para>Parameters share the generated model's layout (<see cref="ParameterInfo.Offset"/> in one contiguous block) and
/// initial values for the same seed. In <see cref="Precision.Double"/> the float API widens inputs and narrows results;
/// parameters and gradients live in <see cref="ParametersDouble"/> and <see cref="GradientsDouble"/>.</para>
/// <para>Buffers and node objects are pooled between calls: a steady-state step allocates almost nothing.</para>
/// <para>Threading: one instance is used by one thread at a time. A call that finds another thread inside the instance
/// throws <see cref="InvalidOperationException"/> before touching anything (<see cref="ModelGuard"/>); different
/// instances may run on different threads at once.</para>
/// <para>A failed training step (<c>TrainStep</c>, <c>ComputeGradients</c>) changes nothing, as in generated models: the
/// state and <see cref="DropoutStep"/> are restored, and the loss is checked for NaN and infinity before the gradients or
/// parameters are written (the gradients themselves only with the <see cref="FiniteGradients"/> optimizer decorator).</para>
/// </remarks>
public sealed partial class DynamicModel : IModel, ITrainableModel<int>, ITrainableModel<float>
{
    private readonly IDynamicSource _source;
    private readonly Tape _tape;
    private readonly DynamicContext _context;
    private readonly float[]? _params, _grads;
    private readonly double[]? _paramsDouble, _gradsDouble;
    private readonly Dictionary<string, int> _paramIndex = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (int Weight, int Bias)> _linearIndex = new(StringComparer.Ordinal);
    private readonly int[][] _paramShapes;
    private readonly Tensor?[] _bound;
    private readonly Tensor[] _inputs;
    private readonly int[][] _inputShapes;
    private readonly int[] _targetShape;
    // Sizes cached once: ModelDescription computes them with LINQ, which allocates an enumerator per call.
    private readonly int[] _inputSizes, _paramLengths;
    private readonly int _inputSize, _outputSize, _targetSize;
    private readonly float[]? _state;
    private readonly double[]? _stateDouble;
    private readonly Dictionary<string, (int Mean, int Var)> _statIndex = new(StringComparer.Ordinal);
    private double[]? _traceState;
    private int _dropoutIndex;
    private Array _runParams = null!;
    private Array? _runGrads;
    private bool _recorded;
    private Array? _stateBefore;   // the state before a training step (SaveState), allocated on the first step
    private int _owner;            // the managed thread inside a public member, 0 when none (ModelGuard)

    internal DynamicModel(ModelDescription description, IDynamicSource source, ulong seed, Precision precision)
    {
        Acceleration.WarnOnceIfScalar();
        ArgumentNullException.ThrowIfNull(description);
        ArgumentNullException.ThrowIfNull(source);
        if (precision is not (Precision.Single or Precision.Double))
            throw new ArgumentOutOfRangeException(nameof(precision), precision, "Precision must be Single or Double.");
        Description = description;
        Precision = precision;
        _source = source;
        _tape = new Tape(precision);
        _context = new DynamicContext(this);

        int count = description.ParameterCount;
        var initial = new float[count];
        _paramShapes = new int[description.Parameters.Length][];
        for (int i = 0; i < description.Parameters.Length; i++)
        {
            ParameterInfo p = description.Parameters[i];
            if (p.Offset < 0 || p.Offset + p.Length > count)
                throw new ArgumentException(
                    $"Model {description.Name}: parameter '{p.Name}' {p.ShapeText} at offset {p.Offset} does not fit the {count}-element parameter block.",
                    nameof(description));
            if (!_paramIndex.TryAdd(p.Name, i))
                throw new ArgumentException($"Model {description.Name}: parameter name '{p.Name}' appears twice.", nameof(description));
            _paramShapes[i] = _tape.Intern(p.Shape);
            Initializers.Fill(initial.AsSpan(p.Offset, p.Length), p, seed);
        }
        if (precision == Precision.Single)
        {
            _params = initial;
            _grads = new float[count];
        }
        else
        {
            _paramsDouble = new double[count];
            for (int i = 0; i < count; i++) _paramsDouble[i] = initial[i];
            _gradsDouble = new double[count];
        }
        Seed = seed;
        var state = new float[description.StateCount];
        foreach (ParameterInfo p in description.State)
        {
            if (p.Offset < 0 || p.Offset + p.Length > state.Length)
                throw new ArgumentException($"Model {description.Name}: state '{p.Name}' {p.ShapeText} at offset {p.Offset} does not fit the {state.Length}-element state block.", nameof(description));
            Initializers.Fill(state.AsSpan(p.Offset, p.Length), p, seed);
        }
        if (precision == Precision.Single) _state = state;
        else _stateDouble = state.Select(v => (double)v).ToArray();
        _bound = new Tensor?[description.Parameters.Length];
        _inputs = new Tensor[description.Inputs.Length];
        _inputShapes = new int[description.Inputs.Length][];
        _inputSizes = new int[description.Inputs.Length];
        for (int i = 0; i < description.Inputs.Length; i++)
        {
            InputInfo info = description.Inputs[i];
            _inputShapes[i] = _tape.Intern(info.Shape);
            _inputSizes[i] = info.Size;
        }
        _targetShape = description.Target is { } t ? _tape.Intern(t.Shape) : [];
        _inputSize = description.InputSize;
        _outputSize = description.OutputSize;
        _targetSize = description.Target?.Size ?? 0;
        _paramLengths = description.Parameters.Select(p => p.Length).ToArray();
    }

    /// <summary>The precision the tape computes in.</summary>
    public Precision Precision { get; }

    public ModelDescription Description { get; }

    /// <summary>No fixed capacity: buffers are pooled per batch size seen.</summary>
    public int MaxBatch => int.MaxValue;

    /// <summary>Training mode (the default, as in PyTorch), visible to model code through <see cref="DynamicContext.Training"/>:
    /// batch norm uses batch statistics and dropout drops. Set false for evaluation.</summary>
    public bool Training { get; set; } = true;

    /// <summary>The seed the parameters were initialized from; dropout masks are keyed by it.</summary>
    public ulong Seed { get; }

    /// <summary>Training-mode forward passes so far; dropout masks are keyed by it (the compiled model counts the same way).</summary>
    public long DropoutStep { get; set; }

    /// <summary>Non-trainable state (batch norm running statistics), laid out by <see cref="ModelDescription.State"/>.</summary>
    public Span<float> State => _state ?? throw SingleOnly(nameof(State), nameof(StateDouble));

    /// <summary>The state in double precision.</summary>
    public Span<double> StateDouble => _stateDouble ?? throw DoubleOnly(nameof(StateDouble));

    internal int NextDropoutIndex() => _dropoutIndex++;

    internal void RunningStatistics<T>(string layer, int channels, out Span<T> runningMean, out Span<T> runningVar) where T : unmanaged
    {
        if (!_statIndex.TryGetValue(layer, out (int Mean, int Var) ids))
        {
            int Find(string n) => Array.FindIndex(Description.State, p => p.Name == n);
            ids = (Find(layer + ".running_mean"), Find(layer + ".running_var"));
            if (ids.Mean < 0 || ids.Var < 0)
                throw new KeyNotFoundException($"Model {Description.Name} has no state '{layer}.running_mean' and '{layer}.running_var'; it has: {string.Join(", ", Description.State.Select(p => p.Name))}.");
            _statIndex[layer] = ids;
        }
        ParameterInfo mean = Description.State[ids.Mean], var = Description.State[ids.Var];
        if (mean.Length != channels || var.Length != channels)
            throw new ArgumentException($"batch_norm '{layer}': running statistics are [{mean.Length}] and [{var.Length}], expected [{channels}].");
        // A trace of a float model runs in double on widened copies (BindArrays); its statistics updates are discarded.
        Array? array = typeof(T) == typeof(float) ? _state : (Array?)_stateDouble ?? _traceState;
        T[] block = (T[])(array ?? throw new InvalidOperationException("The state block does not match the run's precision."));
        runningMean = block.AsSpan(mean.Offset, channels);
        runningVar = block.AsSpan(var.Offset, channels);
    }

    /// <summary>All parameters (single precision), laid out by <see cref="ParameterInfo.Offset"/>.</summary>
    /// <exception cref="InvalidOperationException">The model computes in double precision (see <see cref="ParametersDouble"/>).</exception>
    public Span<float> Parameters => _params ?? throw SingleOnly(nameof(Parameters), nameof(ParametersDouble));

    /// <summary>The gradients of the last <see cref="ComputeGradients(ReadOnlySpan{float}, ReadOnlySpan{int}, int)"/> or
    /// <c>TrainStep</c>, laid out like <see cref="Parameters"/>.</summary>
    public Span<float> Gradients => _grads ?? throw SingleOnly(nameof(Gradients), nameof(GradientsDouble));

    /// <summary>All parameters in double precision.</summary>
    public Span<double> ParametersDouble => _paramsDouble ?? throw DoubleOnly(nameof(ParametersDouble));

    /// <summary>All gradients in double precision.</summary>
    public Span<double> GradientsDouble => _gradsDouble ?? throw DoubleOnly(nameof(GradientsDouble));

    public Span<float> Parameter(string name)
    {
        ParameterInfo p = Find(name);
        return Parameters.Slice(p.Offset, p.Length);
    }

    public Span<float> Gradient(string name)
    {
        ParameterInfo p = Find(name);
        return Gradients.Slice(p.Offset, p.Length);
    }

    /// <summary>The parameter <paramref name="name"/> in double precision.</summary>
    public Span<double> ParameterDouble(string name)
    {
        ParameterInfo p = Find(name);
        return ParametersDouble.Slice(p.Offset, p.Length);
    }

    /// <summary>The gradient of <paramref name="name"/> in double precision.</summary>
    public Span<double> GradientDouble(string name)
    {
        ParameterInfo p = Find(name);
        return GradientsDouble.Slice(p.Offset, p.Length);
    }

    private ParameterInfo Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _paramIndex.TryGetValue(name, out int i) ? Description.Parameters[i] : Description.Find(name);
    }

    // ---- the float API (ITrainableModel) ------------------------------------------------------------------------

    public void Predict(ReadOnlySpan<float> input, Span<float> output, int batch)
    {
        using var busy = ModelGuard.Enter(ref _owner, Description.Name, nameof(Predict));
        Predict<float>(input, output, batch);
    }

    public float TrainStep(ReadOnlySpan<float> input, ReadOnlySpan<int> target, int batch, IOptimizer optimizer)
        => TrainStep<int>(input, target, batch, optimizer);

    public float TrainStep(ReadOnlySpan<float> input, ReadOnlySpan<float> target, int batch, IOptimizer optimizer)
        => TrainStep<float>(input, target, batch, optimizer);

    public float ComputeGradients(ReadOnlySpan<float> input, ReadOnlySpan<int> target, int batch)
        => (float)ComputeGradients<float, int>(input, target, batch);

    public float ComputeGradients(ReadOnlySpan<float> input, ReadOnlySpan<float> target, int batch)
        => (float)ComputeGradients<float, float>(input, target, batch);

    public float Loss(ReadOnlySpan<float> input, ReadOnlySpan<int> target, int batch)
        => (float)Loss<float, int>(input, target, batch);

    public float Loss(ReadOnlySpan<float> input, ReadOnlySpan<float> target, int batch)
        => (float)Loss<float, float>(input, target, batch);

    // ---- the double API (Precision.Double) ----------------------------------------------------------------------

    /// <summary>The batch-mean loss in double precision; labels are passed as class-index values.</summary>
    public double Loss(ReadOnlySpan<double> input, ReadOnlySpan<double> target, int batch)
    {
        RequireDouble(nameof(Loss));
        return Loss<double, double>(input, target, batch);
    }

    /// <summary>The batch-mean loss, leaving its gradients in <see cref="GradientsDouble"/> (overwritten).</summary>
    public double ComputeGradients(ReadOnlySpan<double> input, ReadOnlySpan<double> target, int batch)
    {
        RequireDouble(nameof(ComputeGradients));
        return ComputeGradients<double, double>(input, target, batch);
    }

    /// <summary>The forward pass in double precision.</summary>
    public void PredictDouble(ReadOnlySpan<double> input, Span<double> output, int batch)
    {
        RequireDouble(nameof(PredictDouble));
        using var busy = ModelGuard.Enter(ref _owner, Description.Name, nameof(PredictDouble));
        Predict<double>(input, output, batch);
    }

    // ---- runs ---------------------------------------------------------------------------------------------------

    private float TrainStep<TTarget>(ReadOnlySpan<float> input, ReadOnlySpan<TTarget> target, int batch, IOptimizer optimizer)
        where TTarget : unmanaged, INumberBase<TTarget>
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        if (_params is null)
            throw new InvalidOperationException(
                $"TrainStep updates float parameters, but this dynamic {Description.Name} computes in double precision; " +
                "call ComputeGradients and update ParametersDouble yourself, or create the model with Precision.Single.");
        using var busy = ModelGuard.Enter(ref _owner, Description.Name, nameof(TrainStep));
        long dropoutStep = SaveState();
        try
        {
            float loss = (float)Run(input, target, batch, gradients: true);
            optimizer.Step(_params, _grads);
            return loss;
        }
        catch
        {
            RestoreState(dropoutStep);
            throw;
        }
    }

    private double ComputeGradients<TIn, TTarget>(ReadOnlySpan<TIn> input, ReadOnlySpan<TTarget> target, int batch)
        where TIn : unmanaged, INumberBase<TIn> where TTarget : unmanaged, INumberBase<TTarget>
    {
        using var busy = ModelGuard.Enter(ref _owner, Description.Name, nameof(ComputeGradients));
        long dropoutStep = SaveState();
        try
        {
            return Run(input, target, batch, gradients: true);
        }
        catch
        {
            RestoreState(dropoutStep);
            throw;
        }
    }

    private double Loss<TIn, TTarget>(ReadOnlySpan<TIn> input, ReadOnlySpan<TTarget> target, int batch)
        where TIn : unmanaged, INumberBase<TIn> where TTarget : unmanaged, INumberBase<TTarget>
    {
        using var busy = ModelGuard.Enter(ref _owner, Description.Name, nameof(Loss));
        return Run(input, target, batch, gradients: false);
    }

    /// <summary>Before a training step: what its forward pass advances (the running statistics, DropoutStep).</summary>
    private long SaveState()
    {
        Array state = (Array?)_state ?? _stateDouble!;
        if (state.Length > 0)
        {
            _stateBefore ??= state is float[] ? new float[state.Length] : new double[state.Length];
            Array.Copy(state, _stateBefore, state.Length);
        }
        return DropoutStep;
    }

    /// <summary>After a failed training step: the state as <see cref="SaveState"/> found it.</summary>
    private void RestoreState(long dropoutStep)
    {
        Array state = (Array?)_state ?? _stateDouble!;
        if (state.Length > 0) Array.Copy(_stateBefore!, state, state.Length);
        DropoutStep = dropoutStep;
    }

    private void Predict<TIn>(ReadOnlySpan<TIn> input, Span<TIn> output, int batch) where TIn : unmanaged, INumberBase<TIn>
    {
        CheckBatch(batch);
        long expected = (long)batch * _outputSize;
        if (output.Length != expected)
            throw new ArgumentException(
                $"Predict: output has {output.Length} elements but {batch} samples of {Tensor.FormatShape(Description.OutputShape)} need {expected}.",
                nameof(output));
        BindArrays(trace: false);
        if (Precision == Precision.Double) PredictCore<double, TIn>(input, output, batch);
        else PredictCore<float, TIn>(input, output, batch);
    }

    private void PredictCore<T, TIn>(ReadOnlySpan<TIn> input, Span<TIn> output, int batch)
        where T : unmanaged, IFloatingPointIeee754<T> where TIn : unmanaged, INumberBase<TIn>
    {
        Begin(batch, gradients: false, traceAll: false);
        Tensor result;
        using (_context.Enter()) result = Forward<T, TIn>(input, batch);
        int size = result.SizeValue;
        for (int s = 0; s < batch; s++) Convert(result.SampleValues<T>(s), output.Slice(s * size, size));
    }

    /// <summary>Forward, loss and (optionally) backward in the model's precision; returns the batch-mean loss.</summary>
    private double Run<TIn, TTarget>(ReadOnlySpan<TIn> input, ReadOnlySpan<TTarget> target, int batch, bool gradients)
        where TIn : unmanaged, INumberBase<TIn> where TTarget : unmanaged, INumberBase<TTarget>
    {
        BindArrays(trace: false);
        return Precision == Precision.Double
            ? RunCore<double, TIn, TTarget>(input, target, batch, gradients, traceAll: false)
            : RunCore<float, TIn, TTarget>(input, target, batch, gradients, traceAll: false);
    }

    private double RunCore<T, TIn, TTarget>(ReadOnlySpan<TIn> input, ReadOnlySpan<TTarget> target, int batch, bool gradients, bool traceAll)
        where T : unmanaged, IFloatingPointIeee754<T> where TIn : unmanaged, INumberBase<TIn> where TTarget : unmanaged, INumberBase<TTarget>
    {
        InputInfo info = Description.Target ?? throw new InvalidOperationException(
            $"Model {Description.Name} declares no [Loss], so it has no loss to evaluate or differentiate; use Predict (or Trace without a target).");
        CheckBatch(batch);
        CheckTarget(info, target, batch);
        Begin(batch, gradients, traceAll);
        Tensor loss;
        using (_context.Enter())
        {
            Tensor output = Forward<T, TIn>(input, batch);
            Tensor targetTensor = LoadTarget<T, TTarget>(info, target);
            loss = _source.DynamicLoss(output, targetTensor)
                ?? throw new InvalidOperationException($"{Description.Name}.DynamicLoss returned null.");
        }
        if (!ReferenceEquals(loss.Tape, _tape) || loss.SizeValue != 1)
            throw new InvalidOperationException(
                $"The [Loss] of {Description.Name} must return one value per sample (shape []), but returned {loss}.");
        ReadOnlySpan<T> values = loss.Values<T>();
        double total = 0;
        foreach (T v in values) total += double.CreateTruncating(v);
        double mean = total / values.Length;
        if (gradients)
        {
            // Checked in the model's precision before the backward pass writes any gradient.
            if (!T.IsFinite(T.CreateTruncating(mean))) ModelChecks.ThrowNonFiniteLoss((float)mean);
            Backward<T>(loss, batch);
        }
        return mean;
    }

    /// <summary>Seeds dL/dℓ_s = 1/B (1 for an unbatched root), runs the tape backwards and zeroes the gradients of
    /// parameters the loss did not reach.</summary>
    private void Backward<T>(Tensor root, int batch) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Span<T> seed = root.GradBuffer<T>();
        seed.Fill(root.Batched ? T.One / T.CreateTruncating(batch) : T.One);
        root.GradReady = true;
        _tape.Backward();
        T[] grads = (T[])_runGrads!;
        for (int i = 0; i < _bound.Length; i++)
        {
            if (_bound[i] is { GradReady: true }) continue;
            grads.AsSpan(Description.Parameters[i].Offset, _paramLengths[i]).Clear();
        }
    }

    private void Begin(int batch, bool gradients, bool traceAll)
    {
        _tape.Begin(_runParams is double[] ? Precision.Double : Precision.Single, batch, gradients, traceAll);
        Array.Clear(_bound);
        _dropoutIndex = 0;
        _recorded = true;
    }

    /// <summary>Chooses the parameter and gradient arrays of the next run (a trace of a float model runs on widened copies).</summary>
    private void BindArrays(bool trace)
    {
        if (!trace)
        {
            _runParams = (Array?)_params ?? _paramsDouble!;
            _runGrads = (Array?)_grads ?? _gradsDouble!;
            return;
        }
        if (_state is not null) _traceState = _state.Select(v => (double)v).ToArray();
        var p = new double[Description.ParameterCount];
        if (_params is not null) for (int i = 0; i < p.Length; i++) p[i] = _params[i];
        else _paramsDouble!.CopyTo(p, 0);
        _runParams = p;
        _runGrads = new double[p.Length];
    }

    /// <summary>One batched tensor per model input (the flat input holds each input's batch block in turn), then the source.</summary>
    private Tensor Forward<T, TIn>(ReadOnlySpan<TIn> input, int batch)
        where T : unmanaged, IFloatingPointIeee754<T> where TIn : unmanaged, INumberBase<TIn>
    {
        long expected = (long)batch * _inputSize;
        if (input.Length != expected)
            throw new ArgumentException(
                $"Model {Description.Name}: input has {input.Length} elements but {batch} samples need {expected} " +
                $"({string.Join(" + ", Description.Inputs.Select(i => $"{i.Name} {Tensor.FormatShape(i.Shape)}"))} per sample, each input's batch block in turn).",
                nameof(input));
        int start = 0;
        for (int i = 0; i < _inputs.Length; i++)
        {
            InputInfo info = Description.Inputs[i];
            Tensor x = _tape.Node<T>("input", _inputShapes[i], batched: true);
            x.Kind = Tensor.NodeKind.Input;
            x.NameValue = info.Name;
            int length = batch * _inputSizes[i];
            ReadOnlySpan<TIn> block = input.Slice(start, length);
            if (info.IsLabels)
            {
                x.ClassCount = info.Classes;
                CheckLabels(block, info.Classes, info.Name, "input");
            }
            else x.RequiresGrad = _tape.TraceAll;
            Convert(block, x.Values<T>());
            _inputs[i] = x;
            start += length;
        }
        Tensor output = _source.DynamicForward(_inputs)
            ?? throw new InvalidOperationException($"{Description.Name}.DynamicForward returned null.");
        if (Training) DropoutStep++;
        if (!ReferenceEquals(output.Tape, _tape))
            throw new InvalidOperationException($"{Description.Name}.DynamicForward returned a tensor of another model's tape.");
        if (!output.Shape.SequenceEqual(Description.OutputShape))
            throw new InvalidOperationException(
                $"{Description.Name}.DynamicForward returned shape {output.ShapeText}, but the description declares {Tensor.FormatShape(Description.OutputShape)}.");
        return output;
    }

    private Tensor LoadTarget<T, TTarget>(InputInfo info, ReadOnlySpan<TTarget> target)
        where T : unmanaged, IFloatingPointIeee754<T> where TTarget : unmanaged, INumberBase<TTarget>
    {
        Tensor t = _tape.Node<T>(info.IsLabels ? "labels" : "target", _targetShape, batched: true);
        t.Kind = Tensor.NodeKind.Input;
        t.NameValue = info.Name;
        t.ClassCount = info.Classes;
        t.RequiresGrad = _tape.TraceAll && !info.IsLabels;
        Convert(target, t.Values<T>());
        return t;
    }

    /// <summary>Called through <see cref="DynamicContext.Parameter"/>: the run's tensor for a parameter, made on first use.</summary>
    internal Tensor BindParameter(string name)
        => _paramIndex.TryGetValue(name, out int i) ? Bind(i) : throw MissingParameter(name);

    /// <summary>The weight (and bias) of the linear layer <paramref name="layer"/>; the names are resolved once per
    /// layer, so a steady-state run builds no strings.</summary>
    internal (Tensor Weight, Tensor? Bias) BindLinear(string layer, bool bias, bool? shared)
    {
        if (!_linearIndex.TryGetValue(layer, out (int Weight, int Bias) ids))
        {
            ids = (_paramIndex.TryGetValue(layer + ".weight", out int w) ? w : -1, _paramIndex.TryGetValue(layer + ".bias", out int b) ? b : -1);
            _linearIndex[layer] = ids;
        }
        // A Linear layer's name used twice in one run: an error unless the call says shared (the generator's rules).
        if (shared is { } reuse && ids.Weight >= 0)
        {
            bool bound = _bound[ids.Weight] is not null;
            if (bound && !reuse) throw new InvalidOperationException($"linear '{layer}': {LayerRules.Duplicate(layer + ".weight")}.");
            if (!bound && reuse) throw new ArgumentException($"linear '{layer}': {LayerRules.Shared(layer, null, [])}.");
        }
        Tensor weight = ids.Weight >= 0 ? Bind(ids.Weight) : throw MissingParameter(layer + ".weight");
        if (!bias) return (weight, null);
        return (weight, ids.Bias >= 0 ? Bind(ids.Bias) : throw MissingParameter(layer + ".bias"));
    }

    private Tensor Bind(int i)
    {
        if (_bound[i] is { } bound) return bound;
        ParameterInfo p = Description.Parameters[i];
        Tensor t = _tape.View("param", _paramShapes[i], batched: false, _runParams, p.Offset);
        t.Kind = Tensor.NodeKind.Parameter;
        t.NameValue = p.Name;
        t.RequiresGrad = _tape.GradientsEnabled;
        if (t.RequiresGrad)
        {
            t.GradArray = _runGrads;
            t.GradOffset = p.Offset;
        }
        _bound[i] = t;
        return t;
    }

    private KeyNotFoundException MissingParameter(string name) => new(
        $"Model {Description.Name} has no parameter '{name}'; it has: {string.Join(", ", Description.Parameters.Select(p => p.Name))}.");

    // ---- validation and conversion --------------------------------------------------------------------------------

    private static void CheckBatch(int batch)
    {
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "The batch must hold at least one sample.");
    }

    private void CheckTarget<TTarget>(InputInfo info, ReadOnlySpan<TTarget> target, int batch) where TTarget : unmanaged, INumberBase<TTarget>
    {
        if (info.IsLabels)
        {
            if (target.Length != (long)batch * info.Size)
                throw new ArgumentException(info.Size == 1
                    ? $"Model {Description.Name}: {target.Length} labels for {batch} samples; pass one class index per sample."
                    : $"Model {Description.Name}: {target.Length} labels for {batch} samples of {Tensor.FormatShape(info.Shape)}; pass {info.Size} class indices per sample ({(long)batch * info.Size}).", nameof(target));
            CheckLabels(target, info.Classes, info.Name, nameof(target));
            return;
        }
        if (typeof(TTarget) == typeof(int))
            throw new ArgumentException(
                $"Model {Description.Name}: the target '{info.Name}' is a real tensor {Tensor.FormatShape(info.Shape)}, not class labels; pass float targets.", nameof(target));
        long expected = (long)batch * _targetSize;
        if (target.Length != expected)
            throw new ArgumentException(
                $"Model {Description.Name}: target has {target.Length} elements but {batch} samples of {Tensor.FormatShape(info.Shape)} need {expected}.", nameof(target));
    }

    private static void CheckLabels<TLabel>(ReadOnlySpan<TLabel> labels, int classes, string name, string parameter) where TLabel : unmanaged, INumberBase<TLabel>
    {
        for (int s = 0; s < labels.Length; s++)
        {
            double v = double.CreateTruncating(labels[s]);
            if (!(v >= 0 && v < classes) || v != Math.Floor(v))
                throw new ArgumentOutOfRangeException(parameter, v,
                    $"{name}[{s}] = {v} is not a class index: labels must be integers in [0, {classes}) for {classes} classes (element {s}, row-major over samples and steps).");
        }
    }

    private static void Convert<TFrom, TTo>(ReadOnlySpan<TFrom> from, Span<TTo> to)
        where TFrom : unmanaged, INumberBase<TFrom> where TTo : unmanaged, INumberBase<TTo>
    {
        if (typeof(TFrom) == typeof(TTo))
        {
            MemoryMarshal.Cast<TFrom, TTo>(from).CopyTo(to);
            return;
        }
        for (int i = 0; i < to.Length; i++) to[i] = TTo.CreateTruncating(from[i]);
    }

    private InvalidOperationException SingleOnly(string member, string instead)
        => new($"{member} is the single-precision block, but this dynamic {Description.Name} computes in double precision; use {instead}.");

    private InvalidOperationException DoubleOnly(string member)
        => new($"{member} exists only in double precision; this dynamic {Description.Name} computes in single precision " +
               "(create it with Precision.Double, or use Trace, which computes in double either way).");

    private void RequireDouble(string member)
    {
        if (Precision != Precision.Double) throw DoubleOnly(member);
    }
}
