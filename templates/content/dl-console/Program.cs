using System.Diagnostics;
using Dl;
using Dl.Data;
using Dl.Models;
using DlConsole;

// dotnet run                      train for 5 epochs, evaluate, save to classifier.safetensors, load it back
// dotnet run -- --epochs 10       train longer
// dotnet run -- predict           classify the first test images with the saved model
const string CheckpointPath = "classifier.safetensors";
const int Batch = 32;

if (args is ["predict", ..])
    return Predict();

Dataset test = EmbeddedData.FashionTest();
int epochs = args is ["--epochs", var n, ..] && int.TryParse(n, out int e) && e > 0 ? e : 5;
Dataset train = EmbeddedData.FashionTrain();
Console.WriteLine($"Fashion-MNIST subset: {train.Count} training and {test.Count} test images ({EmbeddedData.Attribution})");
Console.WriteLine($"SIMD: {Acceleration.Describe()}");

var model = new Classifier(new ModelOptions { Seed = 1, MaxBatch = Batch });
Console.WriteLine(model.Summary());
var optimizer = new Adam(0.001f);
var loader = new DataLoader(train, Batch, shuffle: true, seed: 1);
for (int epoch = 1; epoch <= epochs; epoch++)
{
    model.Training = true;
    double lossSum = 0;
    long start = Stopwatch.GetTimestamp();
    while (loader.NextBatch(out ReadOnlySpan<float> images, out ReadOnlySpan<int> labels))
        lossSum += model.TrainStep(images, labels, labels.Length, optimizer) * labels.Length;
    double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
    Console.WriteLine($"epoch {epoch}/{epochs}  loss {lossSum / train.Count:0.0000}  test accuracy {Accuracy(model, test) * 100:0.00}%  ({seconds:0.00} s)");
}

model.Save(CheckpointPath);
var reloaded = new Classifier(new ModelOptions { MaxBatch = Batch });
reloaded.Load(CheckpointPath);
Console.WriteLine($"saved {CheckpointPath}; reloaded, its test accuracy is {Accuracy(reloaded, test) * 100:0.00}%");
Console.WriteLine("next: dotnet run -- predict");
return 0;

// Classifies the first test images with the saved model.
int Predict()
{
    if (!File.Exists(CheckpointPath))
    {
        Console.Error.WriteLine($"{CheckpointPath} not found: run `dotnet run` first to train and save the model.");
        return 1;
    }
    const int Count = 8;
    Dataset test = EmbeddedData.FashionTest(Count);   // decompresses only these images
    var model = new Classifier(new ModelOptions { MaxBatch = Count });
    model.Load(CheckpointPath);
    model.Training = false;
    var scores = new float[Count * EmbeddedData.Classes];
    model.Predict(test.X.AsSpan(0, Count * test.Features), scores, Count);
    for (int i = 0; i < Count; i++)
    {
        int predicted = Metrics.ArgMax(scores.AsSpan(i * EmbeddedData.Classes, EmbeddedData.Classes));
        string mark = predicted == test.Labels[i] ? "" : $"  (is {EmbeddedData.ClassNames[test.Labels[i]]})";
        Console.WriteLine($"test image {i}: {EmbeddedData.ClassNames[predicted]}{mark}");
    }
    return 0;
}

// The share of the images whose highest score is their label, predicted in batches in evaluation mode.
static double Accuracy(Classifier model, Dataset data)
{
    model.Training = false;
    var scores = new float[Batch * data.Classes];
    int correct = 0;
    for (int start = 0; start < data.Count; start += Batch)
    {
        int count = Math.Min(Batch, data.Count - start);
        model.Predict(data.X.AsSpan(start * data.Features, count * data.Features), scores.AsSpan(0, count * data.Classes), count);
        correct += Metrics.CorrectCount(scores.AsSpan(0, count * data.Classes), data.Classes, data.Labels.AsSpan(start, count));
    }
    return (double)correct / data.Count;
}
