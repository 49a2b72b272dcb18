// Shared contract: compiled into Dl.Runtime and into Dl.Generators (public in both; see docs/architecture.md). Which
// GEMM computes a matrix product C = A·op(B) (op(B) = Bᵀ for a linear layer, whose weight is stored [out, in]) and each
// of its two gradients: the generator lowers matmul and linear nodes to these GEMM steps, the tape runs the same GEMMs
// on its kernels.
namespace Dl.Kernels;

/// <summary>The tensors of a matrix product: its operands A [rows, inner] and B ([inner, cols], or [cols, inner] when
/// transposed), and its result C [rows, cols] (in a gradient, dC).</summary>
public enum MatMulRole { A, B, C }

/// <summary>The three sizes of a matrix product.</summary>
public enum MatMulDim { Rows, Inner, Cols }

/// <summary>One GEMM Target[M×N] (+)= op(Left)[M×K]·op(Right)[K×N] of a matrix product's pass, its sizes named by role
/// (<see cref="MatMulGeometry.Size"/> turns them into numbers). Target is what it writes: C forward, A or B (their
/// gradients) backward.</summary>
public readonly record struct GemmGeometry(MatMulRole Left, MatMulRole Right, MatMulRole Target, MatMulDim M, MatMulDim N, MatMulDim K,
    bool TransLeft, bool TransRight);

/// <summary>The forward GEMM of C = A·op(B) and the GEMMs of its gradients.</summary>
public static class MatMulGeometry
{
    /// <summary>C = A·op(B).</summary>
    public static GemmGeometry Forward(bool transB) =>
        new(MatMulRole.A, MatMulRole.B, MatMulRole.C, MatMulDim.Rows, MatMulDim.Cols, MatMulDim.Inner, false, transB);

    /// <summary>dA[rows×inner] (+)= dC·op(B)ᵀ.</summary>
    public static GemmGeometry GradA(bool transB) =>
        new(MatMulRole.C, MatMulRole.B, MatMulRole.A, MatMulDim.Rows, MatMulDim.Inner, MatMulDim.Cols, false, !transB);

    /// <summary>dB: stored [cols×inner] (transB) = dCᵀ·A, or stored [inner×cols] = Aᵀ·dC; the rows (a batch folded into
    /// them) are the sum.</summary>
    public static GemmGeometry GradB(bool transB) => transB
        ? new(MatMulRole.C, MatMulRole.A, MatMulRole.B, MatMulDim.Cols, MatMulDim.Inner, MatMulDim.Rows, true, false)
        : new(MatMulRole.A, MatMulRole.C, MatMulRole.B, MatMulDim.Inner, MatMulDim.Cols, MatMulDim.Rows, true, false);

    /// <summary>The number a size stands for.</summary>
    public static int Size(MatMulDim dim, int rows, int inner, int cols) => dim == MatMulDim.Rows ? rows : dim == MatMulDim.Inner ? inner : cols;
}
