// Shared contract: compiled into Dl.Runtime and into Dl.Generators (public in both; see docs/architecture.md). The
// generator resolves Pad.Same / Pad.Valid / Pad.Full with it at build time, the runtime's Pad and the tape at run time.
namespace Dl;

/// <summary>How a <c>Pad</c> is resolved against the kernel (<see cref="Kernels.WindowGeometry.Resolve"/>).</summary>
public enum PadMode
{
    /// <summary>The cells of the <c>Pad</c> (all zero: 'valid').</summary>
    Explicit,
    /// <summary>'same' (stride 1): total k - 1 per dimension, the smaller half before (p = (k - 1) / 2 for odd k).</summary>
    Same,
    /// <summary>'full': k - 1 on every side (every partial overlap; the notes' full 1-D convolution).</summary>
    Full,
}
