using System;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Corral.AspNetCore;
using Corral.Grpc.Tests.Protos;
using Grpc.Core;
using Xunit;

namespace Corral.Grpc.Tests;

/// <summary>
/// The invariant of src/Shared/TimeLeft.cs end to end: a hop tells the next one the time left rounded up, so the next hop's
/// deadline never falls before ours, and the failure its deadline causes (a 504) reaches us when our own clock says our deadline
/// has passed too. The call then ends <c>DeadlineExceeded</c>, not <c>Unknown</c> ("Exception was thrown by handler"), even when
/// our own deadline's timer has not run yet.
/// </summary>
public sealed class DeadlineOrderTests
{
    [Fact]
    public async Task ServerInterceptor_NextHops504ArrivesBeforeOurTimerRuns_DeadlineExceededNotUnknown()
    {
        var clock = new SplitClock(); // its timers never run: the 504 comes before our deadline's timer, as on a busy machine
        var inventory = new AnswersAtItsDeadline(clock);
        var handlers = new ProbeHandlers();
        handlers.Unary = async (request, context) =>
        {
            if (request.Text == "warm-up")
            {
                return new ProbeReply();
            }

            handlers.Observe(context);
            clock.Now += TimeSpan.FromTicks(999_986_000); // 99,998.6 ms of work: 1.4 ms left of the call's 100 s
            using var http = new HttpClient(new CorralDeadlineHandler(inventory)) { BaseAddress = new Uri("http://inventory.invalid/") };
            var text = await http.GetStringAsync(new Uri("/stock", UriKind.Relative), context.CancellationToken);
            return new ProbeReply { Text = text };
        };
        await using var server = await Probes.StartAsync(handlers, clock);
        var client = new Protos.Probe.ProbeClient(server.CreateChannel());
        await Probes.WarmUpAsync(client);

        var e = await Assert.ThrowsAsync<RpcException>(
            () => client.UnaryAsync(new ProbeRequest { Text = "order" }, deadline: DateTime.UtcNow.AddSeconds(100)).ResponseAsync.WaitAsync(Probes.Patience));

        Assert.Equal("100S", handlers.Observed!.GrpcTimeout); // the whole budget arrived: 1.4 ms is exactly what was left
        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode); // rounded down, inventory's deadline came 0.4 ms before ours: Unknown
        Assert.Equal("2", inventory.Header);
    }

    /// <summary>
    /// The next hop at its worst: the request crosses in no time, the hop counts its deadline from the header it was sent, works
    /// until that deadline and answers 504 at that instant (moving the shared clock there).
    /// </summary>
    private sealed class AnswersAtItsDeadline(SplitClock clock) : HttpMessageHandler
    {
        public string? Header { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Header = request.Headers.GetValues(CorralHttpHeaders.Timeout).Single();
            clock.Now += TimeSpan.FromMilliseconds(long.Parse(Header, CultureInfo.InvariantCulture));
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.GatewayTimeout));
        }
    }
}
