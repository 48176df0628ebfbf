using System;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Corral.AspNetCore.Tests;

public sealed class CorralDeadlineHandlerTests
{
    /// <summary>Answers every request with 200 and keeps the last request's Corral-Timeout values.</summary>
    private sealed class CapturingHandler(string header = CorralHttpHeaders.Timeout) : HttpMessageHandler
    {
        public string? Values { get; private set; }

        public int Requests { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            return Task.FromResult(Send(request, cancellationToken));
        }

        protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests++;
            Values = request.Headers.TryGetValues(header, out var values) ? string.Join("|", values) : null;
            return new HttpResponseMessage(HttpStatusCode.OK);
        }
    }

    private static async Task<string?> SendAsync(HttpRequestMessage? request = null, DeadlineHeader header = DeadlineHeader.Corral)
    {
        var capture = new CapturingHandler(DeadlineHeaderFormat.Name(header));
        using var invoker = new HttpMessageInvoker(new CorralDeadlineHandler(capture) { Header = header });
        using var message = request ?? new HttpRequestMessage(HttpMethod.Get, "http://example.invalid/");
        using var response = await invoker.SendAsync(message, CancellationToken.None);
        Assert.Equal(1, capture.Requests);
        return capture.Values;
    }

    [Fact]
    public async Task SendAsync_AmbientDeadline_AddsRemainingMilliseconds()
    {
        var time = new FakeTimeProvider();
        string? values = null;
        await CancelScope.RunAsync(
            async _ =>
            {
                time.Advance(TimeSpan.FromSeconds(3));
                values = await SendAsync();
            },
            new CancelScopeOptions { Timeout = TimeSpan.FromSeconds(10), TimeProvider = time });

        Assert.Equal("7000", values);
    }

    [Fact]
    public async Task SendAsync_FractionalMillisecondsRemain_RoundsUp()
    {
        var time = new FakeTimeProvider();
        string? values = null;
        await CancelScope.RunAsync(
            async _ =>
            {
                time.Advance(TimeSpan.FromTicks(2_700)); // 0.27 ms
                values = await SendAsync();
            },
            new CancelScopeOptions { Timeout = TimeSpan.FromMilliseconds(10), TimeProvider = time });

        Assert.Equal("10", values); // 9.73 ms left: the server's deadline must not fall before ours (src/Shared/TimeLeft.cs)
    }

    [Theory]
    [InlineData(DeadlineHeader.Corral, "2")]
    [InlineData(DeadlineHeader.Grpc, "2m")]
    [InlineData(DeadlineHeader.Connect, "2")]
    [InlineData(DeadlineHeader.Envoy, "2")]
    public async Task SendAsync_OnePointFourMillisecondsLeft_SendsTwoInEveryHeader(DeadlineHeader header, string expected)
    {
        // Rounded down to 1, the server would count 1 ms from when it reads the header: on loopback that is before our deadline,
        // and its 504 would reach us while our own deadline had not passed.
        var time = new FakeTimeProvider();
        string? values = null;
        await CancelScope.RunAsync(
            async _ =>
            {
                time.Advance(TimeSpan.FromTicks(8_600)); // 0.86 ms spent of 2.26 ms
                values = await SendAsync(header: header);
            },
            new CancelScopeOptions { Timeout = TimeSpan.FromTicks(22_600), TimeProvider = time });

        Assert.Equal(expected, values);
    }

    [Fact]
    public async Task SendAsync_DeadlineOfAnOuterScope_UsesTheEffectiveDeadline()
    {
        var time = new FakeTimeProvider();
        string? values = null;
        await CancelScope.RunAsync(
            async _ => await CancelScope.RunAsync(async _ => values = await SendAsync()),
            new CancelScopeOptions { Timeout = TimeSpan.FromSeconds(2), TimeProvider = time });

        Assert.Equal("2000", values);
    }

    [Fact]
    public async Task SendAsync_DeadlinePassed_SendsZero()
    {
        var time = new FakeTimeProvider();
        string? values = null;
        await CancelScope.RunAsync(
            async _ =>
            {
                time.Advance(TimeSpan.FromSeconds(5));
                values = await SendAsync();
            },
            new CancelScopeOptions { Timeout = TimeSpan.FromSeconds(1), TimeProvider = time });

        Assert.Equal("0", values);
    }

    [Fact]
    public async Task SendAsync_DeadlineBeyondEightDigits_SendsTheMaximum()
    {
        var time = new FakeTimeProvider();
        string? values = null;
        await CancelScope.RunAsync(
            async _ => values = await SendAsync(),
            new CancelScopeOptions { Timeout = TimeSpan.FromDays(30), TimeProvider = time });

        Assert.Equal("99999999", values);
    }

    [Fact]
    public async Task SendAsync_NoAmbientScope_AddsNothing()
    {
        Assert.Null(CancelScope.Current);
        Assert.Null(await SendAsync());
    }

    [Fact]
    public async Task SendAsync_ScopeWithoutDeadline_AddsNothing()
    {
        string? values = "not run";
        await CancelScope.RunAsync(async _ => values = await SendAsync());
        Assert.Null(values);
    }

    [Fact]
    public async Task SendAsync_CallerSetTheHeader_LeavesItAlone()
    {
        var time = new FakeTimeProvider();
        string? values = null;
        await CancelScope.RunAsync(
            async _ =>
            {
                var request = new HttpRequestMessage(HttpMethod.Get, "http://example.invalid/");
                request.Headers.Add(CorralHttpHeaders.Timeout, "123");
                values = await SendAsync(request);
            },
            new CancelScopeOptions { Timeout = TimeSpan.FromSeconds(10), TimeProvider = time });

        Assert.Equal("123", values);
    }

    [Fact]
    public async Task Send_AmbientDeadline_AddsRemainingMilliseconds()
    {
        var time = new FakeTimeProvider();
        string? values = null;
        await CancelScope.RunAsync(
            _ =>
            {
                var capture = new CapturingHandler();
                using var invoker = new HttpMessageInvoker(new CorralDeadlineHandler(capture));
                using var request = new HttpRequestMessage(HttpMethod.Get, "http://example.invalid/");
                using var response = invoker.Send(request, CancellationToken.None);
                values = capture.Values;
                return Task.CompletedTask;
            },
            new CancelScopeOptions { Timeout = TimeSpan.FromSeconds(4), TimeProvider = time });

        Assert.Equal("4000", values);
    }

    [Fact]
    public void Constructor_NullInnerHandler_ThrowsArgumentNullException()
    {
        var e = Assert.Throws<ArgumentNullException>(() => new CorralDeadlineHandler(null!));
        Assert.Equal("innerHandler", e.ParamName);
    }

    [Fact]
    public void AddCorralDeadlines_NullBuilder_ThrowsArgumentNullException()
    {
        var e = Assert.Throws<ArgumentNullException>(() => CorralHttpClientBuilderExtensions.AddCorralDeadlines(null!));
        Assert.Equal("builder", e.ParamName);
    }

    [Fact]
    public async Task AddCorralDeadlines_FactoryClient_SendsTheAmbientDeadline()
    {
        var capture = new CapturingHandler();
        var services = new ServiceCollection();
        services.AddHttpClient("downstream").ConfigurePrimaryHttpMessageHandler(() => capture).AddCorralDeadlines();
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IHttpClientFactory>().CreateClient("downstream");

        var time = new FakeTimeProvider();
        await CancelScope.RunAsync(
            async scope =>
            {
                using var response = await client.GetAsync(new Uri("http://example.invalid/"), scope.Token);
            },
            new CancelScopeOptions { Timeout = TimeSpan.FromMilliseconds(2500), TimeProvider = time });

        Assert.Equal("2500", capture.Values);
    }

    [Theory]
    [InlineData(DeadlineHeader.Corral, 3_000, "7000")]
    [InlineData(DeadlineHeader.Grpc, 3_000, "7000m")]
    [InlineData(DeadlineHeader.Connect, 3_000, "7000")]
    [InlineData(DeadlineHeader.Envoy, 3_000, "7000")]
    [InlineData(DeadlineHeader.Grpc, 20_000, "1n")]
    [InlineData(DeadlineHeader.Connect, 20_000, "1")]
    public async Task SendAsync_HeaderChosen_SendsTheTimeLeftInThatHeader(DeadlineHeader header, int spentMs, string expected)
    {
        var time = new FakeTimeProvider();
        string? values = null;
        await CancelScope.RunAsync(
            async _ =>
            {
                time.Advance(TimeSpan.FromMilliseconds(spentMs));
                values = await SendAsync(header: header);
            },
            new CancelScopeOptions { Timeout = TimeSpan.FromSeconds(10), TimeProvider = time });

        Assert.Equal(expected, values);
    }

    [Fact]
    public void Header_Undefined_ThrowsArgumentOutOfRangeException()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new CorralDeadlineHandler { Header = (DeadlineHeader)9 });
        Assert.Equal("Header", e.ParamName);
    }

    [Fact]
    public void AddCorralDeadlines_UndefinedHeader_ThrowsArgumentOutOfRangeException()
    {
        var builder = new ServiceCollection().AddHttpClient("x");
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => builder.AddCorralDeadlines((DeadlineHeader)9));
        Assert.Equal("header", e.ParamName);
    }

    [Fact]
    public async Task AddCorralDeadlines_GrpcHeader_FactoryClientSendsGrpcTimeout()
    {
        var capture = new CapturingHandler(CorralHttpHeaders.GrpcTimeout);
        var services = new ServiceCollection();
        services.AddHttpClient("downstream").ConfigurePrimaryHttpMessageHandler(() => capture).AddCorralDeadlines(DeadlineHeader.Grpc);
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IHttpClientFactory>().CreateClient("downstream");

        var time = new FakeTimeProvider();
        await CancelScope.RunAsync(
            async scope =>
            {
                using var response = await client.GetAsync(new Uri("http://example.invalid/"), scope.Token);
            },
            new CancelScopeOptions { Timeout = TimeSpan.FromMilliseconds(2500), TimeProvider = time });

        Assert.Equal("2500m", capture.Values);
    }
}
