using System.ComponentModel;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Dl;

/// <summary>
/// Detects concurrent use of one model instance. Every public member of a generated model (and of
/// <see cref="Dynamic.DynamicModel"/>) that uses the model's buffers enters the instance's guard first:
/// <c>using var busy = ModelGuard.Enter(ref _owner, "FashionCnn", "TrainStep");</c>. The guard is one int holding the
/// managed thread id of the caller inside the instance (0 when idle), taken with one compare-exchange and released
/// with a plain store.
/// </summary>
/// <remarks>
/// <para>The threading contract of a model: one instance is used by one thread at a time. A call that finds another
/// thread inside the instance throws <see cref="InvalidOperationException"/> before it reads or writes anything, so
/// the call already inside runs to completion unaffected: overlapping calls are reported, never silently corrupted.
/// A nested call on the thread already inside (an optimizer or a callback calling back into the model) is allowed.
/// Different instances are independent and may be used on different threads at the same time.</para>
/// <para>The guard covers the members that run the model (Predict, Loss, ComputeGradients, TrainStep, Trace, Save,
/// Load). Reading or writing <c>Parameters</c>, <c>Gradients</c>, <c>State</c>, <c>Training</c> or
/// <c>DropoutStep</c> while another thread is inside is not detected: the spans alias the buffers the call uses.</para>
/// </remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class ModelGuard
{
    /// <summary>Takes <paramref name="owner"/> for the calling thread, or throws when another thread holds it. Dispose
    /// the returned scope (a <c>using</c> declaration) to release it.</summary>
    /// <param name="owner">The instance's guard field: 0 when idle, else the managed thread id inside.</param>
    /// <param name="model">The model's name, for the message.</param>
    /// <param name="member">The member being entered, for the message.</param>
    /// <exception cref="InvalidOperationException">Another thread is inside a member of the same instance.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Scope Enter(ref int owner, string model, string member)
    {
        int me = Environment.CurrentManagedThreadId;
        int inside = Interlocked.CompareExchange(ref owner, me, 0);
        if (inside == 0) return new Scope(ref owner);
        if (inside != me) ThrowBusy(model, member, inside, me);
        return default;   // nested on the owning thread: the outer call releases
    }

    [DoesNotReturn]
    private static void ThrowBusy(string model, string member, int inside, int me) =>
        throw new InvalidOperationException(
            $"{model}.{member} was called on thread {me} while thread {inside} is inside a call on the same {model} instance. " +
            "A model instance is not thread-safe (its calls share one set of activation, gradient and state buffers): " +
            "use one instance per thread, or serialize the calls with a lock. Nothing was changed by this call.");

    /// <summary>Holds the guard until disposed.</summary>
    public readonly ref struct Scope
    {
        private readonly ref int _owner;

        internal Scope(ref int owner) => _owner = ref owner;

        /// <summary>Releases the guard (nothing for a nested call).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Dispose()
        {
            if (!Unsafe.IsNullRef(ref _owner)) Volatile.Write(ref _owner, 0);
        }
    }
}
