using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Dl.Kernels;

namespace Dl.Tests;

/// <summary>The convolution, pooling and batch-norm kernels against PyTorch (Debian's python3-torch) on the same random
/// inputs: <c>F.conv2d</c> (asymmetric padding through <c>F.pad</c>), <c>F.max_pool2d</c> (padding cells -inf through
/// <c>F.pad</c>), <c>F.avg_pool2d</c> (zero padding through <c>F.pad</c>, so the divisor is KH·KW: count_include_pad)
/// and <c>F.batch_norm</c> (training and eval, running statistics updated in place), forward and backward with a random
/// upstream gradient. PyTorch computes in float64 from the float32 inputs, so the float kernels are checked against
/// an exact reference (relative 1e-4 forward, 1e-3 gradients) and the double kernels tightly (1e-9).</summary>
/// <remarks>All cases go to one Python process (start-up costs 1–2 s): inputs are written as raw float32
/// little-endian files with a JSON list of the cases, results come back as raw float64 files.
/// Every output buffer is pre-filled with NaN (an element a kernel forgets to write shows), and every gradient is
/// checked both overwritten (accumulate: false) and added to a random prefill (accumulate: true).</remarks>
public class TorchReferenceTests
{
    private const double FloatForwardTol = 1e-4, FloatGradTol = 1e-3, DoubleTol = 1e-9;

    private const string Script = """
        import json, sys
        import numpy as np
        import torch
        import torch.nn.functional as F
        torch.set_num_threads(1)
        d = sys.argv[1]
        cases = json.load(open(d + '/cases.json'))
        lengths = []
        for i, c in enumerate(cases):
            raw = np.fromfile(f'{d}/in{i}.bin', dtype='<f4').astype(np.float64)
            a, off = [], 0
            for n in c['sizes']:
                a.append(torch.from_numpy(raw[off:off + n].copy())); off += n
            op = c['op']
            if op == 'conv':
                b, ci, h, w, co = c['b'], c['cin'], c['h'], c['w'], c['cout']
                x = a[0].reshape(b, ci, h, w).requires_grad_()
                wt = a[1].reshape(co, ci, c['kh'], c['kw']).requires_grad_()
                bias = a[2].requires_grad_() if c['bias'] else None
                y = F.conv2d(F.pad(x, (c['pl'], c['pr'], c['pt'], c['pb'])), wt, bias, stride=(c['sh'], c['sw']))
                y.backward(a[3].reshape(y.shape))
                outs = [y, x.grad, wt.grad, bias.grad if bias is not None else torch.zeros(0)]
            elif op in ('maxpool', 'avgpool'):
                x = a[0].reshape(c['b'], c['c'], c['h'], c['w']).requires_grad_()
                pad = (c['pl'], c['pr'], c['pt'], c['pb'])
                if op == 'maxpool':
                    y = F.max_pool2d(F.pad(x, pad, value=float('-inf')), (c['kh'], c['kw']), stride=(c['sh'], c['sw']))
                else:
                    y = F.avg_pool2d(F.pad(x, pad), (c['kh'], c['kw']), stride=(c['sh'], c['sw']), count_include_pad=True)
                y.backward(a[1].reshape(y.shape))
                outs = [y, x.grad]
            elif op == 'bn':
                b, ch, s = c['b'], c['c'], c['s']
                x = a[0].reshape(b, ch, s).requires_grad_()
                gamma, beta = a[1].requires_grad_(), a[2].requires_grad_()
                rm, rv = a[3].clone(), a[4].clone()
                y = F.batch_norm(x, rm, rv, gamma, beta, training=c['training'], momentum=c['momentum'], eps=c['eps'])
                y.backward(a[5].reshape(y.shape))
                xd = x.detach()
                mean = xd.mean(dim=(0, 2))
                inv_std = 1.0 / torch.sqrt(xd.var(dim=(0, 2), unbiased=False) + c['eps'])
                outs = [y, x.grad, gamma.grad, beta.grad, rm, rv, mean, inv_std]
            else:
                raise ValueError('unknown op ' + op)
            flat = [o.detach().reshape(-1).numpy().astype('<f8') for o in outs]
            np.concatenate(flat).tofile(f'{d}/out{i}.bin')
            lengths.append([int(o.size) for o in flat])
        json.dump(lengths, open(d + '/out.json', 'w'))
        """;

    /// <summary>One PyTorch computation: op name, parameters (the JSON the script reads), float32 inputs, and the
    /// float64 outputs PyTorch returned.</summary>
    private sealed class TorchCase(string op, string name, Dictionary<string, object> parameters, float[][] inputs)
    {
        public string Op { get; } = op;
        public string Name { get; } = name;
        public Dictionary<string, object> Parameters { get; } = parameters;
        public float[][] Inputs { get; } = inputs;
        public double[][] Outputs { get; set; } = [];
        public int this[string key] => (int)Parameters[key];
    }

    private static readonly Lazy<List<TorchCase>> Cases = new(() => RunTorch(BuildCases()));

    // ---- cases -------------------------------------------------------------------------------------------------

    private static float[] Normal(Random r, int n, double mean = 0, double sd = 1)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++)
        {
            double u1 = 1.0 - r.NextDouble(), u2 = r.NextDouble();
            v[i] = (float)(mean + sd * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        return v;
    }

    private static float[] Uniform(Random r, int n, double lo, double hi)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)(lo + (hi - lo) * r.NextDouble());
        return v;
    }

    /// <summary>Small integers 0..2: many exact ties inside pooling windows.</summary>
    private static float[] Quantized(Random r, int n)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = r.Next(3);
        return v;
    }

    private static Window2d Geometry(TorchCase c, string channels) => new(c[channels], c["h"], c["w"], c["kh"], c["kw"],
        c["sh"], c["sw"], c["pt"], c["pb"], c["pl"], c["pr"]);

    private static List<TorchCase> BuildCases()
    {
        var cases = new List<TorchCase>();
        var rnd = new Random(20261121);

        // batch, cin, h, w, cout, kh, kw, sh, sw, pad top, bottom, left, right, bias
        int[][] convs =
        [
            [1, 1, 28, 28, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1],     // cnn_lenetish conv1
            [3, 8, 14, 14, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1],    // cnn_lenetish conv2
            [2, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1],   // FashionCnn conv2
            [3, 3, 7, 9, 5, 3, 3, 2, 2, 1, 1, 1, 1, 1],       // odd sizes, stride 2
            [1, 5, 13, 11, 13, 3, 3, 3, 3, 0, 2, 1, 0, 1],    // stride 3, asymmetric padding
            [3, 13, 9, 7, 3, 2, 3, 3, 2, 1, 0, 0, 2, 1],      // kernel 2x3, stride (3,2), asymmetric padding
            [32, 3, 13, 11, 5, 1, 1, 1, 1, 0, 0, 0, 0, 1],    // 1x1
            [3, 5, 7, 9, 13, 1, 1, 2, 3, 0, 0, 0, 0, 0],      // 1x1 strided, no bias
            [32, 5, 13, 11, 13, 3, 3, 2, 2, 1, 1, 1, 1, 1],   // batch 32, stride 2
            [3, 3, 11, 13, 5, 5, 5, 1, 1, 2, 2, 2, 2, 1],     // 5x5
            [1, 3, 2, 3, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1],       // image smaller than the kernel (padding makes it fit)
            [3, 5, 1, 29, 13, 1, 3, 1, 2, 0, 0, 1, 2, 1],     // conv1d (H = 1), stride 2, asymmetric padding
            [32, 13, 1, 17, 3, 1, 5, 1, 1, 0, 0, 2, 2, 0],    // conv1d, batch 32, no bias
        ];
        foreach (int[] p in convs)
        {
            var d = new Dictionary<string, object>
            {
                ["b"] = p[0], ["cin"] = p[1], ["h"] = p[2], ["w"] = p[3], ["cout"] = p[4], ["kh"] = p[5], ["kw"] = p[6],
                ["sh"] = p[7], ["sw"] = p[8], ["pt"] = p[9], ["pb"] = p[10], ["pl"] = p[11], ["pr"] = p[12], ["bias"] = p[13] == 1,
            };
            string name = $"conv b{p[0]} {p[1]}x{p[2]}x{p[3]} -> {p[4]} k{p[5]}x{p[6]} s({p[7]},{p[8]}) " +
                          $"pad(t{p[9]},b{p[10]},l{p[11]},r{p[12]}){(p[13] == 1 ? "" : " no bias")}";
            var g = new Window2d(p[1], p[2], p[3], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12]);
            int cout = p[4], batch = p[0];
            float[] w = Normal(rnd, cout * g.ColRows, 0, 1 / Math.Sqrt(g.ColRows));
            cases.Add(new TorchCase("conv", name, d,
            [
                Normal(rnd, batch * g.InSize), w, p[13] == 1 ? Normal(rnd, cout, 0, 0.5) : [],
                Normal(rnd, batch * cout * g.OutPlane),
            ]));
        }

        // batch, c, h, w, kh, kw, sh, sw, pad top, bottom, left, right, quantized (ties)
        int[][] pools =
        [
            [3, 8, 28, 28, 2, 2, 2, 2, 0, 0, 0, 0, 0],     // cnn_lenetish pool 1
            [1, 3, 7, 9, 2, 2, 2, 2, 0, 0, 0, 0, 0],       // odd sizes: the last row/column is dropped
            [3, 5, 13, 11, 3, 3, 2, 2, 1, 1, 1, 1, 0],     // overlapping windows, padding
            [32, 13, 9, 7, 3, 3, 3, 3, 0, 2, 1, 0, 0],     // stride 3, asymmetric padding, batch 32
            [3, 5, 13, 11, 2, 3, 3, 2, 1, 0, 0, 2, 0],     // kernel 2x3, stride (3,2)
            [3, 5, 9, 11, 3, 3, 1, 1, 1, 1, 1, 1, 1],      // ties, overlapping windows
            [3, 3, 8, 8, 2, 2, 2, 2, 0, 0, 0, 0, 1],       // ties, non-overlapping
            [3, 5, 1, 29, 1, 3, 1, 2, 0, 0, 1, 1, 0],      // 1-D (H = 1)
            [3, 3, 7, 9, 1, 1, 2, 2, 0, 0, 0, 0, 0],       // 1x1 strided
        ];
        foreach (string op in new[] { "maxpool", "avgpool" })
        {
            foreach (int[] p in pools)
            {
                var d = new Dictionary<string, object>
                {
                    ["b"] = p[0], ["c"] = p[1], ["h"] = p[2], ["w"] = p[3], ["kh"] = p[4], ["kw"] = p[5],
                    ["sh"] = p[6], ["sw"] = p[7], ["pt"] = p[8], ["pb"] = p[9], ["pl"] = p[10], ["pr"] = p[11],
                };
                string name = $"{op} b{p[0]} {p[1]}x{p[2]}x{p[3]} k{p[4]}x{p[5]} s({p[6]},{p[7]}) pad(t{p[8]},b{p[9]},l{p[10]},r{p[11]})" +
                              (p[12] == 1 ? " ties" : "");
                var g = new Window2d(p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11]);
                int batch = p[0];
                cases.Add(new TorchCase(op, name, d,
                    [p[12] == 1 ? Quantized(rnd, batch * g.InSize) : Normal(rnd, batch * g.InSize), Normal(rnd, batch * p[1] * g.OutPlane)]));
            }
        }

        // batch, channels, spatial, training, momentum, eps
        (int B, int C, int S, bool Train, float Momentum, float Eps)[] norms =
        [
            (4, 32, 784, true, 0.1f, 1e-5f),    // FashionCnn bn1
            (32, 8, 196, true, 0.1f, 1e-5f),
            (3, 13, 143, true, 0.1f, 1e-5f),
            (1, 5, 63, true, 0.1f, 1e-5f),      // batch 1, spatial > 1
            (32, 13, 1, true, 0.3f, 1e-3f),     // dense features [batch, C]
            (3, 3, 7, true, 0.1f, 1e-5f),
            (2, 1, 1, true, 0.1f, 1e-5f),       // N = 2: unbiased factor 2
            (3, 13, 143, false, 0.1f, 1e-5f),
            (1, 5, 63, false, 0.1f, 1e-5f),
            (32, 13, 1, false, 0.1f, 1e-3f),
            (1, 3, 1, false, 0.1f, 1e-5f),      // eval works for a single value
        ];
        foreach (var (b, ch, s, train, momentum, eps) in norms)
        {
            var d = new Dictionary<string, object>
            {
                ["b"] = b, ["c"] = ch, ["s"] = s, ["training"] = train, ["momentum"] = (double)momentum, ["eps"] = (double)eps,
            };
            cases.Add(new TorchCase("bn", $"batchnorm {(train ? "train" : "eval")} b{b} c{ch} s{s} momentum {momentum} eps {eps}", d,
            [
                Normal(rnd, b * ch * s, 1.5, 2), Normal(rnd, ch, 1, 0.5), Normal(rnd, ch), Normal(rnd, ch, 0, 0.5),
                Uniform(rnd, ch, 0.5, 4), Normal(rnd, b * ch * s),
            ]));
        }
        return cases;
    }

    // ---- PyTorch process ---------------------------------------------------------------------------------------

    private static List<TorchCase> RunTorch(List<TorchCase> cases)
    {
        var dir = Directory.CreateTempSubdirectory("dl-torchref");
        try
        {
            string script = Path.Combine(dir.FullName, "reference.py");
            File.WriteAllText(script, Script);
            var manifest = new List<Dictionary<string, object>>();
            for (int i = 0; i < cases.Count; i++)
            {
                var entry = new Dictionary<string, object>(cases[i].Parameters)
                {
                    ["op"] = cases[i].Op, ["sizes"] = cases[i].Inputs.Select(a => a.Length).ToArray(),
                };
                manifest.Add(entry);
                using var file = File.Create(Path.Combine(dir.FullName, $"in{i}.bin"));
                foreach (float[] a in cases[i].Inputs) file.Write(MemoryMarshal.AsBytes(a.AsSpan()));
            }
            File.WriteAllText(Path.Combine(dir.FullName, "cases.json"), JsonSerializer.Serialize(manifest));

            var psi = new ProcessStartInfo("/usr/bin/python3", [script, dir.FullName])
            { RedirectStandardOutput = true, RedirectStandardError = true };
            Process process;
            try { process = Process.Start(psi) ?? throw new InvalidOperationException("Process.Start returned null"); }
            catch (Exception e)
            {
                throw new InvalidOperationException($"could not start /usr/bin/python3 for the PyTorch reference (CI installs python3-torch): {e.Message}", e);
            }
            using (process)
            {
                Task<string> stderr = process.StandardError.ReadToEndAsync(), stdout = process.StandardOutput.ReadToEndAsync();
                if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
                {
                    process.Kill(entireProcessTree: true);
                    throw new TimeoutException("the PyTorch reference script did not finish within 5 minutes");
                }
                process.WaitForExit();
                if (process.ExitCode != 0)
                {
                    throw new InvalidOperationException($"the PyTorch reference script failed with exit code {process.ExitCode} " +
                        $"(CI installs python3-torch and python3-numpy):\n{stderr.Result}{stdout.Result}");
                }
            }

            int[][] lengths = JsonSerializer.Deserialize<int[][]>(File.ReadAllText(Path.Combine(dir.FullName, "out.json")))
                              ?? throw new InvalidDataException("out.json is empty");
            if (lengths.Length != cases.Count)
                throw new InvalidDataException($"PyTorch returned {lengths.Length} results for {cases.Count} cases");
            for (int i = 0; i < cases.Count; i++)
            {
                byte[] raw = File.ReadAllBytes(Path.Combine(dir.FullName, $"out{i}.bin"));
                ReadOnlySpan<double> all = MemoryMarshal.Cast<byte, double>(raw);
                var outputs = new double[lengths[i].Length][];
                int offset = 0;
                for (int k = 0; k < outputs.Length; k++)
                {
                    outputs[k] = all.Slice(offset, lengths[i][k]).ToArray();
                    offset += lengths[i][k];
                }
                cases[i].Outputs = outputs;
            }
            return cases;
        }
        finally { dir.Delete(true); }
    }

    // ---- comparison --------------------------------------------------------------------------------------------

    /// <summary>Element i passes when |actual - expected| ≤ tol · (|expected| + max(rms(expected), floor)): relative where
    /// the value is large, and relative to the array's typical size near zero (sums with cancellation). floor is the
    /// typical size of the terms that cancel, for results that are zero up to rounding (batch norm's dx at N = 2).</summary>
    private static void Check(List<string> errors, string what, ReadOnlySpan<double> actual, ReadOnlySpan<double> expected,
        double tol, int[] shape, double floor = 0)
    {
        if (actual.Length != expected.Length)
        {
            errors.Add($"{what}: {actual.Length} elements, PyTorch has {expected.Length}");
            return;
        }
        double sq = 0;
        foreach (double e in expected) sq += e * e;
        double rms = Math.Max(expected.Length == 0 ? 0 : Math.Sqrt(sq / expected.Length), floor);
        int bad = 0, worst = -1;
        double worstRatio = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double err = Math.Abs(actual[i] - expected[i]), allowed = tol * (Math.Abs(expected[i]) + rms);
            if (err <= allowed) continue;   // NaN fails here
            bad++;
            double ratio = double.IsNaN(err) ? double.PositiveInfinity : err / Math.Max(allowed, double.Epsilon);
            if (worst < 0 || ratio > worstRatio) { worst = i; worstRatio = ratio; }
        }
        if (bad == 0) return;
        errors.Add(string.Create(CultureInfo.InvariantCulture,
            $"{what}: {bad} of {actual.Length} elements off; worst at {Index(worst, shape)}: got {actual[worst]:G9}, " +
            $"PyTorch {expected[worst]:G9} (rms {rms:G3}, tolerance {tol:G2} relative)"));
    }

    private static string Index(int flat, int[] shape)
    {
        var idx = new int[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            idx[d] = flat % Math.Max(shape[d], 1);
            flat /= Math.Max(shape[d], 1);
        }
        return "[" + string.Join(",", idx) + "]";
    }

    private static void Check(List<string> errors, string what, ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, double tol,
        int[] shape, double floor = 0)
    {
        var a = new double[actual.Length];
        for (int i = 0; i < a.Length; i++) a[i] = actual[i];
        Check(errors, what, a, expected, tol, shape, floor);
    }

    /// <summary>Checks a gradient written with accumulate: true onto <paramref name="prefill"/>: actual - prefill
    /// against PyTorch.</summary>
    private static void CheckAccumulated(List<string> errors, string what, ReadOnlySpan<float> actual, float[] prefill,
        ReadOnlySpan<double> expected, double tol, int[] shape, double floor = 0)
    {
        var a = new double[actual.Length];
        for (int i = 0; i < a.Length; i++) a[i] = (double)actual[i] - prefill[i];
        Check(errors, what + " (accumulate)", a, expected, tol, shape, floor);
    }

    private static void CheckAccumulated(List<string> errors, string what, ReadOnlySpan<double> actual, double[] prefill,
        ReadOnlySpan<double> expected, double tol, int[] shape, double floor = 0)
    {
        var a = new double[actual.Length];
        for (int i = 0; i < a.Length; i++) a[i] = actual[i] - prefill[i];
        Check(errors, what + " (accumulate)", a, expected, tol, shape, floor);
    }

    private static float[] Nan(int n) { var v = new float[n]; v.AsSpan().Fill(float.NaN); return v; }
    private static double[] NanD(int n) { var v = new double[n]; v.AsSpan().Fill(double.NaN); return v; }
    private static double[] ToDouble(float[] a) => Array.ConvertAll(a, v => (double)v);

    /// <summary>A random prefill for accumulate checks (same for float and double), and copies of it.</summary>
    private static float[] Prefill(int n, int seed) => Uniform(new Random(seed), n, -1, 1);

    private static void Report(List<string> errors, int cases, string op)
    {
        Assert.True(cases > 0, $"no {op} cases");
        if (errors.Count == 0) return;
        var sb = new StringBuilder($"{errors.Count} mismatches against PyTorch in {cases} {op} cases:\n");
        foreach (string e in errors.Take(60)) sb.Append("  ").Append(e).Append('\n');
        if (errors.Count > 60) sb.Append($"  ... and {errors.Count - 60} more\n");
        Assert.Fail(sb.ToString());
    }

    private static void Guard(List<string> errors, string what, Action action)
    {
        try { action(); }
        catch (Exception e) { errors.Add($"{what}: threw {e.GetType().Name}: {e.Message}"); }
    }

    // ---- tests -------------------------------------------------------------------------------------------------

    [Fact]
    public void Conv2d_MatchesTorch()
    {
        var errors = new List<string>();
        int count = 0;
        using var ctx = new GemmContext(1);
        foreach (TorchCase c in Cases.Value.Where(c => c.Op == "conv"))
        {
            count++;
            Window2d g = Geometry(c, "cin");
            int batch = c["b"], cout = c["cout"];
            float[] x = c.Inputs[0], w = c.Inputs[1], bias = c.Inputs[2], dy = c.Inputs[3];
            double[] ey = c.Outputs[0], edx = c.Outputs[1], edw = c.Outputs[2], edb = c.Outputs[3];
            int[] yShape = [batch, cout, g.OutH, g.OutW], xShape = [batch, g.Channels, g.Height, g.Width];
            int[] wShape = [cout, g.Channels, g.KernelH, g.KernelW], bShape = [bias.Length];
            string n = c.Name;
            int colLength = batch * Conv2d.ColumnsPerSample(g);
            float[] pdx = Prefill(x.Length, 1), pdw = Prefill(w.Length, 2), pdb = Prefill(bias.Length, 3);

            // Direct
            Guard(errors, n + " ForwardDirect", () =>
            {
                float[] y = Nan(ey.Length);
                Conv2d.ForwardDirect(g, cout, batch, x, w, bias, y);
                Check(errors, n + " ForwardDirect y", y, ey, FloatForwardTol, yShape);
            });
            Guard(errors, n + " BackwardDataDirect", () =>
            {
                float[] dx = Nan(x.Length);
                Conv2d.BackwardDataDirect(g, cout, batch, dy, w, dx, accumulate: false);
                Check(errors, n + " BackwardDataDirect dx", dx, edx, FloatGradTol, xShape);
                dx = (float[])pdx.Clone();
                Conv2d.BackwardDataDirect(g, cout, batch, dy, w, dx, accumulate: true);
                CheckAccumulated(errors, n + " BackwardDataDirect dx", dx, pdx, edx, FloatGradTol, xShape);
            });
            Guard(errors, n + " BackwardWeightDirect", () =>
            {
                float[] dw = Nan(w.Length), db = Nan(bias.Length);
                Conv2d.BackwardWeightDirect(g, cout, batch, x, dy, dw, db, accumulate: false);
                Check(errors, n + " BackwardWeightDirect dw", dw, edw, FloatGradTol, wShape);
                Check(errors, n + " BackwardWeightDirect dbias", db, edb, FloatGradTol, bShape);
                dw = (float[])pdw.Clone(); db = (float[])pdb.Clone();
                Conv2d.BackwardWeightDirect(g, cout, batch, x, dy, dw, db, accumulate: true);
                CheckAccumulated(errors, n + " BackwardWeightDirect dw", dw, pdw, edw, FloatGradTol, wShape);
                CheckAccumulated(errors, n + " BackwardWeightDirect dbias", db, pdb, edb, FloatGradTol, bShape);
            });

            // Im2Col: forward fills col, BackwardWeight reuses it (colValid), then BackwardData uses col as its workspace,
            // then BackwardWeight rebuilds it from a NaN-filled workspace (colValid false).
            Guard(errors, n + " Im2Col", () =>
            {
                float[] col = Nan(colLength), y = Nan(ey.Length);
                Conv2d.ForwardIm2Col(g, cout, batch, x, w, bias, y, col, ctx);
                Check(errors, n + " ForwardIm2Col y", y, ey, FloatForwardTol, yShape);
                float[] dw = Nan(w.Length), db = Nan(bias.Length);
                Conv2d.BackwardWeightIm2Col(g, cout, batch, x, dy, dw, db, accumulate: false, col, colValid: true, ctx);
                Check(errors, n + " BackwardWeightIm2Col(colValid) dw", dw, edw, FloatGradTol, wShape);
                Check(errors, n + " BackwardWeightIm2Col(colValid) dbias", db, edb, FloatGradTol, bShape);

                float[] dx = Nan(x.Length);
                col.AsSpan().Fill(float.NaN);
                Conv2d.BackwardDataIm2Col(g, cout, batch, dy, w, dx, accumulate: false, col, ctx);
                Check(errors, n + " BackwardDataIm2Col dx", dx, edx, FloatGradTol, xShape);
                dx = (float[])pdx.Clone();
                col.AsSpan().Fill(float.NaN);
                Conv2d.BackwardDataIm2Col(g, cout, batch, dy, w, dx, accumulate: true, col, ctx);
                CheckAccumulated(errors, n + " BackwardDataIm2Col dx", dx, pdx, edx, FloatGradTol, xShape);

                dw = (float[])pdw.Clone(); db = (float[])pdb.Clone();
                col.AsSpan().Fill(float.NaN);
                Conv2d.BackwardWeightIm2Col(g, cout, batch, x, dy, dw, db, accumulate: true, col, colValid: false, ctx);
                CheckAccumulated(errors, n + " BackwardWeightIm2Col(rebuilt) dw", dw, pdw, edw, FloatGradTol, wShape);
                CheckAccumulated(errors, n + " BackwardWeightIm2Col(rebuilt) dbias", db, pdb, edb, FloatGradTol, bShape);
            });

            // Double reference
            Guard(errors, n + " double", () =>
            {
                double[] xd = ToDouble(x), wd = ToDouble(w), bd = ToDouble(bias), dyd = ToDouble(dy);
                double[] y = NanD(ey.Length);
                Conv2d.Forward(g, cout, batch, xd, wd, bd, y);
                Check(errors, n + " Forward(double) y", y, ey, DoubleTol, yShape);
                double[] dx = NanD(x.Length);
                Conv2d.BackwardData(g, cout, batch, dyd, wd, dx, accumulate: false);
                Check(errors, n + " BackwardData(double) dx", dx, edx, DoubleTol, xShape);
                double[] pdxd = ToDouble(pdx);
                dx = (double[])pdxd.Clone();
                Conv2d.BackwardData(g, cout, batch, dyd, wd, dx, accumulate: true);
                CheckAccumulated(errors, n + " BackwardData(double) dx", dx, pdxd, edx, DoubleTol, xShape);
                double[] dw = NanD(w.Length), db = NanD(bias.Length);
                Conv2d.BackwardWeight(g, cout, batch, xd, dyd, dw, db, accumulate: false);
                Check(errors, n + " BackwardWeight(double) dw", dw, edw, DoubleTol, wShape);
                Check(errors, n + " BackwardWeight(double) dbias", db, edb, DoubleTol, bShape);
                double[] pdwd = ToDouble(pdw), pdbd = ToDouble(pdb);
                dw = (double[])pdwd.Clone(); db = (double[])pdbd.Clone();
                Conv2d.BackwardWeight(g, cout, batch, xd, dyd, dw, db, accumulate: true);
                CheckAccumulated(errors, n + " BackwardWeight(double) dw", dw, pdwd, edw, DoubleTol, wShape);
                CheckAccumulated(errors, n + " BackwardWeight(double) dbias", db, pdbd, edb, DoubleTol, bShape);
            });
        }
        Report(errors, count, "conv2d");
    }

    [Fact]
    public void MaxPool2d_MatchesTorch() => Pool("maxpool");

    [Fact]
    public void AvgPool2d_MatchesTorch() => Pool("avgpool");

    private static void Pool(string op)
    {
        var errors = new List<string>();
        int count = 0;
        bool max = op == "maxpool";
        foreach (TorchCase c in Cases.Value.Where(c => c.Op == op))
        {
            count++;
            Window2d g = Geometry(c, "c");
            int batch = c["b"];
            float[] x = c.Inputs[0], dy = c.Inputs[1];
            double[] ey = c.Outputs[0], edx = c.Outputs[1];
            int[] yShape = [batch, g.Channels, g.OutH, g.OutW], xShape = [batch, g.Channels, g.Height, g.Width];
            string n = c.Name;
            float[] pdx = Prefill(x.Length, 4);
            Guard(errors, n + " float", () =>
            {
                float[] y = Nan(ey.Length);
                if (max) Pool2d.MaxForward(g, batch, x, y); else Pool2d.AvgForward(g, batch, x, y);
                Check(errors, n + " forward y", y, ey, FloatForwardTol, yShape);
                float[] dx = Nan(x.Length);
                if (max) Pool2d.MaxBackward(g, batch, x, y, dy, dx, accumulate: false);
                else Pool2d.AvgBackward(g, batch, dy, dx, accumulate: false);
                Check(errors, n + " backward dx", dx, edx, FloatGradTol, xShape);
                dx = (float[])pdx.Clone();
                if (max) Pool2d.MaxBackward(g, batch, x, y, dy, dx, accumulate: true);
                else Pool2d.AvgBackward(g, batch, dy, dx, accumulate: true);
                CheckAccumulated(errors, n + " backward dx", dx, pdx, edx, FloatGradTol, xShape);
            });
            Guard(errors, n + " double", () =>
            {
                double[] xd = ToDouble(x), dyd = ToDouble(dy), y = NanD(ey.Length);
                if (max) Pool2d.MaxForward(g, batch, xd, y); else Pool2d.AvgForward(g, batch, xd, y);
                Check(errors, n + " forward(double) y", y, ey, DoubleTol, yShape);
                double[] dx = NanD(x.Length);
                if (max) Pool2d.MaxBackward(g, batch, xd, y, dyd, dx, accumulate: false);
                else Pool2d.AvgBackward(g, batch, dyd, dx, accumulate: false);
                Check(errors, n + " backward(double) dx", dx, edx, DoubleTol, xShape);
                double[] pdxd = ToDouble(pdx);
                dx = (double[])pdxd.Clone();
                if (max) Pool2d.MaxBackward(g, batch, xd, y, dyd, dx, accumulate: true);
                else Pool2d.AvgBackward(g, batch, dyd, dx, accumulate: true);
                CheckAccumulated(errors, n + " backward(double) dx", dx, pdxd, edx, DoubleTol, xShape);
            });
        }
        Report(errors, count, op);
    }

    [Fact]
    public void BatchNormTrain_MatchesTorch() => Norm(training: true);

    [Fact]
    public void BatchNormEval_MatchesTorch() => Norm(training: false);

    private static void Norm(bool training)
    {
        var errors = new List<string>();
        int count = 0;
        foreach (TorchCase c in Cases.Value.Where(c => c.Op == "bn" && (bool)c.Parameters["training"] == training))
        {
            count++;
            int batch = c["b"], ch = c["c"], s = c["s"];
            float momentum = (float)(double)c.Parameters["momentum"], eps = (float)(double)c.Parameters["eps"];
            float[] x = c.Inputs[0], gamma = c.Inputs[1], beta = c.Inputs[2], rm0 = c.Inputs[3], rv0 = c.Inputs[4], dy = c.Inputs[5];
            double[] ey = c.Outputs[0], edx = c.Outputs[1], edg = c.Outputs[2], edb = c.Outputs[3];
            double[] erm = c.Outputs[4], erv = c.Outputs[5], emean = c.Outputs[6], einv = c.Outputs[7];
            int[] xShape = [batch, ch, s], cShape = [ch];
            string n = c.Name;
            // dx = γ·invStd·(dy - mean(dy) - x̂·mean(dy·x̂)) (training) cancels to rounding noise when N is tiny (N = 2:
            // x̂ = ±1 and dx = 0); its terms have the size of γ·invStd·dy.
            double dxFloor = Math.Sqrt(dy.Sum(v => (double)v * v) / dy.Length)
                             * Enumerable.Range(0, ch).Max(k => Math.Abs(gamma[k] * (training ? einv[k] : 1 / Math.Sqrt(rv0[k] + (double)eps))));
            float[] pdx = Prefill(x.Length, 5), pdg = Prefill(ch, 6), pdb = Prefill(ch, 7);
            Guard(errors, n + " float", () =>
            {
                float[] y = Nan(x.Length), dx = Nan(x.Length), dg = Nan(ch), db = Nan(ch);
                if (training)
                {
                    float[] mean = Nan(ch), inv = Nan(ch), rm = (float[])rm0.Clone(), rv = (float[])rv0.Clone();
                    BatchNorm.ForwardTrain(batch, ch, s, x, gamma, beta, y, mean, inv, rm, rv, momentum, eps);
                    Check(errors, n + " ForwardTrain y", y, ey, FloatForwardTol, xShape);
                    Check(errors, n + " ForwardTrain mean", mean, emean, FloatForwardTol, cShape);
                    Check(errors, n + " ForwardTrain invStd", inv, einv, FloatForwardTol, cShape);
                    Check(errors, n + " ForwardTrain running mean", rm, erm, FloatForwardTol, cShape);
                    Check(errors, n + " ForwardTrain running var", rv, erv, FloatForwardTol, cShape);
                    BatchNorm.BackwardTrain(batch, ch, s, x, gamma, mean, inv, dy, dx, dg, db, accumulate: false);
                    Check(errors, n + " BackwardTrain dx", dx, edx, FloatGradTol, xShape, dxFloor);
                    Check(errors, n + " BackwardTrain dgamma", dg, edg, FloatGradTol, cShape);
                    Check(errors, n + " BackwardTrain dbeta", db, edb, FloatGradTol, cShape);
                    dx = (float[])pdx.Clone(); dg = (float[])pdg.Clone(); db = (float[])pdb.Clone();
                    BatchNorm.BackwardTrain(batch, ch, s, x, gamma, mean, inv, dy, dx, dg, db, accumulate: true);
                }
                else
                {
                    BatchNorm.ForwardEval(batch, ch, s, x, gamma, beta, y, rm0, rv0, eps);
                    Check(errors, n + " ForwardEval y", y, ey, FloatForwardTol, xShape);
                    BatchNorm.BackwardEval(batch, ch, s, x, gamma, rm0, rv0, eps, dy, dx, dg, db, accumulate: false);
                    Check(errors, n + " BackwardEval dx", dx, edx, FloatGradTol, xShape, dxFloor);
                    Check(errors, n + " BackwardEval dgamma", dg, edg, FloatGradTol, cShape);
                    Check(errors, n + " BackwardEval dbeta", db, edb, FloatGradTol, cShape);
                    dx = (float[])pdx.Clone(); dg = (float[])pdg.Clone(); db = (float[])pdb.Clone();
                    BatchNorm.BackwardEval(batch, ch, s, x, gamma, rm0, rv0, eps, dy, dx, dg, db, accumulate: true);
                }
                CheckAccumulated(errors, n + " backward dx", dx, pdx, edx, FloatGradTol, xShape, dxFloor);
                CheckAccumulated(errors, n + " backward dgamma", dg, pdg, edg, FloatGradTol, cShape);
                CheckAccumulated(errors, n + " backward dbeta", db, pdb, edb, FloatGradTol, cShape);
            });
            Guard(errors, n + " double", () =>
            {
                double[] xd = ToDouble(x), gd = ToDouble(gamma), bd = ToDouble(beta), dyd = ToDouble(dy);
                double[] rmd = ToDouble(rm0), rvd = ToDouble(rv0);
                double[] y = NanD(x.Length), dx = NanD(x.Length), dg = NanD(ch), db = NanD(ch);
                double[] pdxd = ToDouble(pdx), pdgd = ToDouble(pdg), pdbd = ToDouble(pdb);
                if (training)
                {
                    double[] mean = NanD(ch), inv = NanD(ch);
                    BatchNorm.ForwardTrain(batch, ch, s, xd, gd, bd, y, mean, inv, rmd, rvd, momentum, eps);
                    Check(errors, n + " ForwardTrain(double) y", y, ey, DoubleTol, xShape);
                    Check(errors, n + " ForwardTrain(double) mean", mean, emean, DoubleTol, cShape);
                    Check(errors, n + " ForwardTrain(double) invStd", inv, einv, DoubleTol, cShape);
                    Check(errors, n + " ForwardTrain(double) running mean", rmd, erm, DoubleTol, cShape);
                    Check(errors, n + " ForwardTrain(double) running var", rvd, erv, DoubleTol, cShape);
                    BatchNorm.BackwardTrain(batch, ch, s, xd, gd, mean, inv, dyd, dx, dg, db, accumulate: false);
                    Check(errors, n + " BackwardTrain(double) dx", dx, edx, DoubleTol, xShape, dxFloor);
                    Check(errors, n + " BackwardTrain(double) dgamma", dg, edg, DoubleTol, cShape);
                    Check(errors, n + " BackwardTrain(double) dbeta", db, edb, DoubleTol, cShape);
                    dx = (double[])pdxd.Clone(); dg = (double[])pdgd.Clone(); db = (double[])pdbd.Clone();
                    BatchNorm.BackwardTrain(batch, ch, s, xd, gd, mean, inv, dyd, dx, dg, db, accumulate: true);
                }
                else
                {
                    BatchNorm.ForwardEval(batch, ch, s, xd, gd, bd, y, rmd, rvd, eps);
                    Check(errors, n + " ForwardEval(double) y", y, ey, DoubleTol, xShape);
                    BatchNorm.BackwardEval(batch, ch, s, xd, gd, rmd, rvd, eps, dyd, dx, dg, db, accumulate: false);
                    Check(errors, n + " BackwardEval(double) dx", dx, edx, DoubleTol, xShape, dxFloor);
                    Check(errors, n + " BackwardEval(double) dgamma", dg, edg, DoubleTol, cShape);
                    Check(errors, n + " BackwardEval(double) dbeta", db, edb, DoubleTol, cShape);
                    dx = (double[])pdxd.Clone(); dg = (double[])pdgd.Clone(); db = (double[])pdbd.Clone();
                    BatchNorm.BackwardEval(batch, ch, s, xd, gd, rmd, rvd, eps, dyd, dx, dg, db, accumulate: true);
                }
                CheckAccumulated(errors, n + " backward(double) dx", dx, pdxd, edx, DoubleTol, xShape, dxFloor);
                CheckAccumulated(errors, n + " backward(double) dgamma", dg, pdgd, edg, DoubleTol, cShape);
                CheckAccumulated(errors, n + " backward(double) dbeta", db, pdbd, edb, DoubleTol, cShape);
            });
        }
        Report(errors, count, training ? "batch-norm training" : "batch-norm eval");
    }
}
