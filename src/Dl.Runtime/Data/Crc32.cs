using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Dl.Data;

/// <summary>CRC-32 of gzip (ISO 3309 / ITU-T V.42: reflected polynomial 0xEDB88320, initial and final XOR 0xFFFFFFFF):
/// the trailer check of <see cref="GzipMember"/>. Long inputs are folded 64 bytes at a time with carry-less
/// multiplication (PCLMULQDQ) down to 16 bytes whose CRC the byte table finishes; the rest goes through the table.</summary>
/// <remarks>Folding: for 16-byte blocks A, B at distance d bits, A·x^d + B ≡ A_lo·(x^(d+32) mod P) + A_hi·(x^(d−32) mod P) + B
/// (mod P) in the bit-reflected domain, so a message and its folded form have the same CRC. The constants are those
/// residues for d = 512 (four lanes) and d = 128 (one lane), reflected.</remarks>
internal static class Crc32
{
    private static readonly uint[] Table = Build();

    private static uint[] Build()
    {
        var table = new uint[256];
        for (uint b = 0; b < 256; b++)
        {
            uint c = b;
            for (int i = 0; i < 8; i++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[b] = c;
        }
        return table;
    }

    /// <summary>Continues <paramref name="crc"/> (0 for an empty message) over <paramref name="data"/>.</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        uint register = ~crc;
        int i = 0;
        if (Pclmulqdq.IsSupported && data.Length >= 64)
        {
            ref byte p = ref MemoryMarshal.GetReference(data);
            // The register is XORed into the first four bytes; the folded remainder is then CRC'd from register 0.
            Vector128<ulong> x0 = Load(ref p, 0) ^ Vector128.CreateScalar(register).AsUInt64();
            Vector128<ulong> x1 = Load(ref p, 16), x2 = Load(ref p, 32), x3 = Load(ref p, 48);
            i = 64;
            var by4 = Vector128.Create(0x154442bd4UL, 0x1c6e41596UL);
            for (; i + 64 <= data.Length; i += 64)
            {
                x0 = Fold(x0, by4) ^ Load(ref p, i);
                x1 = Fold(x1, by4) ^ Load(ref p, i + 16);
                x2 = Fold(x2, by4) ^ Load(ref p, i + 32);
                x3 = Fold(x3, by4) ^ Load(ref p, i + 48);
            }
            var by1 = Vector128.Create(0x1751997d0UL, 0x0ccaa009eUL);
            Vector128<ulong> x = Fold(Fold(Fold(x0, by1) ^ x1, by1) ^ x2, by1) ^ x3;
            for (; i + 16 <= data.Length; i += 16) x = Fold(x, by1) ^ Load(ref p, i);
            Span<byte> rest = stackalloc byte[16];
            x.AsByte().CopyTo(rest);
            register = Bytes(0, rest);
        }
        return ~Bytes(register, data[i..]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<ulong> Load(ref byte p, int offset) => Vector128.LoadUnsafe(ref p, (nuint)offset).AsUInt64();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<ulong> Fold(Vector128<ulong> x, Vector128<ulong> k) =>
        Pclmulqdq.CarrylessMultiply(x, k, 0x00) ^ Pclmulqdq.CarrylessMultiply(x, k, 0x11);

    private static uint Bytes(uint register, ReadOnlySpan<byte> data)
    {
        ref uint table = ref MemoryMarshal.GetArrayDataReference(Table);
        foreach (byte b in data) register = Unsafe.Add(ref table, (byte)(register ^ b)) ^ (register >> 8);
        return register;
    }
}
