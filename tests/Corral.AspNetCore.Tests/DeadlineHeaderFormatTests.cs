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
    [InlineData(DeadlineHeader.Corral, 72_509_999L, "7250")]
    [InlineData(DeadlineHeader.Grpc, 72_509_999L, "7250m")]
    [InlineData(DeadlineHeader.Connect, 72_509_999L, "7250")]
    [InlineData(DeadlineHeader.Envoy, 72_509_999L, "7250")]
    [InlineData(DeadlineHeader.Corral, -1L, "0")]
    [InlineData(DeadlineHeader.Grpc, -1L, "1n")] // grpc-dotnet's server reads 0m as no deadline: send what it reads as none left
    [InlineData(DeadlineHeader.Grpc, 9_999L, "1n")]
    [InlineData(DeadlineHeader.Connect, -1L, "1")] // Connect asks for a positive value
    [InlineData(DeadlineHeader.Envoy, -1L, "0")]
    [InlineData(DeadlineHeader.Grpc, 1_000_000_000_000L, "100000S")] // beyond eight digits of milliseconds: seconds
    [InlineData(DeadlineHeader.Grpc, long.MaxValue, "99999999S")]
    [InlineData(DeadlineHeader.Connect, long.MaxValue, "9999999999")]
    public void Format_Remaining_RoundedDownInTheHeadersUnit(DeadlineHeader header, long ticks, string expected)
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
