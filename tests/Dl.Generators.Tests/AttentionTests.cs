using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;

namespace Dl.Tests;

/// <summary>Attention and transformer blocks at compile time: argument errors are diagnostics at the offending call, tensor
/// shape properties are constants, and self-attention reads its fused [q k v] projection in place with one kernel call.</summary>
public class AttentionTests
{
    private static (Diagnostic[] Diagnostics, string Generated, string Source) Run(string model) => GeneratorHarness.RunModel(model);

    private static Diagnostic Single(string model, string id, out string text) => GeneratorHarness.SingleDiagnostic(model, id, out text);

    /// <summary>Raw attention: q [5, 6], k [7, keyWidth], v [7, 4], a key mask [maskLength], <paramref name="heads"/> heads.</summary>
    private static string RawModel(int keyWidth, int maskLength, int heads) => $$"""
        [Model] partial class M {
            [Forward] Tensor F([Shape(5, 6)] Tensor q, [Shape(7, {{keyWidth}})] Tensor k, [Shape(7, 4)] Tensor v, [Shape({{maskLength}})] Tensor m) =>
                Linear(Flatten(Attention(q, k, v, heads: {{heads}}, keyMask: m)), 3, name: "fc");
        }
        """;

    [Fact]
    public void RawAttention_ValidShapes_Compile()
    {
        var (diagnostics, generated, _) = Run(RawModel(6, 7, 2));
        Assert.Empty(diagnostics);
        // Tq = 5, Tk = 7, d_k = 3, d_v = 2, not causal, scaled; the operands' own row widths.
        Assert.Contains("new global::Dl.Kernels.AttentionShape(2, 5, 7, 3, 2, false, true)", generated);
    }

    [Fact]
    public void HeadsNotDividingTheWidth_IsDL0012_AtTheCall()
    {
        var d = Single("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(5, 12)] Tensor x) => Linear(Mean(SelfAttention(x, 5, name: "sa"), 0), 2, name: "fc");
            }
            """, "DL0012", out string text);
        Assert.StartsWith("SelfAttention(x, 5", text);
        Assert.Contains("D = 12", d.GetMessage());

        var raw = Single(RawModel(6, 7, 4), "DL0012", out string rawText);
        Assert.StartsWith("Attention(q, k, v", rawText);
        Assert.Contains("4 heads", raw.GetMessage());
    }

    [Fact]
    public void HeadsNotDividingTheWidth_InAnEncoderLayer_IsReportedAtTheModelsCall()
    {
        var (diagnostics, _, source) = Run("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(5, 12)] Tensor x) => Linear(Mean(Transformer.EncoderLayer(x, 5, 16, name: "enc"), 0), 2, name: "fc");
            }
            """);
        var d = Assert.Single(diagnostics, x => x.Id == "DL0012");
        Assert.Contains("12", d.GetMessage());
        // The error is in the user's model source, not somewhere in the injected block.
        Assert.True(d.Location.GetLineSpan().Path == "Model0.cs", $"{d.Location} {d.GetMessage()}");
        Assert.Contains("Transformer.EncoderLayer", d.GetMessage());
        Assert.Contains("Transformer.EncoderLayer(x, 5, 16", source.Substring(0, d.Location.SourceSpan.End));
    }

    [Fact]
    public void AnUnbatchedQuery_IsDL0012_AtTheCall()
    {
        // A learned query (a parameter) is the same for every sample; the kernel reads per-sample queries.
        var (diagnostics, _, _) = Run("""
            [Model] partial class M {
                [Param(8)] Tensor query = null!;
                [Forward] Tensor F([Shape(5, 8)] Tensor h) => Linear(Attention(query, h, h), 2, name: "fc");
            }
            """);
        var d = Assert.Single(diagnostics, x => x.Id == "DL0012");
        Assert.Contains("per-sample", d.GetMessage());
    }

    [Fact]
    public void KeyMaskOfTheWrongLength_IsDL0012()
    {
        var d = Single(RawModel(6, 6, 2), "DL0012", out string text);
        Assert.StartsWith("Attention(q, k, v", text);
        Assert.Contains("[7]", d.GetMessage());
        Assert.Contains("[B, 6]", d.GetMessage());

        var self = Single("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(9, 8)] Tensor x, [Shape(8)] Tensor m) => Linear(Mean(SelfAttention(x, 2, name: "sa", keyMask: m), 0), 2, name: "fc");
            }
            """, "DL0012", out string selfText);
        Assert.StartsWith("SelfAttention(x, 2", selfText);
        Assert.Contains("[9]", self.GetMessage());
    }

    [Fact]
    public void NonConstantHeads_IsDL0004_AtTheArgument()
    {
        var d = Single("""
            [Model] partial class M {
                int heads = 2;
                [Forward] Tensor F([Shape(5, 12)] Tensor x) => Linear(Mean(SelfAttention(x, heads, name: "sa"), 0), 2, name: "fc");
            }
            """, "DL0004", out string text);
        Assert.Equal("heads", text);
        Assert.Contains("heads", d.GetMessage());
    }

    [Fact]
    public void QueriesAndKeysOfDifferentWidths_IsDL0003()
    {
        var d = Single(RawModel(8, 7, 2), "DL0003", out string text);
        Assert.StartsWith("Attention(q, k, v", text);
        Assert.Contains("[B, 5, 6]", d.GetMessage());
        Assert.Contains("[B, 7, 8]", d.GetMessage());
        Assert.Contains("6 and 8", d.GetMessage());
    }

    [Fact]
    public void CrossAttentionMemoryOfAnotherWidth_IsDL0003()
    {
        var d = Single("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(7, 8)] Tensor x, [Shape(11, 6)] Tensor mem) => Linear(Mean(CrossAttention(x, mem, 2, name: "ca"), 0), 2, name: "fc");
            }
            """, "DL0003", out string text);
        Assert.StartsWith("CrossAttention(x, mem", text);
        Assert.Contains("[B, 11, 6]", d.GetMessage());
    }

    [Fact]
    public void FeaturesOfATensor_IsACompileTimeConstant()
    {
        var (diagnostics, generated, _) = Run("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(5, 12)] Tensor x)
                {
                    var h = Linear(x, x.Features * 2, name: "wide");                 // 24
                    var back = Linear(Relu(h), x.Features, name: "back");           // 12
                    return Linear(Mean(back, 0), back.Features + x.Rank, name: "fc"); // 12 + 2
                }
            }
            """);
        Assert.Empty(diagnostics);
        Assert.Contains("new(\"wide.weight\", new int[] { 24, 12 }", generated);
        Assert.Contains("new(\"back.weight\", new int[] { 12, 24 }", generated);
        Assert.Contains("new(\"fc.weight\", new int[] { 14, 12 }", generated);
    }

    /// <summary>The attn_s64 workload (src/Dl.Models/Models/Attention.cs).</summary>
    private const string AttnS64 = """
        [Model] public sealed partial class AttnS64
        {
            [Forward]
            Tensor Forward([Shape(64, 64)] Tensor x) => Linear(Mean(Transformer.EncoderLayer(x, heads: 4, feedForward: 256, name: "layer"), 0), 10, name: "fc");
            [Loss]
            Tensor Loss(Tensor logits, [Labels(10)] Tensor y) => SoftmaxCrossEntropy(logits, y);
        }
        """;

    /// <summary>The top-level arguments of every call to <paramref name="method"/> in the generated code.</summary>
    private static List<string[]> Calls(string generated, string method)
    {
        var calls = new List<string[]>();
        for (int at = generated.IndexOf(method + "(", StringComparison.Ordinal); at >= 0; at = generated.IndexOf(method + "(", at + 1, StringComparison.Ordinal))
        {
            var args = new List<string>();
            int depth = 0, start = at + method.Length + 1;
            for (int i = start; ; i++)
            {
                char c = generated[i];
                if (c is '(' or '{' or '[') depth++;
                else if ((c is ')' or '}' or ']') && depth > 0) depth--;
                else if ((c == ',' && depth == 0) || c == ')')
                {
                    args.Add(Regex.Replace(generated[start..i].Trim(), @"\s+", " "));   // a long call is wrapped over lines
                    start = i + 1;
                    if (c == ')') break;
                }
            }
            calls.Add(args.ToArray());
        }
        return calls;
    }

    [Fact]
    public void AttnS64_OneAttentionCall_ReadsQkvInPlace()
    {
        var (diagnostics, generated, _) = Run(AttnS64);
        Assert.Empty(diagnostics);
        // One forward call; one backward call in each backward pass (the plain one and the one with the fused SGD update).
        var forward = Assert.Single(Calls(generated, "Attention.Forward"));
        var backward = Calls(generated, "Attention.Backward");
        Assert.Equal(Regex.Matches(generated, @"private void RunBackward\w*\(").Count, backward.Count);
        // q, k and v are columns 0, 64 and 128 of the fused projection's rows of 3·64: strides 192, one buffer read in place.
        const string shape = "new global::Dl.Kernels.AttentionShape(4, 64, 64, 16, 16, false, true) { QueryStride = 192, QueryOffset = 0, " +
            "KeyStride = 192, KeyOffset = 64, ValueStride = 192, ValueOffset = 128 }";
        Assert.Equal(shape, forward[0]);
        Assert.Equal("batch", forward[1]);
        Assert.Equal(forward[2], forward[3]);
        Assert.Equal(forward[2], forward[4]);
        Assert.Equal("default", forward[5]);   // no key mask
        string qkv = Regex.Match(forward[2], @"ref (\w+)").Groups[1].Value;
        Assert.Matches($@"ref float {qkv} = .*// layer\.self_attn\.qkv \[B, 12288\]", generated);
        foreach (var call in backward)
        {
            // Backward(shape, batch, q, k, v, mask, y, probs, dy, dq, dk, dv, accumulate, scratch, gemm): the inputs are the
            // same projection, and dq, dk, dv the same gradient buffer (disjoint columns).
            Assert.Equal(15, call.Length);
            Assert.Equal(shape, call[0]);
            Assert.Equal(forward[2], call[2]);
            Assert.Equal(call[2], call[3]);
            Assert.Equal(call[2], call[4]);
            Assert.Equal(call[9], call[10]);
            Assert.Equal(call[9], call[11]);
            Assert.Equal("false", call[12]);
        }
        // Nothing is sliced out of or copied from the projection: the only copies are Predict's output (whole or by
        // chunks) and a chunked training step's gradient sum.
        Assert.DoesNotContain("= slice(", generated);
        Assert.Equal(3, Regex.Matches(generated, @"CopyTo\(").Count);
        Assert.Contains(".CopyTo(output);", generated);
        Assert.Contains(".CopyTo(output.Slice(s0 * OutputSize));", generated);
        Assert.Contains("CopyTo(_gradSum, _grads);", generated);
        // PyTorch's parameter names.
        foreach (var p in new[] { "layer.self_attn.in_proj_weight", "layer.self_attn.in_proj_bias", "layer.self_attn.out_proj.weight",
                     "layer.self_attn.out_proj.bias", "layer.linear1.weight", "layer.linear2.bias", "layer.norm1.weight", "layer.norm2.bias" })
            Assert.Contains($"\"{p}\"", generated);
        Assert.Contains("new(\"layer.self_attn.in_proj_weight\", new int[] { 192, 64 }", generated);
    }

    [Fact]
    public void CrossAttention_ReadsKeysAndValuesInPlace_FromOneProjection()
    {
        var (diagnostics, generated, _) = Run("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(7, 8)] Tensor x, [Shape(11, 8)] Tensor mem, [Shape(11)] Tensor m) =>
                    Linear(Mean(CrossAttention(x, mem, 2, name: "ca", memoryMask: m), 0), 2, name: "fc");
                [Loss] Tensor L(Tensor y, [Labels(2)] Tensor t) => SoftmaxCrossEntropy(y, t);
            }
            """);
        Assert.Empty(diagnostics);
        var call = Assert.Single(Calls(generated, "Attention.Forward"));
        Assert.Equal("new global::Dl.Kernels.AttentionShape(2, 7, 11, 4, 4, false, true) { QueryStride = 8, QueryOffset = 0, " +
            "KeyStride = 16, KeyOffset = 0, ValueStride = 16, ValueOffset = 8 }", call[0]);
        Assert.Equal(call[3], call[4]);       // [k v] = memory·W_kvᵀ + b_kv, one product read in place
        Assert.NotEqual(call[2], call[3]);
        Assert.NotEqual("default", call[5]);  // the memory mask
    }

    [Fact]
    public void CausalDecoderLayer_AndDotScore_AreInTheShape()
    {
        var (diagnostics, generated, _) = Run("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(7, 16)] Tensor x, [Shape(11, 16)] Tensor mem) =>
                    Linear(Transformer.DecoderLayer(x, mem, 4, 24, name: "dec"), 5, name: "out");
                [Loss] Tensor L(Tensor y, [Labels(5), Shape(7)] Tensor t) => SoftmaxCrossEntropy(y, t);
            }
            [Model] partial class G {
                [Forward] Tensor F([Shape(9, 5)] Tensor x) { var h = Gru(x, 6, name: "gru"); return Attention(Last(h), h, h, score: AttentionScore.Dot); }
            }
            """);
        Assert.Empty(diagnostics);
        Assert.Contains("new global::Dl.Kernels.AttentionShape(4, 7, 7, 4, 4, true, true)", generated);     // masked self-attention
        Assert.Contains("new global::Dl.Kernels.AttentionShape(4, 7, 11, 4, 4, false, true)", generated);   // cross-attention
        Assert.Contains("new global::Dl.Kernels.AttentionShape(1, 1, 9, 6, 6, false, false)", generated);   // one query, dot score
        foreach (var p in new[] { "dec.self_attn.in_proj_weight", "dec.multihead_attn.in_proj_weight", "dec.norm3.weight", "dec.linear1.weight" })
            Assert.Contains($"\"{p}\"", generated);
    }
}
