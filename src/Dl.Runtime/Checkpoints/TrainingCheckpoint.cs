using System.Globalization;

namespace Dl.Checkpoints;

/// <summary>
/// A checkpoint to resume training from: one safetensors file holding the model's parameters and state (under their
/// own names, so <see cref="Safetensors.Load(string, ModelDescription, Span{float}, Span{float})"/> and PyTorch read it
/// as a plain weights file), the optimizer's state buffers as tensors <c>optimizer/NAME/PARAMETER</c> (PyTorch's buffer
/// names: <c>exp_avg</c>, <c>exp_avg_sq</c>, <c>momentum_buffer</c>; each shaped like its parameter), and in
/// <c>__metadata__</c> the model's name, the library version, the optimizer's type, step count and learning rate, the
/// model's <see cref="IModel.DropoutStep"/>, and the caller's entries (a <see cref="Training.Trainer{TTarget}"/>'s
/// place in the run).
/// </summary>
public static class TrainingCheckpoint
{
    /// <summary>Metadata keys written by <see cref="Save"/>.</summary>
    public const string KindKey = "dl.kind", OptimizerKey = "dl.optimizer", OptimizerStepKey = "dl.optimizer.step",
        OptimizerRateKey = "dl.optimizer.lr", OptimizerLengthKey = "dl.optimizer.length", DropoutStepKey = "dl.dropout_step";

    /// <summary>The <see cref="KindKey"/> value of a training checkpoint.</summary>
    public const string Kind = "training";

    /// <summary>Writes <paramref name="model"/>'s parameters and state, <paramref name="optimizer"/>'s state and
    /// <paramref name="metadata"/> to <paramref name="path"/>, atomically (see <see cref="AtomicFile"/>).</summary>
    /// <exception cref="ArgumentException">A metadata key collides with one of the checkpoint's own, or the optimizer's
    /// state is for another parameter count.</exception>
    public static void Save(string path, IModel model, Optimizer optimizer, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ModelDescription description = model.Description;
        OptimizerState state = optimizer.ExportState();
        if (state.Length != 0 && state.Length != description.ParameterCount)
            throw new ArgumentException(
                $"The {state.Optimizer} state is for {state.Length} parameters; model {description.Name} has {description.ParameterCount}.", nameof(optimizer));
        var all = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [KindKey] = Kind,
            [OptimizerKey] = state.Optimizer,
            [OptimizerStepKey] = state.StepCount.ToString(CultureInfo.InvariantCulture),
            [OptimizerRateKey] = state.LearningRate.ToString("R", CultureInfo.InvariantCulture),
            [OptimizerLengthKey] = state.Length.ToString(CultureInfo.InvariantCulture),
            [DropoutStepKey] = model.DropoutStep.ToString(CultureInfo.InvariantCulture),
        };
        if (metadata is not null)
        {
            foreach (KeyValuePair<string, string> kv in metadata)
            {
                if (!all.TryAdd(kv.Key, kv.Value))
                    throw new ArgumentException($"Metadata key '{kv.Key}' is one the training checkpoint writes itself.", nameof(metadata));
            }
        }
        var tensors = new List<SafetensorsTensor>();
        foreach (KeyValuePair<string, float[]> buffer in state.Buffers)
        {
            foreach (ParameterInfo p in description.Parameters)
                tensors.Add(new SafetensorsTensor(TensorName(buffer.Key, p.Name), "F32", p.Shape, buffer.Value.AsSpan(p.Offset, p.Length).ToArray()));
        }
        Safetensors.Save(path, description, model.Parameters, model.State, all, tensors);
    }

    /// <summary>The name of optimizer buffer <paramref name="buffer"/>'s slice for parameter <paramref name="parameter"/>.</summary>
    public static string TensorName(string buffer, string parameter) => $"{Safetensors.OptimizerPrefix}{buffer}/{parameter}";

    /// <summary>The <c>__metadata__</c> of a checkpoint.</summary>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path) => Safetensors.ReadMetadata(path);

    /// <summary>Restores <paramref name="model"/> (parameters, state, <see cref="IModel.DropoutStep"/>) and
    /// <paramref name="optimizer"/> (step count, learning rate, buffers) from a checkpoint written by <see cref="Save"/>.
    /// Everything is validated before anything changes.</summary>
    /// <exception cref="InvalidDataException">Not a training checkpoint, of another model or optimizer, a tensor missing or
    /// misshapen; the message names the file and both sides.</exception>
    public static void Load(string path, IModel model, Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ModelDescription description = model.Description;
        SafetensorsHeader header = Safetensors.ReadHeader(path);
        IReadOnlyDictionary<string, string> meta = header.Metadata;
        Safetensors.CheckModel(meta, description, path);
        if (!meta.TryGetValue(KindKey, out string? kind) || kind != Kind)
            throw SafetensorsHeader.Bad(path,
                "it holds weights only, not a training run (no optimizer state): load it with Safetensors.Load, or resume from a checkpoint the trainer saved");
        string type = optimizer.GetType().Name;
        string saved = Required(meta, OptimizerKey, path);
        if (saved != type)
            throw SafetensorsHeader.Bad(path, $"its optimizer is {saved}; this run's is {type}");
        long step = ParseLong(meta, OptimizerStepKey, path);
        float rate = (float)ParseDouble(meta, OptimizerRateKey, path);
        int length = (int)ParseLong(meta, OptimizerLengthKey, path);
        long dropoutStep = ParseLong(meta, DropoutStepKey, path);
        if (length != 0 && length != description.ParameterCount)
            throw SafetensorsHeader.Bad(path, $"its {saved} state is for {length} parameters; model {description.Name} has {description.ParameterCount}");

        // The optimizer's tensors: every buffer this optimizer keeps, for every parameter, and nothing else.
        var expected = new HashSet<string>(StringComparer.Ordinal);
        if (length > 0)
        {
            foreach (string buffer in optimizer.StateNames)
                foreach (ParameterInfo p in description.Parameters) expected.Add(TensorName(buffer, p.Name));
        }
        foreach (SafetensorsEntry entry in header.Entries)
        {
            if (entry.Name.StartsWith(Safetensors.OptimizerPrefix, StringComparison.Ordinal) && !expected.Contains(entry.Name))
                throw SafetensorsHeader.Bad(path,
                    $"tensor '{entry.Name}' is optimizer state this {type} does not keep (it keeps: {(optimizer.StateNames.Count == 0 ? "none" : string.Join(", ", optimizer.StateNames))}); was it saved with other settings?");
        }
        var buffers = new Dictionary<string, float[]>(StringComparer.Ordinal);
        if (length > 0)
        {
            IReadOnlyDictionary<string, SafetensorsTensor> tensors = Safetensors.ReadAll(path);
            foreach (string buffer in optimizer.StateNames)
            {
                var values = new float[length];
                foreach (ParameterInfo p in description.Parameters)
                {
                    string name = TensorName(buffer, p.Name);
                    if (!tensors.TryGetValue(name, out SafetensorsTensor? tensor))
                        throw SafetensorsHeader.Bad(path, $"tensor '{name}' is missing ({type} state of parameter '{p.Name}' {p.ShapeText} of model {description.Name})");
                    if (tensor.DType != "F32" || !tensor.Shape.AsSpan().SequenceEqual(p.Shape))
                        throw SafetensorsHeader.Bad(path, $"tensor '{name}' is {tensor.DType} [{string.Join(", ", tensor.Shape)}]; model {description.Name} expects F32 {p.ShapeText}");
                    tensor.Data.CopyTo(values, p.Offset);
                }
                buffers.Add(buffer, values);
            }
        }
        var state = new OptimizerState(saved, step, rate, length, buffers);

        Safetensors.Load(path, description, model.Parameters, model.State);   // validates every model tensor; atomic
        optimizer.ImportState(state);                                           // validated above: cannot fail
        model.DropoutStep = dropoutStep;
    }

    private static string Required(IReadOnlyDictionary<string, string> meta, string key, string path) =>
        meta.TryGetValue(key, out string? value) ? value : throw SafetensorsHeader.Bad(path, $"its metadata has no '{key}'");

    internal static double ParseDouble(IReadOnlyDictionary<string, string> meta, string key, string path)
    {
        string text = Required(meta, key, path);
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value)
            ? value
            : throw SafetensorsHeader.Bad(path, $"metadata '{key}' is '{text}'; expected a number");
    }

    internal static long ParseLong(IReadOnlyDictionary<string, string> meta, string key, string path)
    {
        string text = Required(meta, key, path);
        return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long value) && value >= 0
            ? value
            : throw SafetensorsHeader.Bad(path, $"metadata '{key}' is '{text}'; expected a whole number >= 0");
    }
}
