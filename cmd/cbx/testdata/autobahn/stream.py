#!/usr/bin/python3
"""A stream of sealed events from Autobahn|Python, for cmd/cbx's live key-rotation test
(rotation_test.go). Run with Debian's /usr/bin/python3 (python3-autobahn 22.7.1).

One session publishes, acknowledged, the event [TAG, N] to --topic every --interval
seconds, N counting from 1, sealed by Autobahn's own KeyRing. The publisher's keys come
from the environment, never argv, in peer.py's CBX_PY_KEYS format (originator entries):
CBX_PY_KEYS is the KeyRing it starts with, CBX_PY_KEYS2 the one it rotates to.

Commands, one a line on stdin:
  rotate  from the next event on, seal with the CBX_PY_KEYS2 KeyRing (Autobahn has no key
          rotation of its own: KeyRing.rotate_key() calls a method that does not exist, so
          an application swaps the KeyRing, as here)
  old     publish one more event, [TAG, N], with the first KeyRing, whatever is in use
  stop    publish nothing more, then leave

Every stdout line is a JSON object: {"event": "ready"} once joined; {"event":
"published", "n": N, "ring": 1 or 2} for each acknowledged event; {"event": "rotated",
"next": N}; {"event": "publish_error", "n": N, "error": ...}; {"event": "done",
"published": COUNT} at the end; {"event": "failure", ...} if anything breaks.
"""

import argparse
import asyncio
import json
import os
import sys

import txaio

txaio.use_asyncio()

from autobahn.asyncio.wamp import ApplicationRunner, ApplicationSession  # noqa: E402
from autobahn.wamp.cryptobox import Key, KeyRing  # noqa: E402
from autobahn.wamp.exception import ApplicationError  # noqa: E402
from autobahn.wamp.serializer import CBORSerializer, JsonSerializer, MsgPackSerializer  # noqa: E402
from autobahn.wamp.types import PublishOptions  # noqa: E402


def out(**kw):
    sys.stdout.write(json.dumps(kw) + "\n")
    sys.stdout.flush()


def keyring(spec):
    ring = KeyRing()
    for k in json.loads(spec):
        assert k["mode"] == "originator", "the stream only publishes"
        ring.set_key(k["prefix"], Key(originator_priv=k["priv"], responder_pub=k["peer"]))
    return ring


class Stream(ApplicationSession):
    async def onJoin(self, details):
        cfg = self.config.extra
        try:
            rings = {1: keyring(os.environ["CBX_PY_KEYS"]), 2: keyring(os.environ["CBX_PY_KEYS2"])}
            current = 1
            self.set_payload_codec(rings[current])
            commands = asyncio.Queue()
            loop = asyncio.get_event_loop()
            loop.add_reader(sys.stdin.fileno(), lambda: commands.put_nowait(sys.stdin.readline().strip()))
            out(event="ready")
            n, published = 0, 0

            async def publish(ring):
                nonlocal n, published
                n += 1
                self.set_payload_codec(rings[ring])
                try:
                    await self.publish(cfg["topic"], cfg["tag"], n, options=PublishOptions(acknowledge=True))
                except ApplicationError as e:
                    out(event="publish_error", n=n, error=e.error)
                else:
                    published += 1
                    out(event="published", n=n, ring=ring)
                finally:
                    self.set_payload_codec(rings[current])

            running = True
            while running:
                await publish(current)
                try:
                    cmd = await asyncio.wait_for(commands.get(), cfg["interval"])
                except asyncio.TimeoutError:
                    continue
                if cmd == "rotate":
                    current = 2
                    self.set_payload_codec(rings[current])
                    out(event="rotated", next=n + 1)
                elif cmd == "old":
                    await publish(1)
                elif cmd in ("stop", ""):
                    running = False
            out(event="done", published=published)
        except Exception as e:  # report, never hang
            out(event="failure", error=repr(e))
        self.leave()

    def onDisconnect(self):
        asyncio.get_event_loop().stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--realm", default="realm1")
    ap.add_argument("--serializer", choices=["json", "msgpack", "cbor"], default="json")
    ap.add_argument("--topic", required=True)
    ap.add_argument("--tag", default="autobahn")
    ap.add_argument("--interval", type=float, default=0.05)
    a = ap.parse_args()
    txaio.start_logging(level="warn", out=sys.stderr)  # stdout is for the JSON lines
    ser = {"json": JsonSerializer, "msgpack": MsgPackSerializer, "cbor": CBORSerializer}[a.serializer]()
    runner = ApplicationRunner(a.url, a.realm, extra={"topic": a.topic, "tag": a.tag, "interval": a.interval},
                               serializers=[ser])
    runner.run(Stream)


if __name__ == "__main__":
    main()
