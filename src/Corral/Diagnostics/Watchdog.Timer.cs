// The watchdog's one-shot check timer: armed for the earliest report due, dropped when no group is watched (the timing
// essay is at the top of Watchdog.cs).
using System;
using System.Diagnostics;
using System.Threading;

namespace Corral.Diagnostics;

public static partial class Watchdog
{
    /// <summary>
    /// Makes sure a check runs within <paramref name="dueIn"/>: arms the timer for then, unless it is armed for earlier already.
    /// </summary>
    private static void ArmLocked(TimeSpan dueIn)
    {
        Debug.Assert(Monitor.IsEntered(s_gate), "under the watchdog's lock");
        if (dueIn < TimeSpan.FromMilliseconds(1))
        {
            dueIn = TimeSpan.FromMilliseconds(1); // never zero: a fake clock would fire it synchronously, under our lock
        }

        var clock = s_options.TimeProvider;
        var at = clock.GetTimestamp() + (long)(dueIn.Ticks * (double)clock.TimestampFrequency / TimeSpan.TicksPerSecond);
        if (s_timer is not null && s_nextCheck <= at)
        {
            return; // an earlier check is coming; it arms the timer for whatever is due after it
        }

        if (s_timer is not null)
        {
            s_timer.Change(dueIn, Timeout.InfiniteTimeSpan);
        }
        else
        {
            // The timer must not capture (and keep alive) the ExecutionContext of whoever cancelled first.
            var restore = !ExecutionContext.IsFlowSuppressed();
            if (restore)
            {
                ExecutionContext.SuppressFlow();
            }

            try
            {
                s_timer = clock.CreateTimer(static _ => Check(timerFired: true), null, dueIn, Timeout.InfiniteTimeSpan);
            }
            finally
            {
                if (restore)
                {
                    ExecutionContext.RestoreFlow();
                }
            }
        }

        s_nextCheck = at;
    }

    /// <summary>Drops the timer when no group is watched: the watchdog then costs nothing again.</summary>
    private static void DisarmIfIdleLocked()
    {
        if (s_watched.Count == 0 && s_timer is not null)
        {
            s_timer.Dispose();
            s_timer = null;
            s_nextCheck = long.MaxValue;
        }
    }
}
