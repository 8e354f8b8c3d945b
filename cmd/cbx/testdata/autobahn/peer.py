#!/usr/bin/python3
"""Autobahn|Python peer for cmd/cbx's live interop tests (interop_autobahn_test.go).

Run with Debian's /usr/bin/python3 (python3-autobahn 22.7.1, asyncio flavour). One process
is one WAMP session; the roles it plays are chosen by flags and may be combined:

  subscriber  --subscribe TOPIC (repeatable) [--match prefix|wildcard]: one line per event
  callee      --register NS: registers NS.add2, NS.countdown (3 progressive results, then a
              final one), NS.failme (raises NS.error.x: sealed when NS is keyed),
              NS.failplain (raises com.example.error.plain: a URI no key covers),
              NS.echo, and, returning values cbx cannot carry exactly, NS.big (returns
              2**70), NS.nan (returns NaN), NS.failbig (raises NS.error.big with 2**70)
              and NS.failnan (raises NS.error.nan with NaN); one line per invocation
  publisher   --publish JSON (repeatable): {"topic": T, "args": [...], "kwargs": {...}},
              published with acknowledge=True, in order; an ERROR reply is reported as
              {"event": "publish_error", "topic": T, "error": URI, "args": [...]}
  caller      --call JSON (repeatable): {"proc": P, "args": [...], "kwargs": {...},
              "progress": true|false}, called in order

A subscriber/callee prints {"event": "ready"} once every subscription and registration is
in place; then publications and calls run; then the process leaves after --count events
plus replies sent to invocations (immediately when it subscribes/registers nothing), or
after --timeout seconds ({"event": "timeout"}). {"event": "done"} is the last line of a
clean run.

Keys never come from argv: CBX_PY_KEYS holds a JSON list of
{"prefix": P, "mode": "originator"|"responder"|"single", "priv": B64, "peer": B64}, the way
an application builds Autobahn's KeyRing (wire.md §6.1): originator
Key(originator_priv=priv, responder_pub=peer), responder Key(originator_pub=peer,
responder_priv=priv), single KeyRing(priv) for prefix "" (the default key) or
set_key(prefix, priv). An empty or missing list means no payload codec at all.
--liar URI seals every outgoing payload as if for URI (a KeyRing whose encode is handed
another URI), for the trusted-URI mismatch cases. Two more misbehaviours concern only the
callee's replies (YIELD and ERROR, KeyRing.encode with is_originating false) and leave
opening the INVOCATION alone: --plain-replies makes encode return None, so Autobahn sends
the reply in plaintext (protocol.py falls back to args/kwargs); CBX_PY_REPLY_KEYS (same
format as CBX_PY_KEYS) names another KeyRing that seals the replies, i.e. with a key the
caller does not expect.

Every stdout line is one JSON object written with Autobahn's own JSON encoder, so bytes
appear as "\\u0000" + base64 (wire.md §1.7). Before Autobahn opens an incoming EVENT,
INVOCATION, RESULT or ERROR, a {"event": "raw", "type": ..., "enc_algo": ...,
"enc_key": ..., "bare": <payload was a bare binary>} line says how it arrived. Autobahn's own warnings
(dropped events and so on) go to stderr.
"""

import argparse
import asyncio
import json
import os
import sys

import txaio

txaio.use_asyncio()

from autobahn.asyncio.wamp import ApplicationRunner, ApplicationSession  # noqa: E402
from autobahn.wamp import message as wmsg  # noqa: E402
from autobahn.wamp.cryptobox import Key, KeyRing  # noqa: E402
from autobahn.wamp.exception import ApplicationError  # noqa: E402
from autobahn.wamp.serializer import (  # noqa: E402
    CBORSerializer, JsonSerializer, MsgPackSerializer, _dumps, _loads)
from autobahn.wamp.types import CallOptions, CallResult, PublishOptions, RegisterOptions, SubscribeOptions  # noqa: E402

PLAIN_ERROR = "com.example.error.plain"


def out(**kw):
    sys.stdout.write(_dumps(kw) + "\n")
    sys.stdout.flush()


class PeerKeyRing(KeyRing):
    """A KeyRing with the test-only misbehaviours of the module docstring: sealing for
    another URI (liar_uri), replies in plaintext (plain_replies) or replies sealed by
    another KeyRing (reply_ring). Decoding is Autobahn's own."""

    def __init__(self, default_key=None, liar_uri="", plain_replies=False, reply_ring=None):
        super().__init__(default_key)
        self.liar_uri = liar_uri
        self.plain_replies = plain_replies
        self.reply_ring = reply_ring

    def encode(self, is_originating, uri, args=None, kwargs=None):
        uri = self.liar_uri or uri
        if not is_originating:
            if self.plain_replies:
                return None
            if self.reply_ring is not None:
                return self.reply_ring.encode(is_originating, uri, args, kwargs)
        return super().encode(is_originating, uri, args, kwargs)


def build_keyring(spec, liar="", plain_replies=False, reply_spec=None):
    """The KeyRing described by CBX_PY_KEYS (see the module docstring), or None."""
    if not spec:
        return None
    default = None
    prefixed = []
    for e in spec:
        if e["mode"] == "single":
            key = e["priv"]  # a str: Autobahn's single-key mode
        elif e["mode"] == "originator":
            key = Key(originator_priv=e["priv"], responder_pub=e["peer"])
        elif e["mode"] == "responder":
            key = Key(originator_pub=e["peer"], responder_priv=e["priv"])
        else:
            raise ValueError("unknown key mode %r" % e["mode"])
        if e["prefix"] == "":
            default = key
        else:
            prefixed.append((e["prefix"], key))
    reply_ring = build_keyring(reply_spec) if reply_spec else None
    ring = PeerKeyRing(default, liar, plain_replies, reply_ring)
    for prefix, key in prefixed:
        ring.set_key(prefix, key)
    return ring


def result_payload(res):
    """args and kwargs of what ApplicationSession.call returned."""
    if isinstance(res, CallResult):
        return list(res.results), res.kwresults
    if res is None:
        return [], {}
    return [res], {}


class Peer(ApplicationSession):
    def onMessage(self, msg):
        if isinstance(msg, (wmsg.Event, wmsg.Invocation, wmsg.Result, wmsg.Error)):
            out(event="raw", type=type(msg).__name__.upper(), enc_algo=msg.enc_algo,
                enc_key=msg.enc_key, bare=isinstance(getattr(msg, "payload", None), bytes))
        return super().onMessage(msg)

    async def onJoin(self, details):
        cfg = self.config.extra
        self.remaining = cfg["count"]
        self.finished = asyncio.get_event_loop().create_future()
        try:
            ring = build_keyring(cfg["keys"], cfg["liar"], cfg["plain_replies"], cfg["reply_keys"])
            if ring is not None:
                self.set_payload_codec(ring)
            for topic in cfg["subscribe"]:
                opts = SubscribeOptions(match=cfg["match"], details_arg="details")
                await self.subscribe(self.event_handler(topic), topic, options=opts)
            if cfg["register"]:
                await self.register_all(cfg["register"])
            if cfg["subscribe"] or cfg["register"]:
                out(event="ready")
            for p in cfg["publish"]:
                try:
                    await self.publish(p["topic"], *p.get("args", []), options=PublishOptions(acknowledge=True),
                                       **p.get("kwargs", {}))
                except ApplicationError as e:
                    out(event="publish_error", topic=p["topic"], error=e.error, args=list(e.args))
                else:
                    out(event="published", topic=p["topic"])
            for c in cfg["call"]:
                await self.one_call(c)
            if self.remaining > 0:
                try:
                    await asyncio.wait_for(self.finished, cfg["timeout"])
                except asyncio.TimeoutError:
                    out(event="timeout", missing=self.remaining)
            out(event="done")
        except Exception as e:  # report, never hang
            out(event="failure", error=repr(e))
        self.leave()

    def onDisconnect(self):
        asyncio.get_event_loop().stop()

    def handled(self):
        self.remaining -= 1
        if self.remaining == 0 and not self.finished.done():
            self.finished.set_result(None)

    def event_handler(self, subscribed):
        def on_event(*args, **kwargs):
            details = kwargs.pop("details")
            # details.topic is set only for pattern subscriptions.
            out(event="event", topic=details.topic or subscribed, args=list(args), kwargs=kwargs,
                enc_algo=details.enc_algo)
            self.handled()
        return on_event

    async def register_all(self, ns):
        def add2(a, b, details=None):
            out(event="invocation", proc=details.procedure or ns + ".add2", enc_algo=details.enc_algo)
            return a + b

        async def countdown(n=3, details=None):
            out(event="invocation", proc=ns + ".countdown", enc_algo=details.enc_algo,
                progressive=details.progress is not None)
            if details.progress:
                for i in range(n, 0, -1):
                    details.progress(i, left=i)
            return "liftoff"

        def failme(*args, **kwargs):
            details = kwargs.pop("details")
            out(event="invocation", proc=ns + ".failme", enc_algo=details.enc_algo)
            raise ApplicationError(ns + ".error.x", "failed on purpose", 7, reason="sealed-error", args=list(args))

        def failplain(*args, **kwargs):
            details = kwargs.pop("details")
            out(event="invocation", proc=ns + ".failplain", enc_algo=details.enc_algo)
            raise ApplicationError(PLAIN_ERROR, "plain failure", code=9)

        def echo(*args, **kwargs):
            details = kwargs.pop("details")
            out(event="invocation", proc=ns + ".echo", enc_algo=details.enc_algo)
            return CallResult(*args, **kwargs)

        def unrepresentable(name, value, fail):
            # Values Python's serializers write and cbx refuses: 2**70 (JSON writes every
            # int in full) and NaN (msgpack and CBOR pack it).
            def proc(*args, **kwargs):
                details = kwargs.pop("details")
                out(event="invocation", proc=ns + "." + name, enc_algo=details.enc_algo)
                if fail:
                    raise ApplicationError(ns + ".error." + fail, value)
                return value
            return proc

        # An invocation counts once its reply (YIELD or ERROR, including the ERROR Autobahn
        # itself sends for a payload it cannot open) has been written, so that leaving
        # after --count never overtakes the last reply.
        send = self._transport.send

        def send_and_count(msg):
            send(msg)
            if (isinstance(msg, wmsg.Yield) and not msg.progress) or \
                    (isinstance(msg, wmsg.Error) and msg.request_type == wmsg.Invocation.MESSAGE_TYPE):
                self.handled()

        self._transport.send = send_and_count

        opts = RegisterOptions(details_arg="details")
        for name, fn in (("add2", add2), ("countdown", countdown), ("failme", failme),
                         ("failplain", failplain), ("echo", echo),
                         ("big", unrepresentable("big", 2**70, None)),
                         ("nan", unrepresentable("nan", float("nan"), None)),
                         ("failbig", unrepresentable("failbig", 2**70, "big")),
                         ("failnan", unrepresentable("failnan", float("nan"), "nan"))):
            await self.register(fn, ns + "." + name, options=opts)

    async def one_call(self, c):
        proc = c["proc"]
        opts = None
        if c.get("progress"):
            def on_progress(*args, **kwargs):
                out(event="progress", proc=proc, args=list(args), kwargs=kwargs)
            opts = CallOptions(on_progress=on_progress)
        try:
            res = await self.call(proc, *c.get("args", []), options=opts, **c.get("kwargs", {}))
        except ApplicationError as e:
            out(event="error", proc=proc, error=e.error, args=list(e.args), kwargs=e.kwargs or {})
        else:
            args, kwargs = result_payload(res)
            out(event="result", proc=proc, args=args, kwargs=kwargs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--realm", default="realm1")
    ap.add_argument("--serializer", choices=["json", "msgpack", "cbor"], default="json")
    ap.add_argument("--subscribe", action="append", default=[])
    ap.add_argument("--match", choices=["exact", "prefix", "wildcard"], default="exact")
    ap.add_argument("--register", default="", help="URI namespace of the callee's procedures")
    ap.add_argument("--publish", action="append", default=[], type=_loads)
    ap.add_argument("--call", action="append", default=[], type=_loads)
    ap.add_argument("--liar", default="", help="seal every outgoing payload for this URI")
    ap.add_argument("--plain-replies", action="store_true", help="send YIELD and ERROR payloads unsealed")
    ap.add_argument("--count", type=int, default=0, help="events + invocations to wait for")
    ap.add_argument("--timeout", type=float, default=20.0)
    a = ap.parse_args()

    txaio.start_logging(level="warn", out=sys.stderr)
    ser = {"json": JsonSerializer, "msgpack": MsgPackSerializer, "cbor": CBORSerializer}[a.serializer]()
    extra = {
        "keys": json.loads(os.environ.get("CBX_PY_KEYS") or "[]"),
        "liar": a.liar,
        "plain_replies": a.plain_replies,
        "reply_keys": json.loads(os.environ.get("CBX_PY_REPLY_KEYS") or "[]"),
        "subscribe": a.subscribe,
        "match": None if a.match == "exact" else a.match,
        "register": a.register,
        "publish": a.publish,
        "call": a.call,
        "count": a.count,
        "timeout": a.timeout,
    }
    # Outlive a router that never answers: the test's own deadline is longer.
    loop = asyncio.get_event_loop()
    loop.call_later(a.timeout + 10, lambda: (out(event="failure", error="hard timeout"), os._exit(3)))
    ApplicationRunner(a.url, a.realm, extra=extra, serializers=[ser]).run(Peer)


if __name__ == "__main__":
    main()
