// ---------------------------------------------------------------------------------------------
// VirtualClock: the TimeProvider of one test run, whose time moves only when someone moves it.
//
// THE PROBLEM. A test of code full of timeouts, retries and deadlines must neither wait for them in real time (slow)
// nor race them (flaky). A fake clock fixes both only if something knows when to move it and how far: the test run
// (Core/TestRun.cs) moves it when every task of the run waits, to the earliest pending timer, and for that it must know
// which timer that is.
//
// WHY NOT FakeTimeProvider (docs/adr/0015). It keeps its timers in an internal set with no public way to ask for the
// earliest due time; its Advance moves the clock to the target first and then runs every due timer with the clock
// already there, so a callback at 1 s of an Advance(10 s) reads 10 s; and its callbacks run on whichever thread
// advances, in that thread's ExecutionContext. A run needs exact instants (a callback due at 1 s reads 1 s), the
// earliest due time in O(1), and callbacks in the ExecutionContext their timer was created in, as System timers do.
//
// THE DESIGN. An indexed binary min-heap of armed timers keyed by (due time, arming sequence): the earliest is at the
// top, and timers due at the same instant fire in the order they were armed. Moving the clock to a target pops and fires
// timers one at a time: the clock is set to each timer's due time before its callback runs, so every callback and
// every continuation it releases sees the instant it was scheduled for. A periodic timer goes back into the heap at
// due + period before its callback runs (a callback may Change or Dispose it). Firing is serialized by a reentrant lock
// (_advanceGate): a callback may itself advance the clock; the heap's own lock (_gate) is never held while user code
// runs, so a callback may create, change and dispose timers.
//
// NEVER FIRED INSIDE Change: a timer armed for "now" (due 0) waits for the run's loop (or the next Advance) instead of
// running inside the call that armed it, which may hold a lock (Corral's DeadlineQueue arms under its own).
//
// AFTER THE RUN. The clock freezes: reads return the last instant (the task tree may still read the age of a scope that
// a deadlocked run left behind), while anything that needs time to move again (Advance, a timer with a finite due time)
// throws InvalidOperationException saying why.
// ---------------------------------------------------------------------------------------------
using System;
using System.Diagnostics;
using System.Globalization;
using System.Threading;
using Corral.Testing.Core;

namespace Corral.Testing;

/// <summary>
/// The virtual <see cref="TimeProvider"/> of one <see cref="CorralTest.RunAsync(Func{VirtualClock, CancellationToken, System.Threading.Tasks.Task}, CorralTestOptions?)"/>
/// run: its time moves only when the run jumps it (every task waits) or the test calls <see cref="Advance"/>.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Every Corral scope in the run uses it by default (the run's root scope sets it), and code under test takes it
/// wherever a <see cref="TimeProvider"/> goes: <c>Task.Delay(delay, clock)</c>, <c>new PeriodicTimer(period, clock)</c>,
/// <c>new CancellationTokenSource(delay, clock)</c>, <c>Task.WaitAsync(timeout, clock)</c>.</item>
/// <item>Exact: a timer due at an instant fires with the clock at exactly that instant (to the tick), after every timer
/// due earlier; timers due at the same instant fire in the order they were armed. Time never goes backwards.</item>
/// <item>Timer callbacks run on the thread that moves the clock (the run's scheduler thread when the run jumps it), in the
/// <see cref="ExecutionContext"/> the timer was created in, as <see cref="TimeProvider.System"/> timers do; never inside the
/// call that creates or changes a timer.</item>
/// <item><see cref="TimeProvider.LocalTimeZone"/> is UTC, so tests do not depend on the machine's zone.</item>
/// <item>Thread-safe. After its run ends the clock is frozen: reads return the last instant, and <see cref="Advance"/> or
/// arming a timer throws <see cref="InvalidOperationException"/>.</item>
/// </list>
/// </remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed partial class VirtualClock : TimeProvider
{
    /// <summary>Guards the heap, <see cref="_nowTicks"/> and <see cref="_ended"/>; never held while user code runs.</summary>
    private readonly object _gate = new();

    /// <summary>Serializes firing (reentrant: a callback may advance the clock itself); taken before <see cref="_gate"/>.</summary>
    private readonly object _advanceGate = new();

    /// <summary>The instant the clock started at, in UTC ticks.</summary>
    private readonly long _startTicks;

    /// <summary>Told whenever the set of armed timers changes, so the run's loop re-examines it (outside <see cref="_gate"/>).</summary>
    private readonly Action? _onTimersChanged;

    /// <summary>The current instant in UTC ticks. INVARIANT: never decreases, and never passes an armed timer's due time
    /// except while that timer is being fired.</summary>
    private long _nowTicks;

    /// <summary>Hands out arming sequence numbers: the tie-breaker between timers due at the same instant.</summary>
    private long _nextSequence;

    /// <summary>Whether the run has ended: the clock is frozen.</summary>
    private bool _ended;

    internal VirtualClock(DateTimeOffset start, Action? onTimersChanged)
    {
        _startTicks = start.UtcTicks;
        _nowTicks = _startTicks;
        _onTimersChanged = onTimersChanged;
        Start = new DateTimeOffset(_startTicks, TimeSpan.Zero);
    }

    /// <summary>Gets the instant the clock started at (UTC): <see cref="CorralTestOptions.StartTime"/>.</summary>
    /// <remarks>The same instant as the option, with an offset of zero; never changes.</remarks>
    public DateTimeOffset Start { get; }

    /// <summary>Gets how much virtual time has passed since <see cref="Start"/>: the value to assert exact timings on.</summary>
    /// <remarks>
    /// <list type="bullet">
    /// <item>Exact to the tick, zero or more, and never decreases.</item>
    /// <item>Inside a timer's callback it reads that timer's own due time.</item>
    /// <item>Thread-safe; after the run ended it stays at the run's last instant.</item>
    /// </list>
    /// </remarks>
    public TimeSpan Elapsed => new(NowTicks - _startTicks);

    /// <inheritdoc />
    /// <remarks>Returns the frequency of <see cref="TimeSpan"/> ticks, so elapsed times are exact.</remarks>
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <inheritdoc />
    /// <remarks>Always UTC.</remarks>
    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    /// <summary>Gets or sets the context that callbacks of timers created without one run in (the run's own).</summary>
    internal ExecutionContext? DefaultContext { get; set; }

    /// <summary>Gets the current instant in UTC ticks.</summary>
    internal long NowTicks
    {
        get
        {
            lock (_gate)
            {
                return _nowTicks;
            }
        }
    }

    /// <summary>Gets the number of armed timers (diagnostics and tests).</summary>
    internal int ArmedTimerCount
    {
        get
        {
            lock (_gate)
            {
                return _count;
            }
        }
    }

    /// <summary>Gets a value indicating whether a timer is due now and waits to be fired.</summary>
    internal bool HasDueTimer
    {
        get
        {
            lock (_gate)
            {
                return _count > 0 && _heap[0]!.DueTicks <= _nowTicks;
            }
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// <list type="bullet">
    /// <item>Always with an offset of zero; never goes backwards; <see cref="Start"/> plus <see cref="Elapsed"/>.</item>
    /// <item>Thread-safe; after the run ended it returns the run's last instant.</item>
    /// </list>
    /// </remarks>
    public override DateTimeOffset GetUtcNow() => new(NowTicks, TimeSpan.Zero);

    /// <inheritdoc />
    /// <remarks>Ticks since <see cref="Start"/>; <see cref="TimestampFrequency"/> is <see cref="TimeSpan.TicksPerSecond"/>.</remarks>
    public override long GetTimestamp() => NowTicks - _startTicks;

    /// <inheritdoc />
    /// <remarks>
    /// <list type="bullet">
    /// <item>Due times and periods are exact to the tick (System timers round them to milliseconds).</item>
    /// <item>The callback never runs inside this call, even for a due time of zero: it runs when the run's loop next turns
    /// or when the clock is next advanced.</item>
    /// <item>Throws <see cref="ArgumentOutOfRangeException"/> for a due time or period below -1 ms or above
    /// 4294967294 ms (as <see cref="Timer"/> does), and <see cref="InvalidOperationException"/> for a finite due time after the
    /// run ended.</item>
    /// </list>
    /// </remarks>
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        VirtualTimer.Validate(dueTime, nameof(dueTime));
        VirtualTimer.Validate(period, nameof(period));
        var context = ExecutionContext.IsFlowSuppressed() ? null : ExecutionContext.Capture();
        var timer = new VirtualTimer(this, callback, state, context);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>
    /// Moves the clock forward by <paramref name="delta"/>, firing every timer due on the way at its own instant, in order.
    /// </summary>
    /// <param name="delta">How far to move; zero fires only the timers already due.</param>
    /// <remarks>
    /// <list type="bullet">
    /// <item>Callbacks run on the calling thread before this method returns; continuations they release onto the run's
    /// scheduler run when the caller next yields to it (inside a run, at its next <c>await</c>).</item>
    /// <item>Not needed in a run whose tasks wait: the run jumps the clock itself. Use it to hold the test's own task still
    /// while time passes (for example to check that nothing fired one tick early).</item>
    /// <item>Throws <see cref="ArgumentOutOfRangeException"/> for a negative <paramref name="delta"/> or one that passes
    /// <see cref="DateTimeOffset.MaxValue"/>, <see cref="InvalidOperationException"/> after the run ended; an exception thrown
    /// by a timer callback leaves this method with the clock at that timer's instant.</item>
    /// <item>Thread-safe; calls from several threads fire each timer once, in order.</item>
    /// </list>
    /// </remarks>
    public void Advance(TimeSpan delta)
    {
        if (delta < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(
                nameof(delta), delta, "Virtual time cannot go backwards: Advance takes a duration of zero or more.");
        }

        long target;
        lock (_gate)
        {
            ThrowIfEnded("advance it");
            if (delta.Ticks > DateTimeOffset.MaxValue.UtcTicks - _nowTicks)
            {
                throw new ArgumentOutOfRangeException(
                    nameof(delta), delta, $"Advancing by {delta} would pass DateTimeOffset.MaxValue; the clock reads {GetUtcNowLocked():O}.");
            }

            target = _nowTicks + delta.Ticks;
        }

        AdvanceTo(target);
    }

    /// <summary>Returns the current instant and the time since <see cref="Start"/>, for diagnostics.</summary>
    /// <returns>A string such as <c>2000-01-01T00:10:00.0000000+00:00 (+00:10:00)</c>.</returns>
    public override string ToString()
    {
        var now = NowTicks;
        return string.Create(
            CultureInfo.InvariantCulture, $"{new DateTimeOffset(now, TimeSpan.Zero):O} (+{new TimeSpan(now - _startTicks)})");
    }

    /// <summary>Gets the due time of the earliest armed timer, if any.</summary>
    internal bool TryGetNextDue(out long dueTicks)
    {
        lock (_gate)
        {
            if (_count == 0)
            {
                dueTicks = 0;
                return false;
            }

            dueTicks = _heap[0]!.DueTicks;
            return true;
        }
    }

    /// <summary>Fires the timers that are due now, without moving the clock.</summary>
    internal void FireDueTimers() => AdvanceTo(NowTicks);

    /// <summary>Moves the clock to the earliest armed timer and fires every timer due at that instant.</summary>
    /// <returns><see langword="false"/> when no timer is armed (nothing moved).</returns>
    internal bool JumpToNextTimer()
    {
        lock (_advanceGate)
        {
            if (!TryGetNextDue(out var due))
            {
                return false;
            }

            AdvanceTo(due);
            return true;
        }
    }

    /// <summary>Freezes the clock: the run has ended.</summary>
    internal void End()
    {
        lock (_gate)
        {
            _ended = true;
        }
    }

    /// <summary>Arms, re-arms or disarms a timer (a negative <paramref name="dueTicks"/> disarms).</summary>
    /// <returns><see langword="false"/> when the timer was disposed.</returns>
    internal bool Change(VirtualTimer timer, long dueTicks, long periodTicks)
    {
        lock (_gate)
        {
            if (timer.IsDisposed)
            {
                return false;
            }

            if (dueTicks >= 0)
            {
                ThrowIfEnded("arm a timer on it");
            }

            if (timer.HeapIndex >= 0)
            {
                RemoveAtLocked(timer.HeapIndex);
            }

            timer.PeriodTicks = periodTicks;
            if (dueTicks >= 0)
            {
                timer.DueTicks = _nowTicks + dueTicks;
                timer.Sequence = _nextSequence++;
                InsertLocked(timer);
            }

            AssertInvariants();
        }

        _onTimersChanged?.Invoke();
        return true;
    }

    /// <summary>Disarms a timer for good.</summary>
    internal void Dispose(VirtualTimer timer)
    {
        lock (_gate)
        {
            timer.IsDisposed = true;
            if (timer.HeapIndex >= 0)
            {
                RemoveAtLocked(timer.HeapIndex);
            }

            AssertInvariants();
        }
    }

    /// <summary>Moves the clock to <paramref name="targetTicks"/>, firing each timer due by then at its own instant.</summary>
    private void AdvanceTo(long targetTicks)
    {
        lock (_advanceGate)
        {
            while (true)
            {
                VirtualTimer timer;
                lock (_gate)
                {
                    if (_count == 0 || _heap[0]!.DueTicks > targetTicks)
                    {
                        // INVARIANT: the clock stops short of every armed timer it did not fire.
                        _nowTicks = Math.Max(_nowTicks, targetTicks);
                        AssertInvariants();
                        return;
                    }

                    timer = _heap[0]!;
                    _nowTicks = Math.Max(_nowTicks, timer.DueTicks);
                    RemoveAtLocked(0);
                    if (timer.PeriodTicks > 0)
                    {
                        // The next period counts from the instant this one was due, not from when it ran, so periods do not
                        // drift. It is armed before the callback runs: the callback may Change or Dispose it.
                        timer.DueTicks += timer.PeriodTicks;
                        timer.Sequence = _nextSequence++;
                        InsertLocked(timer);
                    }

                    AssertInvariants();
                }

                timer.Fire(DefaultContext);
            }
        }
    }

    private DateTimeOffset GetUtcNowLocked() => new(_nowTicks, TimeSpan.Zero);

    private void ThrowIfEnded(string what)
    {
        Debug.Assert(Monitor.IsEntered(_gate), "under the lock");
        if (_ended)
        {
            throw new InvalidOperationException(
                $"Cannot {what}: this VirtualClock belongs to a CorralTest run that has ended, so its time no longer moves and " +
                "a timer on it would never fire. Keep the clock, and everything that waits on it, inside the run's body, or " +
                "start a new run with CorralTest.RunAsync.");
        }
    }
}
