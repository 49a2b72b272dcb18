namespace Dl.Kernels;

/// <summary>A compile-time integer carried by a struct type argument, so generic kernels are specialised per value.</summary>
internal interface IGemmConst
{
    static abstract int Value { get; }
}

internal readonly struct GemmC1 : IGemmConst { public static int Value => 1; }
internal readonly struct GemmC2 : IGemmConst { public static int Value => 2; }
internal readonly struct GemmC3 : IGemmConst { public static int Value => 3; }
internal readonly struct GemmC4 : IGemmConst { public static int Value => 4; }
internal readonly struct GemmC5 : IGemmConst { public static int Value => 5; }
internal readonly struct GemmC6 : IGemmConst { public static int Value => 6; }
internal readonly struct GemmC7 : IGemmConst { public static int Value => 7; }
internal readonly struct GemmC8 : IGemmConst { public static int Value => 8; }
internal readonly struct GemmC9 : IGemmConst { public static int Value => 9; }
internal readonly struct GemmC10 : IGemmConst { public static int Value => 10; }
internal readonly struct GemmC11 : IGemmConst { public static int Value => 11; }
internal readonly struct GemmC12 : IGemmConst { public static int Value => 12; }
