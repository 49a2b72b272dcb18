using Dl.Kernels;

namespace Dl.Dynamic;

/// <summary>
/// One model's define-by-run record: the nodes of the current run in creation order (a topological order), and the
/// pools every run draws from. A run starts with <see cref="Begin"/>, which recycles the previous run's node objects
/// and buffers, so a steady-state step allocates nothing once each buffer size has been seen.
/// </summary>
/// <remarks>The backward pass walks the nodes in reverse creation order; each node that received a gradient runs its
/// vector-Jacobian rule, which adds into its inputs' gradients (fan-out accumulates). Not thread-safe.</remarks>
internal sealed class Tape
{
    private readonly List<Tensor> _nodes = [];
    private int _count;
    private readonly BufferPool<float> _floats = new();
    private readonly BufferPool<double> _doubles = new();
    private readonly List<int[]> _shapes = [];

    public Tape(Precision precision) => Precision = precision;

    public Precision Precision { get; private set; }

    /// <summary>Record backward rules and gradient requirements (training, gradients, trace).</summary>
    public bool GradientsEnabled { get; private set; }

    /// <summary>Trace mode: inputs and constants take gradients too, and element-wise nodes keep their local rule.</summary>
    public bool TraceAll { get; private set; }

    /// <summary>Samples in the current run's batched tensors.</summary>
    public int Batch { get; private set; }

    public GemmContext Gemm { get; } = new(threads: 1);

    /// <summary>The nodes of the current (or last) run, in creation order.</summary>
    public ReadOnlySpan<Tensor> Nodes => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_nodes)[.._count];

    /// <summary>Recycles the previous run and starts a new one.</summary>
    public void Begin(Precision precision, int batch, bool gradients, bool traceAll)
    {
        for (int i = 0; i < _count; i++) _nodes[i].Reset();
        _count = 0;
        _floats.ReturnAll();
        _doubles.ReturnAll();
        foreach (Tensor[] list in _rentedLists) _inputLists[list.Length].Push(list);
        _rentedLists.Clear();
        Precision = precision;
        Batch = batch;
        GradientsEnabled = gradients;
        TraceAll = traceAll;
    }

    public bool IsDouble => Precision == Precision.Double;

    /// <summary>A pooled buffer of exactly <paramref name="length"/> elements, returned at the next <see cref="Begin"/>.
    /// Its content is whatever the last user left.</summary>
    public T[] Rent<T>(int length) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return (T[])(object)_floats.Rent(length);
        if (typeof(T) == typeof(double)) return (T[])(object)_doubles.Rent(length);
        throw new NotSupportedException($"The tape computes in float or double, not {typeof(T).Name}.");
    }

    /// <summary>A new node with its own data buffer of the tape's precision <typeparamref name="T"/>.</summary>
    public Tensor Node<T>(string op, int[] shape, bool batched, Tensor? in0 = null, Tensor? in1 = null, Tensor? in2 = null)
        where T : unmanaged
    {
        Tensor t = NewTensor(op, shape, batched, in0, in1, in2);
        t.DataArray = Rent<T>(t.Length);
        t.DataOffset = 0;
        return t;
    }

    /// <summary>A new node of any number of inputs (concat, stack): the first three are also In0..In2; beyond three they
    /// are kept in a pooled array (<see cref="Tensor.Input"/> reads them all).</summary>
    public Tensor NodeOf<T>(string op, int[] shape, bool batched, ReadOnlySpan<Tensor> inputs) where T : unmanaged
    {
        Tensor t = Node<T>(op, shape, batched, inputs[0], inputs.Length > 1 ? inputs[1] : null, inputs.Length > 2 ? inputs[2] : null);
        if (inputs.Length <= 3) return t;
        if (!_inputLists.TryGetValue(inputs.Length, out Stack<Tensor[]>? free)) _inputLists[inputs.Length] = free = new Stack<Tensor[]>();
        Tensor[] list = free.Count > 0 ? free.Pop() : new Tensor[inputs.Length];
        _rentedLists.Add(list);
        inputs.CopyTo(list);
        t.Inputs = list;
        foreach (Tensor input in inputs) t.RequiresGrad |= GradientsEnabled && input.RequiresGrad;
        return t;
    }

    private readonly Dictionary<int, Stack<Tensor[]>> _inputLists = [];
    private readonly List<Tensor[]> _rentedLists = [];

    /// <summary>A new node that views an existing buffer (reshape, parameters).</summary>
    public Tensor View(string op, int[] shape, bool batched, Array data, int offset, Tensor? in0 = null)
    {
        Tensor t = NewTensor(op, shape, batched, in0, null, null);
        t.DataArray = data;
        t.DataOffset = offset;
        return t;
    }

    private Tensor NewTensor(string op, int[] shape, bool batched, Tensor? in0, Tensor? in1, Tensor? in2)
    {
        Tensor t;
        if (_count < _nodes.Count) t = _nodes[_count];
        else
        {
            t = new Tensor();
            _nodes.Add(t);
        }
        t.Tape = this;
        t.Id = _count++;
        t.OpName = op;
        t.ShapeArray = shape;
        t.SizeValue = SizeOf(shape);
        t.Batched = batched;
        t.Samples = batched ? Batch : 1;
        t.In0 = in0;
        t.In1 = in1;
        t.In2 = in2;
        t.RequiresGrad = GradientsEnabled
            && ((in0?.RequiresGrad ?? false) || (in1?.RequiresGrad ?? false) || (in2?.RequiresGrad ?? false));
        return t;
    }

    public static int SizeOf(ReadOnlySpan<int> shape)
    {
        int size = 1;
        foreach (int d in shape) size = checked(size * d);
        return size;
    }

    /// <summary>The shared array for this shape (shapes are immutable once made), so a steady-state run allocates none.</summary>
    public int[] Intern(ReadOnlySpan<int> shape)
    {
        foreach (int[] known in _shapes)
            if (shape.SequenceEqual(known)) return known;
        int[] copy = shape.ToArray();
        _shapes.Add(copy);
        return copy;
    }

    /// <summary>Runs every recorded backward rule, last node first. The caller has seeded the output's gradient.</summary>
    public void Backward()
    {
        for (int i = _count - 1; i >= 0; i--)
        {
            Tensor t = _nodes[i];
            if (t.GradReady && t.RequiresGrad && t.BackwardRule is { } rule) rule(t);
        }
    }

    /// <summary>Buffers keyed by exact length: the same model and batch ask for the same lengths every step.</summary>
    private sealed class BufferPool<T> where T : unmanaged
    {
        private readonly Dictionary<int, Stack<T[]>> _free = [];
        private readonly List<T[]> _rented = [];

        public T[] Rent(int length)
        {
            T[] buffer = _free.TryGetValue(length, out Stack<T[]>? stack) && stack.Count > 0 ? stack.Pop() : new T[length];
            _rented.Add(buffer);
            return buffer;
        }

        public void ReturnAll()
        {
            foreach (T[] buffer in _rented)
            {
                if (!_free.TryGetValue(buffer.Length, out Stack<T[]>? stack))
                {
                    stack = new Stack<T[]>();
                    _free[buffer.Length] = stack;
                }
                stack.Push(buffer);
            }
            _rented.Clear();
        }
    }
}
