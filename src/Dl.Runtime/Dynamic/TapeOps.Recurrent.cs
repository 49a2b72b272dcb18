using Dl.Kernels;

namespace Dl.Dynamic;

internal static partial class TapeOps
{
    public static Tensor Recurrent(Tensor x, RecurrentCell cell, int hidden, string name, int layers, Tensor? h0, Tensor? c0)
        => throw new NotImplementedException();
}
