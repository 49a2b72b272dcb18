using System.Buffers.Binary;
using System.IO.Compression;

namespace Dl.Data;

/// <summary>
/// Reads one gzip member (RFC 1952) that fills a seekable stream to its end, checking what <see cref="GZipStream"/>
/// lets through: a truncated deflate stream or trailer, bytes after the member (garbage or a second member), and the
/// CRC-32 and ISIZE of the trailer. The header is parsed here and the deflate body inflated by a raw
/// <see cref="DeflateStream"/>; <see cref="CheckEnd"/> checks the framing once the decompressed data is read.
/// </summary>
/// <remarks>How the end of the deflate data is found without access to the inflater: the body is handed to the
/// <see cref="DeflateStream"/> in large reads except its last byte, which is handed over alone. A raw deflate stream
/// stops asking for input once its final block ends, so after the last decompressed byte: a request for input beyond
/// the body means the deflate data is cut short; a body not handed over completely means the member ended early and
/// other bytes follow it. Concatenated members (legal gzip, e.g. <c>cat a.gz b.gz</c>) are rejected as such: the IDX
/// files in use are single members, and a second member more often means a botched download or append.</remarks>
internal sealed class GzipMember : Stream
{
    private const int TrailerLength = 8;
    private readonly Stream _source;
    private readonly string _what;
    private readonly BodyStream _body;
    private readonly DeflateStream _inflate;
    private readonly long _trailerStart;
    private uint _crc;
    private long _length;

    private GzipMember(Stream source, string what, long bodyStart, long trailerStart)
    {
        _source = source;
        _what = what;
        _trailerStart = trailerStart;
        _body = new BodyStream(source, bodyStart, trailerStart);
        _inflate = new DeflateStream(_body, CompressionMode.Decompress, leaveOpen: true);
    }

    /// <summary>The compressed length (from the member's start to the end of the stream).</summary>
    public long CompressedLength { get; private init; }

    /// <summary>Parses the gzip header at the current position of <paramref name="source"/> (seekable); errors start
    /// with <paramref name="what"/> (e.g. "IDX file 'x.gz'").</summary>
    public static GzipMember Open(Stream source, string what)
    {
        long start = source.Position, end = source.Length;
        Span<byte> fixedPart = stackalloc byte[10];
        if (source.ReadAtLeast(fixedPart, 10, throwOnEndOfStream: false) < 10)
            throw Bad(what, "the gzip header is truncated (fewer than 10 bytes)");
        if (fixedPart[0] != 0x1f || fixedPart[1] != 0x8b) throw Bad(what, "not a gzip stream (magic 1f 8b expected)");
        if (fixedPart[2] != 8) throw Bad(what, $"gzip compression method {fixedPart[2]} is not deflate (8)");
        byte flags = fixedPart[3];
        if ((flags & 0xE0) != 0) throw Bad(what, $"gzip header flags 0x{flags:X2} set reserved bits");
        uint headerCrc = Crc32.Append(0, fixedPart);
        Span<byte> two = stackalloc byte[2];
        if ((flags & 0x04) != 0) // FEXTRA: a little-endian length, then that many bytes
        {
            ReadHeaderBytes(source, two, what, ref headerCrc);
            long skip = BinaryPrimitives.ReadUInt16LittleEndian(two);
            if (source.Position + skip > end) throw Bad(what, "the gzip header's extra field runs past the end of the file");
            Span<byte> extra = stackalloc byte[256];
            while (skip > 0)
            {
                Span<byte> part = extra[..(int)Math.Min(skip, extra.Length)];
                ReadHeaderBytes(source, part, what, ref headerCrc);
                skip -= part.Length;
            }
        }
        if ((flags & 0x08) != 0) SkipZeroTerminated(source, what, "file name", ref headerCrc);   // FNAME
        if ((flags & 0x10) != 0) SkipZeroTerminated(source, what, "comment", ref headerCrc);     // FCOMMENT
        if ((flags & 0x02) != 0) // FHCRC: the low 16 bits of the CRC-32 of the header so far
        {
            uint expected = headerCrc & 0xFFFF;
            ReadHeaderBytes(source, two, what, ref headerCrc);
            if (BinaryPrimitives.ReadUInt16LittleEndian(two) != expected)
                throw Bad(what, "the gzip header checksum (FHCRC) does not match the header");
        }
        long bodyStart = source.Position, trailerStart = end - TrailerLength;
        if (trailerStart <= bodyStart)
            throw Bad(what, $"the gzip stream is truncated: {end - bodyStart} bytes follow the header, too few for compressed data and the 8-byte CRC-32/ISIZE trailer");
        return new GzipMember(source, what, bodyStart, trailerStart) { CompressedLength = end - start };
    }

    private static void ReadHeaderBytes(Stream source, Span<byte> bytes, string what, ref uint crc)
    {
        if (source.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false) < bytes.Length)
            throw Bad(what, "the gzip header is truncated");
        crc = Crc32.Append(crc, bytes);
    }

    private static void SkipZeroTerminated(Stream source, string what, string field, ref uint crc)
    {
        Span<byte> one = stackalloc byte[1];
        do
        {
            if (source.Read(one) == 0) throw Bad(what, $"the gzip header's {field} runs past the end of the file");
            crc = Crc32.Append(crc, one);
        } while (one[0] != 0);
    }

    /// <summary>Checks the member's end after the decompressed data was read to its end (a read returned 0): the
    /// deflate data ended exactly before the trailer, and the trailer's CRC-32 and ISIZE match what was read.</summary>
    public void CheckEnd()
    {
        if (_body.EndRequested)
            throw Bad(_what, "the gzip stream is truncated: the compressed data ends before its end marker");
        long unused = _trailerStart - _body.Position;
        if (unused > 0)
            throw Bad(_what, $"{unused + TrailerLength} bytes follow the gzip member's compressed data where its 8-byte trailer should end the file " +
                             "(trailing data, or a second gzip member: only single-member gzip files are read)");
        Span<byte> trailer = stackalloc byte[TrailerLength];
        _source.Position = _trailerStart;
        _source.ReadExactly(trailer);
        uint crc = BinaryPrimitives.ReadUInt32LittleEndian(trailer), size = BinaryPrimitives.ReadUInt32LittleEndian(trailer[4..]);
        if (crc != _crc)
            throw Bad(_what, $"the gzip trailer's CRC-32 is 0x{crc:X8} but the decompressed data has 0x{_crc:X8} (the file is corrupt)");
        if (size != (uint)_length)
            throw Bad(_what, $"the gzip trailer's ISIZE is {size} but {_length} bytes were decompressed (modulo 2^32: {(uint)_length}; the file is corrupt)");
    }

    public override int Read(Span<byte> buffer)
    {
        int n;
        try
        {
            n = _inflate.Read(buffer);
        }
        catch (InvalidDataException e)
        {
            throw Bad(_what, $"the gzip stream is corrupt ({e.Message})", e);
        }
        _crc = Crc32.Append(_crc, buffer[..n]);
        _length += n;
        return n;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    protected override void Dispose(bool disposing)
    {
        if (disposing) _inflate.Dispose();
        base.Dispose(disposing);
    }

    private static InvalidDataException Bad(string what, string message, Exception? inner = null) => new($"{what}: {message}.", inner);

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <summary>The deflate body [begin, end) of the source, all but its last byte in large reads, the last byte alone;
    /// records a request for input past the end.</summary>
    private sealed class BodyStream(Stream source, long begin, long end) : Stream
    {
        public bool EndRequested { get; private set; }
        public override long Position { get; set; } = begin;

        public override int Read(Span<byte> buffer)
        {
            if (buffer.IsEmpty) return 0;
            if (Position >= end)
            {
                EndRequested = true;
                return 0;
            }
            long limit = Position < end - 1 ? end - 1 : end;
            int want = (int)Math.Min(buffer.Length, limit - Position);
            int n = source.Read(buffer[..want]);
            if (n == 0) throw new EndOfStreamException("The gzip source ended before its length said.");
            Position += n;
            return n;
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
