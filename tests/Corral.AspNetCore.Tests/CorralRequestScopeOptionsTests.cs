using System;
using System.Threading;
using Xunit;

namespace Corral.AspNetCore.Tests;

public sealed class CorralRequestScopeOptionsTests
{
    public static TheoryData<TimeSpan> OutOfRange => new()
    {
        TimeSpan.Zero,
        // Timeout.InfiniteTimeSpan is FromMilliseconds(-1): one row, or xunit skips the second as a duplicate ID.
        Timeout.InfiniteTimeSpan,
        TimeSpan.FromTicks(-1),
        TimeSpan.MinValue,
        TimeSpan.MaxValue,
        TimeSpan.FromMilliseconds(CorralHttpHeaders.MaxTimeoutMilliseconds + 1),
    };

    [Fact]
    public void Defaults_AreNoTimeoutsSystemClockAnd504()
    {
        var options = new CorralRequestScopeOptions();

        Assert.Null(options.MaxTimeout);
        Assert.Null(options.DefaultTimeout);
        Assert.Null(options.TimeProvider);
        Assert.Equal(504, options.TimeoutStatusCode);
        Assert.Equal([DeadlineHeader.Corral, DeadlineHeader.Grpc, DeadlineHeader.Connect], options.DeadlineHeaders);
        Assert.Equal(TimeSpan.FromMilliseconds(250), options.CallerDeadlineMargin);
        Assert.False(options.WriteProblemDetails);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(60_001)]
    public void CallerDeadlineMargin_OutOfRange_ThrowsArgumentOutOfRangeException(int milliseconds)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(
            () => new CorralRequestScopeOptions { CallerDeadlineMargin = TimeSpan.FromMilliseconds(milliseconds) });
        Assert.Equal("CallerDeadlineMargin", e.ParamName);
    }

    [Theory]
    [MemberData(nameof(OutOfRange))]
    public void MaxTimeout_OutOfRange_ThrowsArgumentOutOfRangeException(TimeSpan value)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new CorralRequestScopeOptions { MaxTimeout = value });
        Assert.Equal("MaxTimeout", e.ParamName);
        Assert.Contains("must be positive", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(OutOfRange))]
    public void DefaultTimeout_OutOfRange_ThrowsArgumentOutOfRangeException(TimeSpan value)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new CorralRequestScopeOptions { DefaultTimeout = value });
        Assert.Equal("DefaultTimeout", e.ParamName);
        Assert.Contains("must be positive", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Timeouts_NullAndLimits_AreAccepted()
    {
        var largest = TimeSpan.FromMilliseconds(CorralHttpHeaders.MaxTimeoutMilliseconds);
        var options = new CorralRequestScopeOptions { MaxTimeout = largest, DefaultTimeout = TimeSpan.FromTicks(1) };

        options.MaxTimeout = null;
        options.DefaultTimeout = null;

        Assert.Null(options.MaxTimeout);
        Assert.Null(options.DefaultTimeout);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(200)]
    [InlineData(399)]
    [InlineData(600)]
    [InlineData(-504)]
    public void TimeoutStatusCode_NotAnErrorStatus_ThrowsArgumentOutOfRangeException(int value)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new CorralRequestScopeOptions { TimeoutStatusCode = value });
        Assert.Equal("TimeoutStatusCode", e.ParamName);
        Assert.Contains("from 400 to 599", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(400)]
    [InlineData(503)]
    [InlineData(599)]
    public void TimeoutStatusCode_ErrorStatus_IsKept(int value)
    {
        Assert.Equal(value, new CorralRequestScopeOptions { TimeoutStatusCode = value }.TimeoutStatusCode);
    }
}
