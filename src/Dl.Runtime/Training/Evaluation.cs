using System.Diagnostics;
using System.Runtime.InteropServices;
using Dl.Data;

namespace Dl.Training;

/// <summary>
/// A model's metrics on a dataset, in evaluation mode (batch norm uses its running statistics, dropout is off; the mode
/// is restored after): the sample-weighted mean loss; for a classifier (labels, or one-hot targets built from labels)
/// the accuracy and the confusion matrix of argmax predictions; for float targets the output's MSE and MAE when the
/// output has the target's size. Nothing the model keeps (state, <see cref="IModel.DropoutStep"/>) changes.
/// </summary>
public static class Evaluation
{
    /// <summary>Evaluates <paramref name="model"/> on <paramref name="data"/> in batches of <paramref name="batchSize"/>
    /// (at most the model's <see cref="IModel.MaxBatch"/>).</summary>
    /// <param name="model">The model (its mode is restored after).</param>
    /// <param name="data">The samples with their labels or targets.</param>
    /// <param name="batchSize">Samples per forward pass.</param>
    /// <param name="labelSmoothing">For a float-target model on labels: the smoothing of the one-hot targets the loss sees.</param>
    /// <exception cref="ArgumentException">The dataset does not fit the model (features, labels or targets); the message names both.</exception>
    public static EvaluationResult Evaluate<TTarget>(ITrainableModel<TTarget> model, Dataset data, int batchSize = 256, float labelSmoothing = 0)
        where TTarget : unmanaged
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        return new Evaluator<TTarget>(model, data, Math.Min(batchSize, model.MaxBatch), labelSmoothing).Run(data);
    }
}

/// <summary>The targets a model's loss takes, made from a batch of a dataset: the labels as they are
/// (<c>ITrainableModel&lt;int&gt;</c>), float targets as they are, or one-hot (optionally smoothed) rows from labels for a
/// float-target classifier. Validates the dataset against the model once; allocates only in the constructor.</summary>
internal sealed class TargetAdapter<TTarget> where TTarget : unmanaged
{
    private readonly float[]? _encoded;
    private readonly int _classes;
    private readonly float _smoothing;

    public TargetAdapter(ModelDescription model, Dataset data, int maxBatch, float smoothing)
    {
        if (typeof(TTarget) != typeof(int) && typeof(TTarget) != typeof(float))
            throw new NotSupportedException($"Targets of type {typeof(TTarget).Name}: a model's targets are int (labels) or float.");
        if (!(smoothing >= 0 && smoothing < 1))
            throw new ArgumentOutOfRangeException(nameof(smoothing), smoothing, "Label smoothing must be in [0, 1).");
        if (model.InputSize != data.Features)
            throw new ArgumentException(
                $"Model {model.Name} takes {model.InputSize} input values per sample; the dataset's samples have {data.Features} (shape [{string.Join(", ", data.SampleShape)}]).",
                nameof(data));
        InputInfo target = model.Target
            ?? throw new ArgumentException($"Model {model.Name} declares no loss, so it cannot be trained or evaluated on targets.", nameof(model));
        IsClassifier = data.HasLabels;
        OutputIsComparable = model.OutputSize == (data.HasLabels ? data.Classes * data.LabelsPerSample : data.TargetSize);
        if (typeof(TTarget) == typeof(int))
        {
            if (!data.HasLabels || !target.IsLabels)
                throw new ArgumentException(
                    $"Model {model.Name} takes {Describe(target)}; the dataset has {Describe(data)}. An integer-target trainer needs labels on both sides.", nameof(data));
            if (target.Size != data.LabelsPerSample || data.Classes > target.Classes)
                throw new ArgumentException($"Model {model.Name} takes {Describe(target)}; the dataset has {Describe(data)}.", nameof(data));
            Mode = 0;
            return;
        }
        if (target.IsLabels)
            throw new ArgumentException($"Model {model.Name} takes {Describe(target)}: train it as ITrainableModel<int>.", nameof(model));
        if (data.HasLabels)
        {
            if (target.Size != data.Classes * data.LabelsPerSample)
                throw new ArgumentException(
                    $"Model {model.Name} takes {target.Size} target values per sample; one-hot rows of the dataset's {Describe(data)} have {data.Classes * data.LabelsPerSample}.",
                    nameof(data));
            _encoded = new float[checked(maxBatch * target.Size)];
            _classes = data.Classes;
            _smoothing = smoothing;
            Mode = 2;
            return;
        }
        if (target.Size != data.TargetSize)
            throw new ArgumentException($"Model {model.Name} takes {Describe(target)}; the dataset has {Describe(data)}.", nameof(data));
        Mode = 1;
    }

    /// <summary>0: labels, 1: float targets, 2: one-hot from labels.</summary>
    public int Mode { get; }
    public bool IsClassifier { get; }
    /// <summary>The model's output has one value per target value (class scores for labels).</summary>
    public bool OutputIsComparable { get; }

    public ReadOnlySpan<TTarget> Targets(ReadOnlySpan<int> labels, ReadOnlySpan<float> targets)
    {
        switch (Mode)
        {
            case 0: return MemoryMarshal.Cast<int, TTarget>(labels);
            case 1: return MemoryMarshal.Cast<float, TTarget>(targets);
            default:
                int n = labels.Length * _classes;
                Span<float> rows = _encoded.AsSpan(0, n);
                rows.Fill(_smoothing / _classes);
                float on = 1 - _smoothing + _smoothing / _classes;
                for (int i = 0; i < labels.Length; i++)
                {
                    int label = labels[i];
                    if ((uint)label >= (uint)_classes)
                        throw new ArgumentOutOfRangeException(nameof(labels), label, $"Label {i} is {label}; expected a class in [0, {_classes}).");
                    rows[i * _classes + label] = on;
                }
                return MemoryMarshal.Cast<float, TTarget>((ReadOnlySpan<float>)rows);
        }
    }

    private static string Describe(InputInfo target) => target.IsLabels
        ? (target.Size == 1 ? $"one label of {target.Classes} classes per sample" : $"{target.Size} labels of {target.Classes} classes per sample")
        : $"float targets of shape [{string.Join(", ", target.Shape)}] ({target.Size} values) per sample";

    private static string Describe(Dataset data) => data.HasLabels
        ? (data.LabelsPerSample == 1 ? $"one label of {data.Classes} classes per sample" : $"{data.LabelsPerSample} labels of {data.Classes} classes per sample")
        : $"float targets of shape [{string.Join(", ", data.TargetShape)}] ({data.TargetSize} values) per sample";
}

/// <summary>Evaluation with buffers allocated once (the trainer evaluates its validation set every epoch).</summary>
internal sealed class Evaluator<TTarget> where TTarget : unmanaged
{
    private readonly ITrainableModel<TTarget> _model;
    private readonly TargetAdapter<TTarget> _targets;
    private readonly float[] _output;
    private readonly int _batch, _classes;

    public Evaluator(ITrainableModel<TTarget> model, Dataset data, int batch, float smoothing)
    {
        _model = model;
        _batch = Math.Max(1, Math.Min(batch, Math.Min(model.MaxBatch, Math.Max(data.Count, 1))));
        _targets = new TargetAdapter<TTarget>(model.Description, data, _batch, smoothing);
        _output = new float[checked(_batch * model.Description.OutputSize)];
        _classes = data.Classes;
    }

    public EvaluationResult Run(Dataset data)
    {
        long start = Stopwatch.GetTimestamp();
        bool training = _model.Training;
        _model.Training = false;
        try
        {
            int d = data.Features, k = data.TargetSize, l = data.LabelsPerSample, outputSize = _model.Description.OutputSize;
            ConfusionMatrix? confusion = _targets.IsClassifier && _targets.OutputIsComparable ? new ConfusionMatrix(_classes) : null;
            bool regression = !_targets.IsClassifier && _targets.OutputIsComparable;
            double lossSum = 0, squared = 0, absolute = 0;
            for (int first = 0; first < data.Count; first += _batch)
            {
                int n = Math.Min(_batch, data.Count - first);
                ReadOnlySpan<float> x = data.X.AsSpan(first * d, n * d);
                ReadOnlySpan<int> labels = data.HasLabels ? data.Labels.AsSpan(first * l, n * l) : default;
                ReadOnlySpan<float> targets = data.Targets is { } t ? t.AsSpan(first * k, n * k) : default;
                lossSum += (double)_model.Loss(x, _targets.Targets(labels, targets), n) * n;
                if (confusion is null && !regression) continue;
                Span<float> output = _output.AsSpan(0, n * outputSize);
                _model.Predict(x, output, n);
                if (confusion is not null) confusion.Add(output, labels);
                else
                {
                    for (int i = 0; i < output.Length; i++)
                    {
                        double e = (double)output[i] - targets[i];
                        squared += e * e;
                        absolute += Math.Abs(e);
                    }
                }
            }
            long values = (long)data.Count * (regression ? k : 0);
            return new EvaluationResult
            {
                Samples = data.Count,
                Loss = data.Count == 0 ? double.NaN : lossSum / data.Count,
                Accuracy = confusion is null ? double.NaN : confusion.Accuracy(),
                Confusion = confusion,
                MeanSquaredError = regression && values > 0 ? squared / values : double.NaN,
                MeanAbsoluteError = regression && values > 0 ? absolute / values : double.NaN,
                Seconds = Stopwatch.GetElapsedTime(start).TotalSeconds,
            };
        }
        finally
        {
            _model.Training = training;
        }
    }
}
