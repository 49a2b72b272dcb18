using static Dl.Generators.Emit.Literals;

namespace Dl.Generators.Emit;

/// <summary>
/// The public methods that take data (<c>Predict</c>, <c>TrainStep</c>, <c>ComputeGradients</c>, <c>Loss</c>,
/// <c>Trace</c>), with parameters named after the user's <c>[Forward]</c> parameters and <c>[Loss]</c> target, so that
/// named arguments work: <c>model.TrainStep(x: images, y: labels, batch: 32, optimizer: sgd)</c>.
/// </summary>
/// <remarks>
/// <para>One input: the methods keep the interfaces' shape (<c>IModel</c>, <c>ITrainableModel&lt;T&gt;</c>) with the
/// user's names, and implement them.</para>
/// <para>Several inputs: the class's methods take one span per input, in the <c>[Forward]</c> method's order, then the
/// target: <c>ComputeGradients(x, h0, y, batch)</c>. The interfaces' form, one span holding every input (all samples of
/// the first input, then all samples of the second, …), is implemented explicitly, so it is reached only through the
/// interface. A call that passes an input where the target belongs (<c>ComputeGradients(x, h0, batch)</c>, which used
/// to compile and take <c>h0</c> as the target) no longer compiles. The per-input form copies the inputs into one
/// staging buffer (<c>StageInputs</c>, a pass over the inputs); the interface form reads its span in place.</para>
/// <para>Names: a parameter name is the user's, escaped if it is a keyword (<c>@class</c>); a name the method already uses
/// (<c>batch</c>, <c>output</c>, <c>optimizer</c>, <c>busy</c>) or that an earlier parameter took becomes <c>input</c> (<c>input2</c>, …
/// for the second input) or <c>target</c>, with <c>_</c> appended until unique. Both the model and the stub of a model
/// that failed to build print their surface here, so they agree.</para>
/// </remarks>
internal sealed class ApiSurface
{
    /// <summary>Names the generated methods use besides the inputs and the target.</summary>
    private static readonly string[] Fixed = { "batch", "output", "optimizer", "busy", "gradients" };

    private ApiSurface(string[] inputs, string target) { Inputs = inputs; Target = target; }

    /// <summary>The inputs' parameter names, as printed (escaped); one (<c>input</c>) for a model without inputs.</summary>
    public string[] Inputs { get; }
    /// <summary>The target's parameter name, as printed.</summary>
    public string Target { get; }
    /// <summary>Whether the model has several inputs: per-input methods and explicit interface implementations.</summary>
    public bool Several => Inputs.Length > 1;

    /// <param name="inputNames">The <c>[Forward]</c> method's parameter names.</param>
    /// <param name="targetName">The <c>[Loss]</c> method's target parameter name, or null.</param>
    public static ApiSurface Of(IReadOnlyList<string> inputNames, string? targetName)
    {
        var taken = new HashSet<string>(Fixed, System.StringComparer.Ordinal);
        var inputs = new string[System.Math.Max(1, inputNames.Count)];
        for (int i = 0; i < inputs.Length; i++)
            inputs[i] = Pick(i < inputNames.Count ? inputNames[i] : "", i == 0 ? "input" : "input" + (i + 1), taken);
        return new ApiSurface(inputs, Pick(targetName ?? "", "target", taken));
    }

    private static string Pick(string name, string fallback, HashSet<string> taken)
    {
        name = name.TrimStart('@');
        if (name.Length == 0 || taken.Contains(name)) name = fallback;
        while (taken.Contains(name)) name += "_";
        taken.Add(name);
        return DeclarationChecks.Identifier(name);
    }

    private const string Span = "global::System.ReadOnlySpan<float>";

    private string InputParameters => string.Join(", ", Inputs.Select(i => $"{Span} {i}"));

    private string InputArguments => string.Join(", ", Inputs);

    /// <summary>Prints the public data methods of a model (<paramref name="targetTypes"/>: none without a loss, else the
    /// target's element type; <paramref name="trainable"/>: whether the loss depends on a parameter, so that there are
    /// <c>TrainStep</c> and <c>ComputeGradients</c>). A real model's methods forward to the guarded implementations over
    /// the concatenated input (<c>PredictGuarded</c>, <c>TrainStepGuarded</c>, …, which <see cref="ModelEmitter"/>
    /// prints); a stub's throw (<paramref name="stubThrow"/>).</summary>
    public void Print(SourceWriter w, string className, IReadOnlyList<string> targetTypes, bool trainable, string? stubThrow = null)
    {
        string predictSig = $"{InputParameters}, global::System.Span<float> output, int batch";
        Method(w, className, "void", "Predict", predictSig, "output, batch", stubThrow);
        if (Several)
            w.Line($"void global::Dl.IModel.Predict({Span} input, global::System.Span<float> output, int batch) => "
                + (stubThrow ?? "PredictGuarded(input, output, batch)") + ";");
        const string Gradients = ", bool gradients = true";
        if (targetTypes.Count == 0)
        {
            TraceComment(w, stubThrow, "the batch mean of the sum of the output's elements");
            Method(w, className, "global::Dl.Dynamic.DynamicTrace", "Trace", $"{InputParameters}, int batch{Gradients}", "batch, gradients", stubThrow);
        }
        foreach (var t in targetTypes)
        {
            string data = $"{InputParameters}, global::System.ReadOnlySpan<{t}> {Target}, int batch";
            if (trainable)
            {
                Method(w, className, "float", "TrainStep", data + ", global::Dl.IOptimizer optimizer", $"{Target}, batch, optimizer", stubThrow);
                Method(w, className, "float", "ComputeGradients", data, $"{Target}, batch", stubThrow);
            }
            Method(w, className, "float", "Loss", data, $"{Target}, batch", stubThrow);
            TraceComment(w, stubThrow, "the batch-mean loss");
            Method(w, className, "global::Dl.Dynamic.DynamicTrace", "Trace", data + Gradients, $"{Target}, batch, gradients", stubThrow);
            if (!Several || !trainable) continue;
            string concatenated = $"{Span} input, global::System.ReadOnlySpan<{t}> target, int batch";
            foreach (var (name, extra) in new[] { ("TrainStep", ", global::Dl.IOptimizer optimizer"), ("ComputeGradients", ""), ("Loss", "") })
                w.Line($"float global::Dl.ITrainableModel<{t}>.{name}({concatenated}{extra}) => "
                    + (stubThrow ?? $"{name}Guarded(input, target, batch{(extra.Length > 0 ? ", optimizer" : "")})") + ";");
        }
    }

    private static void TraceComment(SourceWriter w, string? stubThrow, string l)
    {
        if (stubThrow is not null) return;
        w.Line("/// <summary>Every node's value, local gradient and upstream gradient dL/dnode (L: " + l + ") for these inputs and");
        w.Line("/// the current weights, state and <see cref=\"Training\"/> mode, computed on the dynamic tape in double precision (the model");
        w.Line("/// is not changed). Nodes are found by their local variable's name (<c>trace.Find(\"h\")</c>). With <paramref name=\"gradients\"/>");
        w.Line("/// false, values only (no backward pass: through ops without a gradient).</summary>");
    }

    /// <summary>One public method: a throw (stub), a forward to <c>{name}Guarded</c> (one input), or, with several
    /// inputs, the guard, the inputs staged into one span, then <c>{name}Guarded</c>.</summary>
    private void Method(SourceWriter w, string className, string returns, string name, string parameters, string rest, string? stubThrow)
    {
        string head = $"public {returns} {name}({parameters})";
        if (stubThrow is not null) { w.Line($"{head} => {stubThrow};"); return; }
        if (!Several) { w.Line($"{head} => this.{name}Guarded({Inputs[0]}, {rest});"); return; }
        using (w.Block(head))
        {
            // The guard covers the staging buffer; the nested guard in {name}Guarded is then a no-op.
            w.Line($"using var busy = global::Dl.ModelGuard.Enter(ref this._owner, {String(className)}, {String(name)});");
            w.Line($"{(returns == "void" ? "" : "return ")}this.{name}Guarded(this.StageInputs({InputArguments}, batch), {rest});");
        }
    }

    /// <summary>Prints <c>StageInputs</c> (several inputs only): checks the batch and each input's length (the message names
    /// the input) and copies the inputs into <c>_inputs</c>, input after input, the layout the concatenated form takes.</summary>
    public void PrintStaging(SourceWriter w, IReadOnlyList<int> sizes)
    {
        if (!Several) return;
        w.Line("/// <summary>The inputs as one span (all samples of each input, input after input), copied into the staging buffer.</summary>");
        using (w.Block($"private {Span} StageInputs({InputParameters}, int batch)"))
        {
            w.Line($"if ((uint)(batch - 1) >= (uint)this._maxBatch) {Checks}.ThrowBatch(batch, this._maxBatch);");
            int total = sizes.Sum();
            string offset = "0";
            for (int i = 0; i < Inputs.Length; i++)
            {
                string name = Inputs[i];
                w.Line($"if ({name}.Length != batch * {sizes[i]}) {Checks}.ThrowInputLength({String(name.TrimStart('@'))}, {name}.Length, batch, {sizes[i]});");
                w.Line($"{name}.CopyTo(global::System.MemoryExtensions.AsSpan(this._inputs, {offset}));");
                int before = sizes.Take(i + 1).Sum();
                offset = $"batch * {before}";
            }
            w.Line($"return global::System.MemoryExtensions.AsSpan(this._inputs, 0, batch * {total});");
        }
    }
}
