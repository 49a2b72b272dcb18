using System.Runtime.Loader;
using Dl.Generators;
using Dl.Generators.Emit;
using Dl.Generators.Lowering;
using Dl.Generators.Model;

namespace Dl.Tests;

/// <summary>Checked kernels (<c>DlCheckedKernels=true</c>, <see cref="BufferAccess"/>): every buffer access of the generated
/// code goes through a span of exactly that buffer's extent. They must compute exactly what the release kernels compute,
/// and an index past a buffer must throw at the access.</summary>
public class CheckedKernelTests
{
    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Dl.sln"))) return dir.FullName;
        throw new InvalidOperationException("Dl.sln not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void ReleaseCode_HasNoCheckedAccesses_AndCheckedCode_NoUncheckedOnes()
    {
        const string model = GeneratorHarness.Usings + """
            namespace App;
            [Model] public partial class Net
            {
                [Forward] public Tensor Forward([Shape(12)] Tensor x) => Linear(Relu(Linear(x, 9, name: "fc1")), 3, name: "fc2");
                [Loss] public Tensor Loss(Tensor y, [Labels(3)] Tensor t) => SoftmaxCrossEntropy(y, t);
            }
            """;
        string release = ModelAssemblies.Generate(false, model).Generated.Single();
        string checkedCode = ModelAssemblies.Generate(true, model).Generated.Single();
        Assert.DoesNotContain("CheckedAccess", release);
        Assert.Contains("LoadUnsafe", release);
        // The run methods of checked code: spans only (the public members' chunk offsets into validated inputs aside).
        string kernels = checkedCode.Substring(checkedCode.IndexOf("private void RunForward", StringComparison.Ordinal));
        Assert.DoesNotContain("LoadUnsafe", kernels);
        Assert.DoesNotContain("StoreUnsafe", kernels);
        Assert.DoesNotContain("Ref.Add", kernels);
        Assert.Contains("CheckedAccess.Load", kernels);
    }

    /// <summary>Every model Dl.Models ships, generated with checked kernels, trains and predicts bit for bit like the
    /// release build of Dl.Models (batches 1, 3 and the largest, the fused SGD step and Adam, chunked where the model
    /// chunks).</summary>
    [Fact]
    [Trait("Category", "Once")]   // compiles every shipped model (about a minute): once per CI run, not per SIMD round
    public void ShippedModels_Checked_EqualRelease_BitForBit()
    {
        var sources = Directory.GetFiles(Path.Combine(RepositoryRoot(), "src", "Dl.Models", "Models"), "*.cs").Select(File.ReadAllText).ToArray();
        var (compilation, _) = ModelAssemblies.Generate(true, sources);
        var assembly = ModelAssemblies.Load(compilation, out var context);
        try
        {
            var shipped = typeof(Dl.Models.FashionMlp).Assembly;
            var models = ModelAssemblies.Models(assembly).ToList();
            Assert.True(models.Count >= 10, $"only {models.Count} models compiled");
            foreach (var type in models)
            {
                var releaseType = shipped.GetType(type.FullName!) ?? throw new InvalidOperationException(type.FullName + " is not in Dl.Models");
                var options = new Dl.ModelOptions { Seed = 5, MaxBatch = 5, Threads = 1, ChunkSamples = 2 };
                var a = ModelAssemblies.Create(type, options);
                var b = ModelAssemblies.Create(releaseType, options);
                SameSteps(a, b, type.Name);
            }
        }
        finally { context.Unload(); }
    }

    private static void SameSteps(Dl.IModel a, Dl.IModel b, string name)
    {
        var d = a.Description;
        var random = new Random(name.Length * 31 + 7);
        foreach (int batch in new[] { 1, 3, d.Name.Length > 0 ? a.MaxBatch : 1 })
        {
            float[] input = Inputs(d, batch, random);
            var output = (new float[batch * d.OutputShape.Aggregate(1, (x, y) => x * y)], new float[batch * d.OutputShape.Aggregate(1, (x, y) => x * y)]);
            if (d.Target is { } t)
            {
                Dl.IOptimizer[] optimizers = { new Dl.Sgd(0.01f), new Dl.Adam(1e-3f) }, twins = { new Dl.Sgd(0.01f), new Dl.Adam(1e-3f) };
                for (int o = 0; o < optimizers.Length; o++)
                {
                    float la, lb;
                    if (t.IsLabels)
                    {
                        int[] labels = Enumerable.Range(0, batch * t.Size).Select(_ => random.Next(t.Classes)).ToArray();
                        la = ((Dl.ITrainableModel<int>)a).TrainStep(input, labels, batch, optimizers[o]);
                        lb = ((Dl.ITrainableModel<int>)b).TrainStep(input, labels, batch, twins[o]);
                    }
                    else
                    {
                        float[] targets = Enumerable.Range(0, batch * t.Size).Select(_ => (float)random.NextDouble()).ToArray();
                        la = ((Dl.ITrainableModel<float>)a).TrainStep(input, targets, batch, optimizers[o]);
                        lb = ((Dl.ITrainableModel<float>)b).TrainStep(input, targets, batch, twins[o]);
                    }
                    Assert.True(BitConverter.SingleToInt32Bits(la) == BitConverter.SingleToInt32Bits(lb), $"{name} batch {batch}: loss {la} checked, {lb} release");
                }
            }
            a.Predict(input, output.Item1, batch);
            b.Predict(input, output.Item2, batch);
            Assert.True(output.Item1.SequenceEqual(output.Item2), $"{name} batch {batch}: predictions differ");
            Assert.True(a.Parameters.SequenceEqual(b.Parameters), $"{name} batch {batch}: parameters differ");
            Assert.True(a.State.SequenceEqual(b.State), $"{name} batch {batch}: running statistics differ");
        }
    }

    /// <summary>A batch of inputs laid out as the generated code reads them (each input's batch block after the previous
    /// input's); a model with an embedding gets token ids 0 and 1, valid for any vocabulary.</summary>
    internal static float[] Inputs(Dl.ModelDescription d, int batch, Random random)
    {
        bool tokens = d.Layers.Any(l => l.Op.Contains("mbedding", StringComparison.OrdinalIgnoreCase));
        var input = new List<float>();
        foreach (var i in d.Inputs)
            for (int k = 0; k < batch * i.Size; k++)
                input.Add(tokens ? random.Next(2) : (float)(random.NextDouble() * 2 - 1));
        return input.ToArray();
    }

    /// <summary>The checked kernels catch what the release ones would not: a plan whose element-wise step walks one
    /// operand with twice its stride (the kind of lowering bug that once made a broadcast output write past the arena)
    /// throws at the access in checked code.</summary>
    [Fact]
    public void AStrideThatLeavesItsBuffer_Throws_InCheckedCode()
    {
        const string model = GeneratorHarness.Usings + """
            namespace App;
            [Model] public partial class Net
            {
                [Forward] public Tensor Forward([Shape(20)] Tensor x) => Relu(Linear(x, 16, name: "fc1"));
            }
            """;
        var driver = GeneratorHarness.Driver().RunGenerators(ModelAssemblies.Compile(model));
        var spec = (ModelSpec)driver.GetRunResult().Results[0].TrackedSteps[TrackingNames.Spec].Single().Outputs.Single().Value;
        spec = Fusion.RewritePairs(spec);
        foreach (bool checkedKernels in new[] { false, true })
        {
            var plan = Dl.Generators.Lowering.PlanBuilder.Lower(spec);
            var map = plan.Forward.OfType<MapStep>().First(m => m.Dims[0].Batched);
            var operand = map.Operands.First(o => o.Buffer is { Batched: true } && o.Strides[0] > 0);
            operand.Strides[0] *= 2;   // the bug: sample s read at 2·s rows
            string generated = ModelEmitter.Emit(spec, plan, "test", checkedKernels);
            var assembly = ModelAssemblies.Load(ModelAssemblies.Compile(model, generated), out var context);
            try
            {
                var net = ModelAssemblies.Create(ModelAssemblies.Models(assembly).Single(), new Dl.ModelOptions { MaxBatch = 4 });
                var input = new float[4 * 20];
                var output = new float[4 * 16];
                var call = () => net.Predict(input, output, 4);
                if (checkedKernels)
                {
                    var e = Assert.ThrowsAny<Exception>(call);
                    Assert.True(e is IndexOutOfRangeException or ArgumentOutOfRangeException, e.ToString());
                    Assert.Contains("RunForward", e.StackTrace);
                }
                else call();   // reads another buffer's floats: no error, a wrong answer
            }
            finally { context.Unload(); }
        }
    }
}
