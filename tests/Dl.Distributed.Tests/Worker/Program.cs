// Started by tests/Dl.Distributed.Tests under `mpirun -np N`; one mode per run:
//   binding                      the MPI calls (allreduce, broadcast, allgather, non-blocking allreduce, errors)
//   equivalence <model> <steps>  distributed training vs the same global batches in one process (rank 0 compares)
//   throw                        rank 1 throws in its second step
//   settings                     rank 1 is started with another batch size
//   die                          rank 1 exits in its second step without a word (a crash)
//   bench                        step times and allreduce bandwidth (docs/distributed.md)
using System.Diagnostics;
using Dl;
using Dl.Data;
using Dl.Distributed;
using Dl.Distributed.Worker;
using Dl.Models;
using Dl.Training;

string mode = args.Length > 0 ? args[0] : "binding";
return Distributed.Run(() => mode switch
{
    "binding" => BindingChecks.Run(),
    "equivalence" => Equivalence.Run(args[1], int.Parse(args[2])),
    "throw" => Faults.Throw(),
    "settings" => Faults.DifferentSettings(),
    "die" => Faults.Die(),
    "bench" => Bench.Run(args.Length > 1 ? int.Parse(args[1]) : 20),
    _ => throw new ArgumentException($"Unknown mode '{mode}'."),
});

namespace Dl.Distributed.Worker
{
    internal static class Models
    {
        public static ITrainableModel<int> Create(string name, int maxBatch) => name switch
        {
            "mlp" => new FashionMlp(new ModelOptions { Seed = 7, MaxBatch = maxBatch }),
            "cnn" => new FashionCnn(new ModelOptions { Seed = 7, MaxBatch = maxBatch }),
            "lstm" => new LstmT35(new ModelOptions { Seed = 7, MaxBatch = maxBatch }),
            _ => throw new ArgumentException($"Unknown model '{name}' (mlp, cnn, lstm)."),
        };

        /// <summary>Random samples of the model's input shape with random labels (same on every rank: fixed seed).</summary>
        public static Dataset Data(IModel model, int count)
        {
            var random = new Random(11);
            int size = model.Description.InputSize;
            var x = new float[count * size];
            for (int i = 0; i < x.Length; i++) x[i] = (float)(random.NextDouble() * 2 - 1);
            var y = new int[count];
            for (int i = 0; i < count; i++) y[i] = random.Next(10);
            return new Dataset(x, y, 10, model.Description.Inputs[0].Shape);
        }

        public static ulong Hash(IModel model) =>
            MpiDataParallel.Fnv1a(System.Runtime.InteropServices.MemoryMarshal.AsBytes((ReadOnlySpan<float>)model.Parameters));
    }

    internal static class BindingChecks
    {
        public static int Run()
        {
            int rank = Mpi.Rank, size = Mpi.Size;
            var values = new float[1000];
            for (int i = 0; i < values.Length; i++) values[i] = rank + i;
            Mpi.AllreduceSum(values);
            for (int i = 0; i < values.Length; i++)
                Expect(values[i] == size * i + size * (size - 1) / 2f, $"allreduce[{i}] = {values[i]}");
            double[] d = [rank + 0.5];
            Mpi.AllreduceSum(d);
            Expect(d[0] == size * (size - 1) / 2.0 + size * 0.5, $"allreduce double = {d[0]}");
            float[] b = [rank == 0 ? 42 : -1, rank == 0 ? 43 : -1];
            Mpi.Broadcast(b, 0);
            Expect(b[0] == 42 && b[1] == 43, $"broadcast = {b[0]}, {b[1]}");
            byte[] mine = [(byte)rank, (byte)(rank + 100)], all = new byte[2 * size];
            Mpi.Allgather(mine, all);
            for (int r = 0; r < size; r++) Expect(all[2 * r] == r && all[2 * r + 1] == r + 100, $"allgather from rank {r}");
            var big = new float[1 << 16];
            big.AsSpan().Fill(rank + 1);
            MpiRequest request = Mpi.StartAllreduceSum(big);
            while (!request.Test()) { }
            request.Wait(); // idempotent after completion
            Expect(big[^1] == size * (size + 1) / 2f, $"iallreduce = {big[^1]}");
            MpiRequest second = Mpi.StartAllreduceSum(big);
            second.Wait();
            Expect(big[0] == size * size * (size + 1) / 2f, $"iallreduce + wait = {big[0]}");
            try
            {
                Mpi.Broadcast(b, root: size + 5);
                Expect(false, "broadcast from a rank that does not exist did not throw");
            }
            catch (MpiException e)
            {
                Expect(e.Call == "MPI_Bcast" && e.Message.Contains("MPI_Bcast"), $"error message: {e.Message}");
            }
            Mpi.Barrier();
            Console.WriteLine($"rank {rank} of {size}: binding ok");
            return 0;
        }

        private static void Expect(bool condition, string what)
        {
            if (!condition) throw new InvalidOperationException($"rank {Mpi.Rank}: {what}");
        }
    }

    internal static class Equivalence
    {
        // Distributed: a 2-epoch run of the trainer over 37 samples in global batches of 16 (16, 16, 5: unequal shards at
        // the end of each epoch). Reference on rank 0: the same global batches in one process, each split into the same
        // shards with their gradients weighted by size and running statistics averaged (equal to one whole-batch step
        // for models without batch statistics, which the reference also checks).
        public static int Run(string name, int epochs)
        {
            const int Samples = 37, Batch = 16;
            int rank = Mpi.Rank, ranks = Mpi.Size;
            ITrainableModel<int> model = Models.Create(name, Batch);
            Dataset data = Models.Data(model, Samples);
            var options = Distributed.Configure(new TrainerOptions { Epochs = epochs }, new DistributedOptions { HashCheckInterval = 1, Timeout = TimeSpan.FromSeconds(60) });
            var trainer = new Trainer<int>(model, new Sgd(0.05f, momentum: 0.9f), new DataLoader(data, Batch, seed: 3), null, options);
            trainer.Fit();
            Console.WriteLine($"rank {rank} hash {Models.Hash(model):x16}");
            if (rank != 0) return 0;

            ITrainableModel<int> reference = Models.Create(name, Batch);
            var optimizer = new Sgd(0.05f, momentum: 0.9f);
            var loader = new DataLoader(data, Batch, seed: 3);
            var sum = new float[reference.Gradients.Length];
            var stateBefore = new float[reference.State.Length];
            var stateSum = new float[reference.State.Length];
            for (int epoch = 0; epoch < epochs; epoch++)
            {
                while (loader.NextBatch(out DataLoader.Batch batch))
                {
                    int size = batch.Size, inputs = batch.X.Length / size;
                    Array.Clear(sum);
                    Array.Clear(stateSum);
                    reference.State.CopyTo(stateBefore);
                    long dropout = reference.DropoutStep;
                    for (int r = 0; r < ranks; r++)
                    {
                        int first = r * size / ranks, count = (r + 1) * size / ranks - first;
                        stateBefore.CopyTo(reference.State);
                        reference.DropoutStep = dropout * ranks + r;
                        if (count > 0)
                        {
                            reference.ComputeGradients(batch.X.Slice(first * inputs, count * inputs), batch.Y.Slice(first, count), count);
                            Span<float> g = reference.Gradients;
                            for (int i = 0; i < sum.Length; i++) sum[i] += g[i] * count;
                        }
                        Span<float> s = reference.State;
                        for (int i = 0; i < s.Length; i++) stateSum[i] += s[i];
                    }
                    Span<float> grads = reference.Gradients, state = reference.State;
                    for (int i = 0; i < sum.Length; i++) grads[i] = sum[i] * (1f / size);
                    for (int i = 0; i < state.Length; i++) state[i] = stateSum[i] * (1f / ranks);
                    reference.DropoutStep = dropout + 1;
                    optimizer.Step(reference.Parameters, reference.Gradients);
                }
            }
            Console.WriteLine($"max difference vs one process (sharded): {MaxDifference(model, reference):R}");
            if (reference.State.Length == 0)
            {
                ITrainableModel<int> whole = Models.Create(name, Batch);
                new Trainer<int>(whole, new Sgd(0.05f, momentum: 0.9f), new DataLoader(data, Batch, seed: 3), null, new TrainerOptions { Epochs = epochs }).Fit();
                Console.WriteLine($"max difference vs one process (whole batches): {MaxDifference(model, whole):R}");
            }
            return 0;
        }

        private static float MaxDifference(IModel a, IModel b)
        {
            float max = 0;
            ReadOnlySpan<float> x = a.Parameters, y = b.Parameters;
            for (int i = 0; i < x.Length; i++) max = Math.Max(max, Math.Abs(x[i] - y[i]) / Math.Max(1f, Math.Abs(y[i])));
            return max;
        }
    }

    internal static class Faults
    {
        public static int Throw()
        {
            ITrainableModel<int> model = Models.Create("mlp", 16);
            var trainer = new Trainer<int>(model, new Sgd(0.05f), new DataLoader(Models.Data(model, 64), 16, seed: 3), null,
                Distributed.Configure(new TrainerOptions { Epochs = 100 }));
            trainer.StepCompleted += s =>
            {
                if (Mpi.Rank == 1 && s.GlobalStep == 2) throw new InvalidOperationException("injected fault in step 2");
            };
            trainer.Fit();
            return 0;
        }

        public static int Die()
        {
            ITrainableModel<int> model = Models.Create("mlp", 16);
            var trainer = new Trainer<int>(model, new Sgd(0.05f), new DataLoader(Models.Data(model, 64), 16, seed: 3), null,
                Distributed.Configure(new TrainerOptions { Epochs = 100 }, new DistributedOptions { Timeout = TimeSpan.FromSeconds(10) }));
            trainer.StepCompleted += s =>
            {
                if (Mpi.Rank == 1 && s.GlobalStep == 2) Environment.Exit(7);
            };
            trainer.Fit();
            return 0;
        }

        public static int DifferentSettings()
        {
            ITrainableModel<int> model = Models.Create("mlp", 16);
            int batch = Mpi.Rank == 1 ? 8 : 16;
            var trainer = new Trainer<int>(model, new Sgd(0.05f), new DataLoader(Models.Data(model, 64), batch, seed: 3), null,
                Distributed.Configure(new TrainerOptions { Epochs = 1 }));
            trainer.Fit();
            return 0;
        }
    }

    internal static class Bench
    {
        public static int Run(int steps)
        {
            int rank = Mpi.Rank, ranks = Mpi.Size;
            // Compute per sample in this process alone (the t_s of the alpha-beta model in docs/distributed.md).
            foreach (string name in new[] { "mlp", "cnn", "lstm" })
            {
                ITrainableModel<int> model = Models.Create(name, 64);
                Dataset data = Models.Data(model, 64);
                var loader = new DataLoader(data, 64, shuffle: false);
                loader.NextBatch(out ReadOnlySpan<float> x, out ReadOnlySpan<int> y);
                var sgd = new Sgd(0.01f, momentum: 0.9f);
                model.TrainStep(x, y, 64, sgd);
                long t = Stopwatch.GetTimestamp();
                for (int i = 0; i < 5; i++) model.TrainStep(x, y, 64, sgd);
                double perSample = Stopwatch.GetElapsedTime(t).TotalSeconds / 5 / 64;
                if (rank == 0) Console.WriteLine($"compute {model.Description.Name}: {perSample * 1e6:0} µs per sample (batch 64, one thread), {model.Gradients.Length} gradients");
            }
            foreach (int batch in new[] { 64, 256 })
            {
                var model = new FashionCnn(new ModelOptions { Seed = 1, MaxBatch = batch });
                Dataset data = Models.Data(model, batch * (steps + 2));
                var parallel = new MpiDataParallel();
                var trainer = new Trainer<int>(model, new Sgd(0.01f, momentum: 0.9f), new DataLoader(data, batch, seed: 1), null,
                    new TrainerOptions { Epochs = 1, DataParallel = parallel });
                double first = 0, reduceFirst = 0;
                long start = 0;
                trainer.StepCompleted += s =>
                {
                    if (s.Step == 2) { start = Stopwatch.GetTimestamp(); reduceFirst = parallel.ReduceSeconds; }
                };
                trainer.Fit();
                first = Stopwatch.GetElapsedTime(start).TotalSeconds;
                int measured = trainer.Loader.BatchesPerEpoch - 2;
                if (rank == 0)
                    Console.WriteLine($"FashionCnn batch {batch} ranks {ranks}: {first / measured * 1e3:0.0} ms per global step, gradient allreduce {(parallel.ReduceSeconds - reduceFirst) / measured * 1e3:0.00} ms per step ({model.Gradients.Length} gradients, {model.State.Length} state)");
            }
            foreach ((string name, int count) in new[] { ("FashionMlp", 101_770), ("FashionCnn", 0), ("LstmT35", 0), ("RowLstm", 0) })
            {
                int n = count > 0 ? count : name switch
                {
                    "FashionCnn" => new FashionCnn(new ModelOptions()).Gradients.Length + new FashionCnn(new ModelOptions()).State.Length,
                    "LstmT35" => new LstmT35(new ModelOptions()).Gradients.Length,
                    _ => new RowLstm(new ModelOptions()).Gradients.Length,
                };
                var buffer = new float[n];
                for (int i = 0; i < 3; i++) Mpi.AllreduceSum(buffer);
                int reps = 50;
                Mpi.Barrier();
                long t0 = Stopwatch.GetTimestamp();
                for (int i = 0; i < reps; i++) Mpi.AllreduceSum(buffer);
                double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds / reps;
                // Bus bandwidth (NCCL's convention): bytes · 2(R−1)/R per second.
                double bus = n * 4.0 * 2 * (ranks - 1) / ranks / seconds;
                if (rank == 0) Console.WriteLine($"allreduce {name}: {n} floats ({n * 4 / 1e6:0.00} MB): {seconds * 1e6:0} µs, bus bandwidth {bus / 1e9:0.00} GB/s");
            }
            // What a non-blocking allreduce can hide: the FashionCnn gradient block reduced while this thread computes.
            {
                int n = new FashionCnn(new ModelOptions()).Gradients.Length;
                var buffer = new float[n];
                var work = new float[1 << 20];
                double Compute()
                {
                    long t = Stopwatch.GetTimestamp();
                    for (int k = 0; k < 6; k++) for (int i = 0; i < work.Length; i++) work[i] = work[i] * 0.999f + 1f;
                    return Stopwatch.GetElapsedTime(t).TotalSeconds;
                }
                Compute();
                Mpi.Barrier();
                long t1 = Stopwatch.GetTimestamp();
                Mpi.AllreduceSum(buffer);
                double computeAlone = Compute();
                double serial = Stopwatch.GetElapsedTime(t1).TotalSeconds;
                Mpi.Barrier();
                long t2 = Stopwatch.GetTimestamp();
                MpiRequest request = Mpi.StartAllreduceSum(buffer);
                // Progress: Open MPI advances a non-blocking collective only inside MPI calls, so the compute polls it.
                long tc = Stopwatch.GetTimestamp();
                for (int k = 0; k < 6; k++)
                {
                    for (int i = 0; i < work.Length; i++) work[i] = work[i] * 0.999f + 1f;
                    request.Test();
                }
                request.Wait();
                double overlapped = Stopwatch.GetElapsedTime(t2).TotalSeconds;
                if (rank == 0)
                    Console.WriteLine($"overlap: compute {computeAlone * 1e3:0.00} ms; allreduce then compute {serial * 1e3:0.00} ms; non-blocking allreduce during compute {overlapped * 1e3:0.00} ms: hidden {(serial - overlapped) * 1e3:0.00} ms");
            }
            return 0;
        }
    }
}
