using ClusterDns.Protocol;

namespace ClusterDns.Protocol.Tests;

public class AllocationTests
{
    [Fact]
    public void Query_parse_and_error_reply_do_not_allocate()
    {
        var query = Convert.FromHexString(
            "fd220120000100000000000103776562036e73310373766307636c7573746572056c6f63616c000001000100002904d000000000000c000a000870ea74173907bd27");
        var name = new byte[DnsName.MaxWireLength];
        var reply = new byte[512];
        var queries = 0;
        for (var i = 0; i < 10; i++)
        {
            queries += Run(query, name, reply); // warm up (tiering, statics)
        }
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            queries += Run(query, name, reply);
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(1010, queries); // asserted outside the loop: xunit's comparers allocate
        Assert.Equal(0, allocated);

        static int Run(byte[] query, byte[] name, byte[] reply)
        {
            var disposition = DnsQueryParser.Parse(query, name, out var info);
            return DnsQueryParser.WriteErrorReply(query, info, DnsRcode.Refused, reply) > 0 && disposition == QueryDisposition.Query ? 1 : 0;
        }
    }
}
