using Dl.Dynamic;
using Dl.Models;

namespace Dl.Onnx.Tests;

/// <summary>python3-onnx's checker (with shape inference) on every exported model of Dl.Models, when /usr/bin/python3
/// imports onnx; and what an exported file holds (names, symbolic batch, opset).</summary>
[Trait("Category", "Once")]
public class CheckerTests
{
    private static ModelOptions Options => new() { Seed = 3, MaxBatch = 4 };

    private static IEnumerable<(string Name, byte[] Bytes)> AllModels()
    {
        yield return Export(new FashionMlp(Options));
        yield return Export(new WideMlp(Options));
        yield return Export(new XorNet(Options));
        yield return Export(new SigmoidNeuron(Options));
        yield return Export(new LogicPerceptron(Options));
        yield return Export(new LenetCnn(Options));
        yield return Export(new FashionCnn(Options));
        yield return Export(new ResidualCnn(Options));
        yield return Export(new InceptionCnn(Options));
        yield return Export(new ConvAutoencoder(Options));
        yield return Export(new LstmT35(Options));
        yield return Export(new RowLstm(Options));
        yield return Export(new RowGru(Options));
        yield return Export(new CharLstm(Options), [.. Enumerable.Repeat(1f, 100)]);
        yield return Export(new AttnS64(Options));
        yield return Export(new PatchTransformer(Options));
        yield return Export(new ReverseTransformer(Options));
        yield return Export(new Dgex(Options));
    }

    private static (string, byte[]) Export<TModel>(TModel model, float[]? sample = null) where TModel : IModel, IDynamicSource<TModel>
    {
        model.Training = false;
        return (model.Description.Name, OnnxExport.ToBytes(model, TModel.CreateShell(), new OnnxExportOptions { SampleInput = sample }));
    }

    [Fact]
    public void EveryModel_PassesOnnxChecker()
    {
        string dir = Directory.CreateTempSubdirectory("dl-onnx-").FullName;
        try
        {
            var paths = new List<string>();
            foreach ((string name, byte[] bytes) in AllModels())
            {
                string path = Path.Combine(dir, name + ".onnx");
                File.WriteAllBytes(path, bytes);
                paths.Add(path);
            }
            string? errors = OnnxHarness.PythonCheck(paths);
            if (errors is null) return;   // python3-onnx is not installed: ONNX Runtime's load (ModelExportTests) still checks
            Assert.True(errors.Length == 0, errors);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ExportedFile_HasPyTorchNamesSymbolicBatchAndLayerNodeNames()
    {
        var model = new FashionCnn(Options) { Training = false };
        string path = Path.Combine(Path.GetTempPath(), $"dl-onnx-{Environment.ProcessId}.onnx");
        try
        {
            model.ExportOnnx(path);
            var onnx = global::Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
            Assert.Equal(17, onnx.OpsetImport.Single().Version);
            string[] initializers = onnx.Graph.Initializer.Select(i => i.Name).ToArray();
            foreach (ParameterInfo p in model.Description.Parameters) Assert.Contains(p.Name, initializers);
            foreach (ParameterInfo s in model.Description.State) Assert.Contains(s.Name, initializers);
            Assert.Equal("batch", onnx.Graph.Input.Single().Type.TensorType.Shape.Dim[0].DimParam);
            Assert.Equal("batch", onnx.Graph.Output.Single().Type.TensorType.Shape.Dim[0].DimParam);
            Assert.Contains(onnx.Graph.Node, n => n.Name == "conv1/Conv" && n.OpType == "Conv");
            Assert.Contains(onnx.Graph.Node, n => n.Name == "bn1/BatchNormalization");
            Assert.Contains(onnx.Graph.Node, n => n.Name == "fc1/Gemm");
            Assert.DoesNotContain(onnx.Graph.Node, n => n.OpType == "Dropout");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
