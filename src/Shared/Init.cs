// Shared contract: compiled into Dl.Runtime and into Dl.Generators (public in both; see docs/architecture.md), so that
// the generator reads [Param(Init = ...)] and creates the parameters of layers with the very values the runtime's
// initializer (Dl.Initializers.Fill) switches on.
namespace Dl;

/// <summary>Parameter initializers. Fan-in and fan-out come from the parameter's role
/// (a linear weight <c>[out, in]</c> has fan-in <c>in</c> and fan-out <c>out</c>; other tensors use their last two dims).</summary>
public enum Init
{
    /// <summary>Glorot uniform for weights, zeros for biases.</summary>
    Default,
    /// <summary>All zeros.</summary>
    Zeros,
    /// <summary>All equal to <c>ParamAttribute.Scale</c>.</summary>
    Constant,
    /// <summary>U[-a, a] with a = <c>ParamAttribute.Scale</c>.</summary>
    Uniform,
    /// <summary>Glorot/Xavier uniform: U[-a, a], a = sqrt(6 / (fan_in + fan_out)).</summary>
    GlorotUniform,
    /// <summary>Glorot/Xavier normal: N(0, 2 / (fan_in + fan_out)).</summary>
    GlorotNormal,
    /// <summary>He/Kaiming uniform: U[-a, a], a = sqrt(6 / fan_in).</summary>
    HeUniform,
    /// <summary>He/Kaiming normal: N(0, 2 / fan_in).</summary>
    HeNormal,
    /// <summary>N(0, a²) with a = <c>ParamAttribute.Scale</c> (an embedding table: PyTorch's N(0, 1)).</summary>
    Normal,
}
