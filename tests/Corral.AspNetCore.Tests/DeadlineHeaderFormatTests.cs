using System;
using Xunit;

namespace Corral.AspNetCore.Tests;

public sealed class DeadlineHeaderFormatTests
{
    [Theory]
    [InlineData(DeadlineHeader.Corral, "2500", 25_000_000L)]
    [InlineData(DeadlineHeader.Grpc, "2500m", 25_000_000L)]
    [InlineData(DeadlineHeader.Grpc, "3S", 30_000_000L)]
    [InlineData(DeadlineHeader.Grpc, "2M", 1_200_000_000L)]
    [InlineData(DeadlineHeader.Grpc, "1H", 36_000_000_000L)]
    [InlineData(DeadlineHeader.Grpc, "1500u", 15_000L)]
    [InlineData(DeadlineHeader.Grpc, "1n", 1L)] // a nanosecond rounds up to a tick: never zero
    [InlineData(DeadlineHeader.Grpc, "0m", 0L)] // zero is "no time left", as grpc-go reads it
    [InlineData(DeadlineHeader.Grpc, "99999999H", 999_999_990_000_000L)] // capped at gRPC's 99,999,999 s
    [InlineData(DeadlineHeader.Connect, "2500", 25_000_000L)]
    [InlineData(DeadlineHeader.Connect, "9999999999", 99_999_999_990_000L)]
    [InlineData(DeadlineHeader.Connect, "0", 0L)]
    [InlineData(DeadlineHeader.Envoy, "15000", 150_000_000L)]
    public void TryParse_WellFormed_ReturnsTheTimeout(DeadlineHeader header, string value, long ticks)
    {
        Assert.True(DeadlineHeaderFormat.TryParse(header, value, out var timeout));
        Assert.Equal(TimeSpan.FromTicks(ticks), timeout);
    }

    [Theory]
    [InlineData(DeadlineHeader.Grpc, "")]
    [InlineData(DeadlineHeader.Grpc, "5")]
    [InlineData(DeadlineHeader.Grpc, "m")]
    [InlineData(DeadlineHeader.Grpc, "5x")]
    [InlineData(DeadlineHeader.Grpc, "5s")] // units are case-sensitive: s is not S
    [InlineData(DeadlineHeader.Grpc, "-5m")]
    [InlineData(DeadlineHeader.Grpc, " 5m")]
    [InlineData(DeadlineHeader.Grpc, "5 m")]
    [InlineData(DeadlineHeader.Grpc, "123456789m")]
    [InlineData(DeadlineHeader.Grpc, "1.5S")]
    [InlineData(DeadlineHeader.Connect, "")]
    [InlineData(DeadlineHeader.Connect, "12345678901")]
    [InlineData(DeadlineHeader.Connect, "5ms")]
    [InlineData(DeadlineHeader.Connect, "-1")]
    [InlineData(DeadlineHeader.Envoy, "1e3")]
    [InlineData(DeadlineHeader.Envoy, "15000 ")]
    public void TryParse_Malformed_ReturnsFalse(DeadlineHeader header, string value)
    {
        Assert.False(DeadlineHeaderFormat.TryParse(header, value, out _));
    }

    [Theory]
    [InlineData(DeadlineHeader.Corral, 72_500_000L, "7250")]
    [InlineData(DeadlineHeader.Grpc, 72_500_000L, "7250m")]
    [InlineData(DeadlineHeader.Connect, 72_500_000L, "7250")]
    [InlineData(DeadlineHeader.Envoy, 72_500_000L, "7250")]
    [InlineData(DeadlineHeader.Corral, 72_500_001L, "7251")] // never less than what is left (src/Shared/TimeLeft.cs)
    [InlineData(DeadlineHeader.Grpc, 72_500_001L, "7251m")]
    [InlineData(DeadlineHeader.Connect, 72_500_001L, "7251")]
    [InlineData(DeadlineHeader.Envoy, 72_500_001L, "7251")]
    [InlineData(DeadlineHeader.Corral, 14_000L, "2")] // 1.4 ms
    [InlineData(DeadlineHeader.Grpc, 14_000L, "2m")]
    [InlineData(DeadlineHeader.Connect, 14_000L, "2")]
    [InlineData(DeadlineHeader.Envoy, 14_000L, "2")]
    [InlineData(DeadlineHeader.Corral, -1L, "0")]
    [InlineData(DeadlineHeader.Grpc, -1L, "1n")] // grpc-dotnet's server reads 0m as no deadline: send what it reads as none left
    [InlineData(DeadlineHeader.Grpc, 0L, "1n")]
    [InlineData(DeadlineHeader.Grpc, 9_999L, "1m")] // under a millisecond left is not none left
    [InlineData(DeadlineHeader.Connect, -1L, "1")] // Connect asks for a positive value
    [InlineData(DeadlineHeader.Connect, 1L, "1")]
    [InlineData(DeadlineHeader.Envoy, -1L, "0")]
    [InlineData(DeadlineHeader.Envoy, 1L, "1")]
    [InlineData(DeadlineHeader.Grpc, 999_999_990_000L, "99999999m")] // eight digits of milliseconds, the most that fit
    [InlineData(DeadlineHeader.Grpc, 999_999_990_001L, "100000S")] // beyond eight digits of milliseconds: seconds, rounded up
    [InlineData(DeadlineHeader.Grpc, 1_000_000_000_000L, "100000S")]
    [InlineData(DeadlineHeader.Grpc, 1_000_000_000_001L, "100001S")]
    [InlineData(DeadlineHeader.Grpc, long.MaxValue, "99999999S")]
    [InlineData(DeadlineHeader.Connect, long.MaxValue, "9999999999")]
    public void Format_Remaining_RoundedUpInTheHeadersUnit(DeadlineHeader header, long ticks, string expected)
    {
        Assert.Equal(expected, DeadlineHeaderFormat.Format(header, TimeSpan.FromTicks(ticks)));
    }

    [Theory]
    [InlineData(DeadlineHeader.Corral, "Corral-Timeout")]
    [InlineData(DeadlineHeader.Grpc, "grpc-timeout")]
    [InlineData(DeadlineHeader.Connect, "Connect-Timeout-Ms")]
    [InlineData(DeadlineHeader.Envoy, "x-envoy-expected-rq-timeout-ms")]
    public void Name_EachHeader_IsItsWireName(DeadlineHeader header, string name)
    {
        Assert.Equal(name, DeadlineHeaderFormat.Name(header));
    }
}
