using System;
using System.Collections;
using System.Collections.Immutable;

namespace Dl.Generators.Helpers;

/// <summary>An immutable array with structural equality, so that pipeline values compare by content
/// and an unchanged model stops the incremental cascade.</summary>
public readonly struct EquatableArray<T> : IEquatable<EquatableArray<T>>, IReadOnlyList<T> where T : IEquatable<T>
{
    private readonly T[]? _items;

    public EquatableArray(IEnumerable<T> items) => _items = items.ToArray();

    public static EquatableArray<T> Empty => new(Array.Empty<T>());
    public int Count => _items?.Length ?? 0;
    public T this[int index] => _items![index];
    public ReadOnlySpan<T> AsSpan() => _items;

    public bool Equals(EquatableArray<T> other) => AsSpan().SequenceEqual(other.AsSpan());
    public override bool Equals(object? obj) => obj is EquatableArray<T> other && Equals(other);

    public override int GetHashCode()
    {
        int hash = 17;
        foreach (T item in AsSpan()) hash = unchecked(hash * 31 + (item?.GetHashCode() ?? 0));
        return hash;
    }

    public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)(_items ?? Array.Empty<T>())).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public static implicit operator EquatableArray<T>(T[] items) => new(items);
    public static implicit operator EquatableArray<T>(List<T> items) => new(items);
    public static implicit operator EquatableArray<T>(ImmutableArray<T> items) => new(items);
    public static bool operator ==(EquatableArray<T> a, EquatableArray<T> b) => a.Equals(b);
    public static bool operator !=(EquatableArray<T> a, EquatableArray<T> b) => !a.Equals(b);
    public override string ToString() => "[" + string.Join(", ", this) + "]";
}
