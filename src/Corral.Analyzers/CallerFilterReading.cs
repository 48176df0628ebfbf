namespace Corral.Analyzers;

/// <summary>The result of reading one exception filter with <see cref="CallerFilterFacts"/>.</summary>
internal readonly struct CallerFilterReading
{
    public CallerFilterReading(CallerFilterVerdict verdict, bool readsCancellation, bool readsTimeout)
    {
        Verdict = verdict;
        ReadsCancellation = readsCancellation;
        ReadsTimeout = readsTimeout;
    }

    /// <summary>What the filter does with the caller's cancellation.</summary>
    public CallerFilterVerdict Verdict { get; }

    /// <summary>
    /// Whether the filter tests something about cancellation that the reading could place: the exception's type
    /// (<c>e is TaskCanceledException</c>), its token, or a token source of known origin. A filter made only of other
    /// conditions (<c>attempt &lt; 3</c>, <c>_disposed</c>) says nothing about whose cancellation this is.
    /// </summary>
    public bool ReadsCancellation { get; }

    /// <summary>Whether the filter tests a linked source given a timeout (<see cref="TokenOrigin.LinkedTimeout"/>).</summary>
    public bool ReadsTimeout { get; }

    /// <summary>Whether the caller's cancellation enters the catch block through a filter that claims to tell cancellations apart.</summary>
    public bool AdmitsByCancellationTest => Verdict == CallerFilterVerdict.Admits && ReadsCancellation;
}
