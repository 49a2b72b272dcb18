using System.Runtime.InteropServices;
using Dl.Models;
using Tape = Dl.Dynamic.Dynamic;

namespace Dl.Tests;

/// <summary>Issue 13, item 5: one model instance, one thread at a time. A call that overlaps another thread's call on the
/// same instance throws InvalidOperationException before touching anything; the call inside is unaffected; nested
/// calls on the owning thread and different instances on different threads work.</summary>
public class ThreadingTests
{
    private const int Batch = 4;
    private static readonly float[] X = ModelHarness.Normal(Batch * 784, 1);
    private static readonly int[] Y = ModelHarness.Labels(Batch, 10, 2);

    private static ITrainableModel<int> Create(bool dynamic) =>
        dynamic ? Tape.Create<FashionMlp>(1) : new FashionMlp(new ModelOptions { Seed = 1, MaxBatch = Batch });

    private static int[] Bits(ReadOnlySpan<float> values) => MemoryMarshal.Cast<float, int>(values).ToArray();

    /// <summary>Holds the calling thread inside TrainStep (in the optimizer's Step) until released.</summary>
    private sealed class Holding(IOptimizer inner) : IOptimizer
    {
        public readonly ManualResetEventSlim Inside = new(), Release = new();
        public Action? WhileInside;

        public void Step(Span<float> parameters, ReadOnlySpan<float> gradients)
        {
            WhileInside?.Invoke();
            Inside.Set();
            Release.Wait(TimeSpan.FromSeconds(30));
            inner.Step(parameters, gradients);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void OverlappingCall_Throws_AndTheCallInsideIsUnaffected(bool dynamic)
    {
        ITrainableModel<int> model = Create(dynamic), twin = Create(dynamic);
        float expectedLoss = twin.TrainStep(X, Y, Batch, new Adam(0.01f));
        var holding = new Holding(new Adam(0.01f));
        float loss = float.NaN;
        var inside = new Thread(() => loss = model.TrainStep(X, Y, Batch, holding));
        inside.Start();
        Assert.True(holding.Inside.Wait(TimeSpan.FromSeconds(30)));
        var output = new float[Batch * 10];
        string name = model.Description.Name;
        try
        {
            var e = Assert.Throws<InvalidOperationException>(() => model.Predict(X, output, Batch));
            Assert.StartsWith($"{name}.Predict was called on thread {Environment.CurrentManagedThreadId} while thread {inside.ManagedThreadId} is inside a call on the same {name} instance.", e.Message);
            Assert.Contains("use one instance per thread, or serialize the calls with a lock", e.Message);
            Assert.Throws<InvalidOperationException>(() => model.TrainStep(X, Y, Batch, new Sgd(0.1f)));
            Assert.Throws<InvalidOperationException>(() => model.ComputeGradients(X, Y, Batch));
            Assert.Throws<InvalidOperationException>(() => model.Loss(X, Y, Batch));
            if (model is FashionMlp generated)
            {
                Assert.Throws<InvalidOperationException>(() => generated.Save(Path.Combine(Path.GetTempPath(), "never-written.safetensors")));
                Assert.Throws<InvalidOperationException>(() => generated.Trace(X, Y, Batch));
            }
        }
        finally
        {
            holding.Release.Set();
            inside.Join();
        }
        // The refused calls changed nothing: the step inside ran as if alone.
        Assert.Equal(expectedLoss, loss);
        Assert.Equal(Bits(twin.Parameters), Bits(model.Parameters));
        Assert.Equal(twin.DropoutStep, model.DropoutStep);
        // And the model is usable again, from any thread.
        model.Predict(X, output, Batch);
        Assert.All(output, v => Assert.True(float.IsFinite(v)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void NestedCall_OnTheOwningThread_Works(bool dynamic)
    {
        var model = Create(dynamic);
        var output = new float[Batch * 10];
        var holding = new Holding(new Sgd(0.1f, momentum: 0.5f));
        holding.WhileInside = () => model.Predict(X, output, Batch);   // an optimizer calling back into the model
        holding.Release.Set();
        Assert.True(float.IsFinite(model.TrainStep(X, Y, Batch, holding)));
        Assert.All(output, v => Assert.True(float.IsFinite(v)));
        model.Predict(X, output, Batch);   // released: a later call enters normally
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TwoInstances_OnTwoThreads_MatchOneThread(bool dynamic)
    {
        int[] Train(ITrainableModel<int> m)
        {
            var adam = new Adam(0.01f);
            for (int i = 0; i < 20; i++) m.TrainStep(X, Y, Batch, adam);
            return Bits(m.Parameters);
        }
        int[] expected = Train(Create(dynamic));
        var results = new int[2][];
        var threads = Enumerable.Range(0, 2).Select(i => new Thread(() => results[i] = Train(Create(dynamic)))).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        Assert.Equal(expected, results[0]);
        Assert.Equal(expected, results[1]);
    }

    /// <summary>Two threads hammering one instance: every call either runs alone (a finite loss, finite predictions) or
    /// is refused with InvalidOperationException; nothing is ever silently corrupted (the issue saw NaN losses and
    /// predictions), and the model still trains afterwards.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Hammering_NeverCorrupts(bool dynamic)
    {
        var model = Create(dynamic);
        int refused = 0, completed = 0;
        Exception? unexpected = null;
        void Hammer(bool train)
        {
            var output = new float[Batch * 10];
            var sgd = new Sgd(0.01f);
            for (int i = 0; i < 150; i++)
            {
                try
                {
                    if (train) { if (!float.IsFinite(model.TrainStep(X, Y, Batch, sgd))) throw new Exception("non-finite loss"); }
                    else
                    {
                        model.Predict(X, output, Batch);
                        if (!output.All(float.IsFinite)) throw new Exception("non-finite prediction");
                    }
                    Interlocked.Increment(ref completed);
                }
                catch (InvalidOperationException) { Interlocked.Increment(ref refused); }
                catch (Exception e) { unexpected ??= e; }
            }
        }
        var a = new Thread(() => Hammer(true));
        var b = new Thread(() => Hammer(false));
        a.Start();
        b.Start();
        a.Join();
        b.Join();
        Assert.Null(unexpected);
        Assert.Equal(300, refused + completed);
        Assert.True(float.IsFinite(model.TrainStep(X, Y, Batch, new Sgd(0.01f))));
    }
}
