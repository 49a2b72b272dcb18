using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Dl.Tests.Fuzz;

/// <summary>How one fuzz case ended.</summary>
internal enum FuzzKind
{
    /// <summary>No DL diagnostic, and the source with the generated code compiles.</summary>
    Compiles,
    /// <summary>A DL diagnostic (an error other than DL0010): the generator refused the model cleanly.</summary>
    CleanError,
    /// <summary>The user's source does not compile by itself, and the generator added no error of its own.</summary>
    SourceError,
    /// <summary>A generator exception, CS8785 (an exception escaped a stage) or DL0010 (an internal error).</summary>
    Crash,
    /// <summary>No DL diagnostic, but the generated code does not compile (or makes the user's code fail).</summary>
    GeneratedError,
    /// <summary>The generator or the compiler did not finish within the time limit.</summary>
    Hang,
    /// <summary>The generated training step disagrees with the dynamic tape.</summary>
    Mismatch,
}

internal sealed record FuzzResult(FuzzKind Kind, string Detail, long AllocatedBytes, double Seconds)
{
    public bool IsFailure => Kind is FuzzKind.Crash or FuzzKind.GeneratedError or FuzzKind.Hang or FuzzKind.Mismatch;
}

/// <summary>Drives one model source through the generator in-process (the property of the fuzz suite: a DL diagnostic, or
/// generated code that compiles and whose training step agrees with the tape).</summary>
internal static class FuzzRunner
{
    public static FuzzResult Run(string model, TimeSpan timeout, bool compareWithTape)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        FuzzResult Done(FuzzKind kind, string detail) =>
            new(kind, detail, GC.GetAllocatedBytesForCurrentThread() - before, clock.Elapsed.TotalSeconds);
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            var compilation = GeneratorHarness.Compilation(GeneratorHarness.Usings + model);
            var driver = GeneratorHarness.Driver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics, cancel.Token);
            var run = driver.GetRunResult();
            if (run.Results.FirstOrDefault(r => r.Exception is not null).Exception is { } exception)
                return Done(FuzzKind.Crash, exception.GetType().Name + ": " + exception.Message);
            if (diagnostics.FirstOrDefault(d => d.Id is "CS8785" or "DL0010") is { } crash) return Done(FuzzKind.Crash, crash.ToString());
            if (diagnostics.FirstOrDefault(d => d.Id.StartsWith("DL", StringComparison.Ordinal) && d.Severity == DiagnosticSeverity.Error) is { } dl)
            {
                if (dl.GetMessage().Contains('\n')) return Done(FuzzKind.Crash, "a DL message on several lines: " + dl);
                return Done(FuzzKind.CleanError, dl.Id + ": " + dl.GetMessage());
            }
            var errors = output.GetDiagnostics(cancel.Token).Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
            if (errors.Count > 0)
            {
                // Errors the source has without the generator are the source's own; any other is the generator's doing.
                var own = compilation.GetDiagnostics(cancel.Token).Where(d => d.Severity == DiagnosticSeverity.Error)
                    .Select(d => (d.Id, d.Location.SourceSpan)).ToHashSet();
                var caused = errors.Where(e => !own.Contains((e.Id, e.Location.SourceSpan))).ToList();
                return caused.Count > 0 ? Done(FuzzKind.GeneratedError, caused[0].ToString()) : Done(FuzzKind.SourceError, errors[0].Id);
            }
            if (compareWithTape && CompareWithTape(output) is { } mismatch) return Done(FuzzKind.Mismatch, mismatch);
            return Done(FuzzKind.Compiles, "");
        }
        catch (OperationCanceledException)
        {
            return Done(FuzzKind.Hang, $"more than {timeout.TotalSeconds:0} s");
        }
    }

    /// <summary>Loads the compiled model into a collectible context and compares one training step (loss and gradients,
    /// from the same initial weights) of the generated code with the dynamic tape; null when they agree.</summary>
    private static string? CompareWithTape(Compilation output)
    {
        using var image = new MemoryStream();
        var emitted = output.Emit(image);
        if (!emitted.Success) return "emit failed: " + emitted.Diagnostics.First(d => d.Severity == DiagnosticSeverity.Error);
        image.Position = 0;
        var context = new AssemblyLoadContext("fuzz", isCollectible: true);
        try
        {
            var assembly = context.LoadFromStream(image);
            var type = assembly.GetTypes().FirstOrDefault(t => t.Name == "M" && typeof(IModel).IsAssignableFrom(t));
            if (type is null) return null;
            var description = (ModelDescription)type.GetProperty("StaticDescription", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;
            if (description.Target is not { } target) return null;
            return target.Classes > 0 ? Compare<int>(type, description) : Compare<float>(type, description);
        }
        finally
        {
            context.Unload();
        }
    }

    private static string? Compare<T>(Type type, ModelDescription d) where T : unmanaged
    {
        const int batch = 3;
        var generated = (ITrainableModel<T>)Activator.CreateInstance(type, new ModelOptions { Seed = 7, MaxBatch = 4 })!;
        var create = typeof(Dl.Dynamic.Dynamic).GetMethods().Single(m => m.Name == "Create" && m.IsGenericMethodDefinition);
        var dynamic = (Dl.Dynamic.DynamicModel)create.MakeGenericMethod(type).Invoke(null, new object[] { 7UL, Dl.Dynamic.Precision.Single })!;
        var random = new Random(11);
        var x = Enumerable.Range(0, batch * d.InputSize).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        int targetSize = d.Target!.Shape.Aggregate(1, (a, b) => a * b);
        var t = Enumerable.Range(0, batch * targetSize).Select(_ => typeof(T) == typeof(int)
            ? (T)(object)random.Next(d.Target.Classes) : (T)(object)(float)(random.NextDouble() * 2 - 1)).ToArray();
        if (!generated.Parameters.SequenceEqual(dynamic.Parameters)) return "initial parameters differ";
        float lg, ld;
        string? failG = null, failD = null;
        try { lg = generated.ComputeGradients(x, t, batch); } catch (Exception e) { lg = float.NaN; failG = e.GetType().Name; }
        try { ld = ((ITrainableModel<T>)(object)dynamic).ComputeGradients(x, t, batch); } catch (Exception e) { ld = float.NaN; failD = e.GetType().Name; }
        if (failG is not null || failD is not null)
            return failG == failD ? null : $"generated {failG ?? "ran"}, tape {failD ?? "ran"}";
        if (Math.Abs(lg - ld) > 1e-4 + 1e-3 * Math.Abs(ld)) return $"loss {lg} (generated) vs {ld} (tape)";
        double scale = 0;
        foreach (var g in dynamic.Gradients) scale = Math.Max(scale, Math.Abs(g));
        var gg = generated.Gradients.ToArray();
        var gd = dynamic.Gradients.ToArray();
        for (int i = 0; i < gd.Length; i++)
            if (Math.Abs(gg[i] - gd[i]) > 1e-5 + 1e-3 * scale + 1e-3 * Math.Abs(gd[i]))
                return $"gradient {i} ({Name(d, i)}): {gg[i]} (generated) vs {gd[i]} (tape)";
        return null;
    }

    private static string Name(ModelDescription d, int index) =>
        d.Parameters.FirstOrDefault(p => index >= p.Offset && index < p.Offset + p.Length)?.Name ?? "?";
}
