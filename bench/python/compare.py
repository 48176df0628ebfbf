#!/usr/bin/python3
"""The perspective rows of issue 5: the same spawn-and-join of 100,000 tasks, and the same cancel of 100,000 waiting
tasks, in trio and in asyncio's TaskGroup.

Run it with Debian's own Python and Debian's trio (apt-get install python3-trio), not another Python on the PATH:

    /usr/bin/python3 bench/python/compare.py [--out FILE] [--n 100000] [--repeats 5]

What is timed (time.perf_counter, median of --repeats runs, each in a fresh event loop):
  spawn_join  open a nursery / TaskGroup, start N children that each yield once (trio.sleep(0) / asyncio.sleep(0):
              the counterpart of `await Task.Yield()`), and leave the block once they all finished.
  cancel      N children wait (trio.sleep_forever() / a future nobody resolves) until all are parked; then, timed: cancel the
              nursery's scope (trio) or the task that holds the TaskGroup (asyncio, which has no TaskGroup.cancel),
              until the block has returned. Starting the children is not timed, as in the C# CancelGroup benchmark.
"""
import argparse
import asyncio
import gc
import json
import platform
import statistics
import sys
import time

import trio
import trio.testing


# ----------------------------------------------------------------------------------------------------------------- trio

async def _trio_yield_child():
    await trio.sleep(0)


async def _trio_spawn_join(n):
    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(n):
            nursery.start_soon(_trio_yield_child)
    return time.perf_counter() - start


async def _trio_cancel(n):
    async with trio.open_nursery() as nursery:
        for _ in range(n):
            nursery.start_soon(trio.sleep_forever)
        await trio.testing.wait_all_tasks_blocked()
        start = time.perf_counter()
        nursery.cancel_scope.cancel()
    return time.perf_counter() - start


# -------------------------------------------------------------------------------------------------------------- asyncio

async def _asyncio_yield_child():
    await asyncio.sleep(0)


async def _asyncio_spawn_join(n):
    start = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for _ in range(n):
            group.create_task(_asyncio_yield_child())
    return time.perf_counter() - start


async def _asyncio_wait_forever():
    # A future nobody resolves: the counterpart of trio.sleep_forever(). (Event.wait() would not do: a cancelled waiter is
    # removed from the event's deque in O(n), which makes cancelling 100,000 of them quadratic.)
    await asyncio.get_running_loop().create_future()


async def _asyncio_cancel(n):
    parked = asyncio.get_running_loop().create_future()

    async def hold_group():
        async with asyncio.TaskGroup() as group:
            for _ in range(n):
                group.create_task(_asyncio_wait_forever())
            # One turn of the loop runs every child up to its wait; then say so and wait to be cancelled.
            await asyncio.sleep(0)
            parked.set_result(None)
            await _asyncio_wait_forever()

    host = asyncio.create_task(hold_group())
    await parked
    start = time.perf_counter()
    host.cancel()
    try:
        await host
    except asyncio.CancelledError:
        pass
    return time.perf_counter() - start


# ----------------------------------------------------------------------------------------------------------------- main

def _measure(run_once, repeats):
    samples = []
    for _ in range(repeats):
        gc.collect()
        samples.append(run_once())
    return {"median_s": statistics.median(samples), "samples_s": samples}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", help="write the results as JSON here (default: print only)")
    args = parser.parse_args()
    n = args.n

    results = {
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "trio": trio.__version__,
        "machine": platform.machine(),
        "n": n,
        "repeats": args.repeats,
        "trio_spawn_join": _measure(lambda: trio.run(_trio_spawn_join, n), args.repeats),
        "trio_cancel": _measure(lambda: trio.run(_trio_cancel, n), args.repeats),
        "asyncio_spawn_join": _measure(lambda: asyncio.run(_asyncio_spawn_join(n)), args.repeats),
        "asyncio_cancel": _measure(lambda: asyncio.run(_asyncio_cancel(n)), args.repeats),
    }

    for key in ("trio_spawn_join", "trio_cancel", "asyncio_spawn_join", "asyncio_cancel"):
        print(f"{key:20} {results[key]['median_s'] * 1000:10.1f} ms  (median of {args.repeats})")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
