using System;
using Xunit;

namespace Corral.AspNetCore.Tests;

public sealed class CorralTimeoutHeaderTests
{
    [Theory]
    [InlineData("0", 0)]
    [InlineData("7", 7)]
    [InlineData("0007", 7)]
    [InlineData("10000", 10_000)]
    [InlineData("99999999", 99_999_999)]
    public void TryParse_DigitsOnly_ReturnsMilliseconds(string value, long milliseconds)
    {
        Assert.True(CorralTimeoutHeader.TryParse(value, out var timeout));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), timeout);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" 5")]
    [InlineData("5 ")]
    [InlineData("-5")]
    [InlineData("+5")]
    [InlineData("1.5")]
    [InlineData("1e3")]
    [InlineData("5S")]
    [InlineData("123456789")]
    [InlineData("٣")] // an Arabic-Indic digit: a digit, but not an ASCII one
    public void TryParse_AnythingElse_ReturnsFalse(string value)
    {
        Assert.False(CorralTimeoutHeader.TryParse(value, out _));
    }

    [Theory]
    [InlineData(0L, "0")]
    [InlineData(-10_000_000L, "0")]
    [InlineData(1L, "1")] // 100 ns left is not none left
    [InlineData(9_999L, "1")]
    [InlineData(10_000L, "1")]
    [InlineData(10_001L, "2")]
    [InlineData(14_000L, "2")]
    [InlineData(19_999L, "2")]
    [InlineData(100_000_000L, "10000")]
    [InlineData(999_999_980_001L, "99999999")]
    [InlineData(999_999_990_000L, "99999999")]
    [InlineData(999_999_990_001L, "99999999")]
    [InlineData(long.MaxValue, "99999999")]
    public void Format_Ticks_WholeMillisecondsRoundedUpAndClamped(long ticks, string expected)
    {
        Assert.Equal(expected, CorralTimeoutHeader.Format(TimeSpan.FromTicks(ticks)));
    }
}
