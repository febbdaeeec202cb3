#!/usr/bin/env python3
"""A linked pair of pseudo-terminals, for machines without socat.

    pty-pair.py DEVICE_LINK SIM_LINK

Does what `socat pty,raw,echo=0,link=DEVICE_LINK pty,raw,echo=0,link=SIM_LINK` does for
stile-sim: two raw ptys, a symlink to each, and every byte written on one end comes out of
the other. Killing this process is an unplug: both masters close, so whoever has an end
open gets a hang-up. It holds each slave open itself, so a gate closing and reopening its
end (a reconnecting driver) loses nothing and keeps the pair alive.
"""
import os
import pty
import select
import signal
import sys
import tty


def main() -> int:
    if len(sys.argv) != 3:
        print("usage: pty-pair.py DEVICE_LINK SIM_LINK", file=sys.stderr)
        return 2
    links = sys.argv[1:]
    ends = []
    for link in links:
        master, slave = pty.openpty()
        tty.setraw(slave)  # raw, no echo: bytes pass unchanged, as socat's raw,echo=0
        ends.append((master, slave, os.ttyname(slave)))
    for link, (_, _, name) in zip(links, ends):
        os.symlink(name, link)
        print(f"PTY is {name} ({link})", file=sys.stderr, flush=True)

    def remove_links(*_):
        for link, (_, _, name) in zip(links, ends):
            try:
                if os.readlink(link) == name:
                    os.unlink(link)
            except OSError:
                pass
        os._exit(0)

    signal.signal(signal.SIGTERM, remove_links)
    signal.signal(signal.SIGINT, remove_links)
    a, b = ends[0][0], ends[1][0]
    peer = {a: b, b: a}
    while True:
        readable, _, _ = select.select([a, b], [], [])
        for fd in readable:
            try:
                data = os.read(fd, 65536)
            except OSError:
                continue  # nobody on that end right now
            view = memoryview(data)
            while view:
                view = view[os.write(peer[fd], view):]


if __name__ == "__main__":
    sys.exit(main())
