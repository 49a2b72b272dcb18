namespace System.Runtime.CompilerServices
{
    // Polyfill: records and init accessors on netstandard2.0.
    internal static class IsExternalInit { }
}
