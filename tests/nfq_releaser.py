"""Delay (and optionally drop) packets queued by an iptables NFQUEUE rule: netem's job on a kernel without netem.

Run inside the namespace whose OUTPUT is queued (tests/netlab.py sets it up)::

    ip netns exec NS python tests/nfq_releaser.py --queue 1 --delay-ms 50 --jitter-ms 10

Each packet is held until arrival + delay ± uniform jitter, then accepted (or dropped with
``--drop-percent``). Packets may leave out of order when the jitter exceeds their spacing, as on a real
link with jitter. Prints ``ready`` once bound to the queue; stops on SIGTERM (accepting what it holds).
With the rule's ``--queue-bypass`` traffic flows undelayed while no releaser runs.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import random
import signal
import sys
import threading
import time
from types import FrameType
from typing import Any

import fnfqueue


class Releaser:
    """Holds packets in a heap ordered by release time; a thread gives each its verdict when due."""

    def __init__(self, *, delay: float, jitter: float, drop: float) -> None:
        self.delay, self.jitter, self.drop = delay, jitter, drop
        self.held: list[tuple[float, int, Any]] = []
        self.cond = threading.Condition()
        self.stopping = False
        self.order = itertools.count()

    def hold(self, packet: Any) -> None:
        due = time.monotonic() + max(0.0, self.delay + random.uniform(-self.jitter, self.jitter))
        with self.cond:
            heapq.heappush(self.held, (due, next(self.order), packet))
            self.cond.notify()

    def run(self) -> None:
        while True:
            with self.cond:
                while not self.stopping and (not self.held or self.held[0][0] > time.monotonic()):
                    self.cond.wait(None if not self.held else self.held[0][0] - time.monotonic())
                if self.stopping:
                    return
                _due, _n, packet = heapq.heappop(self.held)
            if self.drop and random.random() * 100 < self.drop:
                packet.drop()
            else:
                packet.accept()

    def flush(self) -> None:
        """Accept everything still held (on stop), so nothing is lost by stopping."""
        with self.cond:
            self.stopping = True
            held, self.held = self.held, []
            self.cond.notify()
        for _due, _n, packet in held:
            packet.accept()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queue", type=int, default=1, help="NFQUEUE number (--queue-num of the rule)")
    parser.add_argument("--delay-ms", type=float, required=True)
    parser.add_argument("--jitter-ms", type=float, default=0.0, help="uniform ± around the delay")
    parser.add_argument("--drop-percent", type=float, default=0.0)
    args = parser.parse_args(argv)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    releaser = Releaser(delay=args.delay_ms / 1000, jitter=args.jitter_ms / 1000, drop=args.drop_percent)
    conn = fnfqueue.Connection()
    worker = threading.Thread(target=releaser.run, daemon=True)
    try:
        queue = conn.bind(args.queue)
        queue.set_mode(0, fnfqueue.COPY_META)  # verdicts only: no payload copied to user space
        worker.start()
        print("ready", flush=True)
        while True:
            try:
                for packet in conn:
                    releaser.hold(packet)
                break  # the connection was closed
            except fnfqueue.BufferOverflowException:  # the kernel dropped some: go on, as a full link would
                print("nfq_releaser: queue overflow", file=sys.stderr, flush=True)
                conn.reset()
    except SystemExit:
        pass
    finally:
        releaser.flush()
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
