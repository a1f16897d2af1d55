using System.Buffers;
using System.Buffers.Binary;

namespace ClusterDns.Server;

internal sealed partial class DnsTcpListener
{
    /// <summary>
    /// One connection's reader state: the received octets not yet taken as frames (<see cref="Input"/> from
    /// <see cref="Start"/> to <see cref="End"/>) and the answers gathered for the next send.
    /// </summary>
    private sealed class StreamState : IDisposable
    {
        public byte[] Input { get; private set; } = ArrayPool<byte>.Shared.Rent(StreamBufferSize);

        public int Start;

        public int End;

        public byte[] Output { get; } = ArrayPool<byte>.Shared.Rent(StreamBufferSize);

        public int OutputLength;

        /// <summary>Adds one framed reply to the next send; false when it does not fit (or has further messages).</summary>
        public bool TryAppend(DnsResponseWriter reply)
        {
            if (reply.MoreMessages.Count > 0 || OutputLength + 2 + reply.Length > Output.Length)
            {
                return false;
            }
            BinaryPrimitives.WriteUInt16BigEndian(Output.AsSpan(OutputLength), (ushort)reply.Length);
            reply.Bytes.CopyTo(Output.AsSpan(OutputLength + 2));
            OutputLength += 2 + reply.Length;
            return true;
        }

        /// <summary>Moves the unparsed octets to the front of the buffer.</summary>
        public void Compact()
        {
            if (Start == 0)
            {
                return;
            }
            Input.AsSpan(Start, End - Start).CopyTo(Input);
            End -= Start;
            Start = 0;
        }

        /// <summary>Makes the receive buffer large enough for a whole frame of <paramref name="frameLength"/> octets.</summary>
        public void EnsureRoom(int frameLength)
        {
            if (frameLength <= Input.Length)
            {
                return;
            }
            var larger = ArrayPool<byte>.Shared.Rent(frameLength);
            Input.AsSpan(Start, End - Start).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(Input);
            Input = larger;
            End -= Start;
            Start = 0;
        }

        public void Dispose()
        {
            ArrayPool<byte>.Shared.Return(Input);
            ArrayPool<byte>.Shared.Return(Output);
        }
    }
}
