using System;

namespace Corral.Dashboard;

/// <summary>A capture failed in a way a person should read (the target process is gone, or did not answer).</summary>
internal sealed class DashboardSourceException : Exception
{
    /// <summary>Initializes the exception.</summary>
    public DashboardSourceException()
    {
    }

    /// <summary>Initializes the exception with a message for people.</summary>
    /// <param name="message">What went wrong.</param>
    public DashboardSourceException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes the exception with a message for people and its cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public DashboardSourceException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
