#!/usr/bin/python3
"""Autobahn|Python's own publisher or subscriber, for scripts/bench-e2e.sh.

Run with Debian's /usr/bin/python3 (python3-autobahn 22.7.1, asyncio flavour), so that
cbx's figures can be set beside Autobahn's on the same router in the same run.

  autobahn-bench.py sub --url URL --topic T --count N [--serializer S] [--timeout SEC]
      subscribes, prints "ready" on stdout once subscribed, leaves after N events
      (exit 0) or at the timeout (exit 8, printing how many came).
  autobahn-bench.py pub --url URL --topic T --count N [--window W] [--serializer S]
      publishes N events with acknowledge=True, at most W unacknowledged at a time
      (what cbx publish --stdin --window W does), then leaves.

Every event's arguments are the JSON array ["xxx…", i], padded to exactly --size bytes
(default 100), the same lines scripts/bench-e2e.sh gives cbx publish --stdin.

Sealing is Autobahn's cryptobox KeyRing: with CBX_PY_PRIV (this side's private key,
base64) and CBX_PY_PEER (the other side's public key) in the environment, the topic is
sealed: the publisher as originator, Key(originator_priv, responder_pub), the
subscriber as responder, Key(originator_pub, responder_priv). Without them, plaintext.
Keys never come from argv.
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
from autobahn.wamp.serializer import CBORSerializer, JsonSerializer, MsgPackSerializer  # noqa: E402
from autobahn.wamp.types import PublishOptions  # noqa: E402


def event_args(i, size):
    """["xxx…", i], padded so that its compact JSON is exactly size bytes."""
    overhead = len(json.dumps(["", i], separators=(",", ":")))
    return ["x" * max(size - overhead, 0), i]


def keyring(role, topic):
    priv, peer = os.environ.get("CBX_PY_PRIV"), os.environ.get("CBX_PY_PEER")
    if not priv or not peer:
        return None
    if role == "pub":
        key = Key(originator_priv=priv, responder_pub=peer)
    else:
        key = Key(originator_pub=peer, responder_priv=priv)
    ring = KeyRing()
    ring.set_key(topic, key)
    return ring


class Bench(ApplicationSession):
    async def onJoin(self, details):
        cfg = self.config.extra
        ring = keyring(cfg["role"], cfg["topic"])
        if ring is not None:
            self.set_payload_codec(ring)
        try:
            if cfg["role"] == "sub":
                await self.subscribe_and_count(cfg)
            else:
                await self.publish_all(cfg)
        except Exception as e:  # report, never hang
            print("failure: %r" % (e,), file=sys.stderr, flush=True)
            self.config.extra["rc"] = 1
        self.leave()

    async def subscribe_and_count(self, cfg):
        remaining = cfg["count"]
        finished = asyncio.get_event_loop().create_future()

        def on_event(*args, **kwargs):
            nonlocal remaining
            remaining -= 1
            if remaining == 0 and not finished.done():
                finished.set_result(None)

        await self.subscribe(on_event, cfg["topic"])
        print("ready", flush=True)
        try:
            await asyncio.wait_for(finished, cfg["timeout"])
        except asyncio.TimeoutError:
            print("timeout: %d of %d events came" % (cfg["count"] - remaining, cfg["count"]), file=sys.stderr, flush=True)
            self.config.extra["rc"] = 8

    async def publish_all(self, cfg):
        opts = PublishOptions(acknowledge=True)
        inflight = []
        for i in range(cfg["count"]):
            if len(inflight) >= cfg["window"]:
                await inflight.pop(0)
            inflight.append(asyncio.ensure_future(self.publish(cfg["topic"], *event_args(i, cfg["size"]), options=opts)))
        for f in inflight:
            await f

    def onDisconnect(self):
        asyncio.get_event_loop().stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("role", choices=["pub", "sub"])
    ap.add_argument("--url", required=True)
    ap.add_argument("--realm", default="realm1")
    ap.add_argument("--topic", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--window", type=int, default=64)
    ap.add_argument("--serializer", choices=["json", "msgpack", "cbor"], default="msgpack")
    ap.add_argument("--timeout", type=float, default=600.0)
    a = ap.parse_args()

    txaio.start_logging(level="warn", out=sys.stderr)
    ser = {"json": JsonSerializer, "msgpack": MsgPackSerializer, "cbor": CBORSerializer}[a.serializer]()
    extra = {"role": a.role, "topic": a.topic, "count": a.count, "size": a.size, "window": a.window,
             "timeout": a.timeout, "rc": 0}
    try:
        ApplicationRunner(a.url, a.realm, extra=extra, serializers=[ser]).run(Bench)
    except OSError as e:
        print("autobahn-bench.py: connecting to %s: %s" % (a.url, e), file=sys.stderr)
        sys.exit(6)
    sys.exit(extra["rc"])


if __name__ == "__main__":
    main()
