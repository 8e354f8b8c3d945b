#!/usr/bin/python3
"""Autobahn|Python peer for internal/router's interop tests.

Run with Debian's /usr/bin/python3 (python3-autobahn 22.7.1, asyncio flavour). One process
plays one side of every scenario:

  responder   subscriber + callee: subscribes to NS.topic (exact) and NS.pfx. (prefix),
              registers NS.add2, NS.failme, NS.progress, NS.echo; prints {"event": "ready"}
              when all are in place, then one line per EVENT / INVOCATION it handles;
              runs until stdin is closed.
  originator  publisher + caller: publishes to NS.topic and NS.pfx.sub1, calls the four
              procedures, prints one line per outcome, then {"event": "done"} and exits.

--keys FILE (the vectors' cryptobox.json) enables Autobahn's own KeyRing under the
vectors' prefix (com.example.secure.), with the keys the way an application sets them
(wire.md §6.1): originator Key(originator_priv, responder_pub), responder
Key(originator_pub, responder_priv). Without it everything is plaintext.

Every line on stdout is one JSON object. Binary values are shown as {"$bytes": base64}.
Raw incoming EVENT/INVOCATION/RESULT/ERROR messages are also reported as
{"event": "raw", "type": ..., "enc_algo": ..., "bare": <payload was a bare binary>},
before Autobahn decrypts them, so the Go test sees what the router delivered.
"""

import argparse
import asyncio
import base64
import json
import sys

import txaio

txaio.use_asyncio()

from autobahn.asyncio.wamp import ApplicationRunner, ApplicationSession  # noqa: E402
from autobahn.wamp import message as wmsg  # noqa: E402
from autobahn.wamp.exception import ApplicationError  # noqa: E402
from autobahn.wamp.serializer import CBORSerializer, JsonSerializer, MsgPackSerializer  # noqa: E402
from autobahn.wamp.types import CallOptions, CallResult, PublishOptions, RegisterOptions, SubscribeOptions  # noqa: E402


def plain(v):
    """Turn a decoded WAMP value into JSON-printable form."""
    if isinstance(v, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(bytes(v)).decode()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    return v


def out(**kw):
    sys.stdout.write(json.dumps(plain(kw), sort_keys=True) + "\n")
    sys.stdout.flush()


def keyring(path, role):
    from autobahn.wamp.cryptobox import Key, KeyRing

    with open(path) as f:
        keys = json.load(f)["keys"]
    if role == "originator":
        key = Key(originator_priv=keys["originator_priv_b64"], responder_pub=keys["responder_pub_b64"])
    else:
        key = Key(originator_pub=keys["originator_pub_b64"], responder_priv=keys["responder_priv_b64"])
    ring = KeyRing()
    ring.set_key(keys["keyring_prefix"], key)
    return ring


class Peer(ApplicationSession):
    def onMessage(self, msg):
        if isinstance(msg, (wmsg.Event, wmsg.Invocation, wmsg.Result, wmsg.Error)):
            out(event="raw", type=type(msg).__name__.upper(), enc_algo=msg.enc_algo,
                enc_serializer=getattr(msg, "enc_serializer", None),
                bare=isinstance(getattr(msg, "payload", None), bytes))
        return super().onMessage(msg)

    async def onJoin(self, details):
        cfg = self.config.extra
        try:
            if cfg["keys"]:
                self.set_payload_codec(keyring(cfg["keys"], cfg["role"]))
            if cfg["role"] == "responder":
                await self.responder(cfg["ns"], cfg["marker"])
            else:
                await self.originator(cfg["ns"], cfg["marker"])
                out(event="done")
                self.leave()
        except Exception as e:  # report, never hang
            out(event="failure", error=repr(e))
            self.leave()

    def onDisconnect(self):
        asyncio.get_event_loop().stop()

    async def responder(self, ns, marker):
        def on_event(*args, **kwargs):
            details = kwargs.pop("details")
            out(event="event", topic=details.topic, args=list(args), kwargs=kwargs, enc_algo=details.enc_algo)

        await self.subscribe(on_event, ns + ".topic", options=SubscribeOptions(details_arg="details"))
        await self.subscribe(on_event, ns + ".pfx.", options=SubscribeOptions(match="prefix", details_arg="details"))

        def add2(a, b, details=None):
            out(event="invocation", proc="add2", args=[a, b], enc_algo=details.enc_algo)
            return a + b

        def failme(details=None):
            out(event="invocation", proc="failme", enc_algo=details.enc_algo)
            raise ApplicationError(ns + ".error.oops", marker + "-err", 7, why=marker + "-why")

        def progress(n, details=None):
            out(event="invocation", proc="progress", enc_algo=details.enc_algo, progressive=details.progress is not None)
            for i in range(n):
                details.progress(i, marker + "-step")
            return marker + "-final"

        def echo(*args, **kwargs):
            details = kwargs.pop("details")
            out(event="invocation", proc="echo", enc_algo=details.enc_algo)
            return CallResult(*args, **kwargs)

        opts = RegisterOptions(details_arg="details")
        for name, fn in (("add2", add2), ("failme", failme), ("progress", progress), ("echo", echo)):
            await self.register(fn, ns + "." + name, options=opts)
        out(event="ready")

        # Serve until the driver closes stdin.
        loop = asyncio.get_event_loop()
        await loop.run_in_executor(None, sys.stdin.read)
        self.leave()

    async def originator(self, ns, marker):
        ack = PublishOptions(acknowledge=True)
        await self.publish(ns + ".topic", marker + "-hello", 42, options=ack,
                           k=marker + "-kw", bin=b"\x00\xffbin")
        out(event="published", topic=ns + ".topic")
        await self.publish(ns + ".pfx.sub1", marker + "-prefix", options=ack)
        out(event="published", topic=ns + ".pfx.sub1")

        res = await self.call(ns + ".add2", 23, 7)
        out(event="result", proc="add2", value=res)

        try:
            await self.call(ns + ".failme")
            out(event="result", proc="failme", value="no error")
        except ApplicationError as e:
            out(event="error", proc="failme", error=e.error, args=list(e.args), kwargs=e.kwargs)

        steps = []
        res = await self.call(ns + ".progress", 3,
                              options=CallOptions(on_progress=lambda *a, **kw: steps.append(list(a))))
        out(event="result", proc="progress", value=res, progress=steps)

        res = await self.call(ns + ".echo", marker + "-echo", b"\x01\x02", k={"nested": [marker + "-deep"]})
        if isinstance(res, CallResult):
            out(event="result", proc="echo", value=list(res.results), kwargs=res.kwresults)
        else:
            out(event="result", proc="echo", value=res)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--realm", default="realm1")
    ap.add_argument("--serializer", choices=["json", "msgpack", "cbor"], required=True)
    ap.add_argument("--role", choices=["responder", "originator"], required=True)
    ap.add_argument("--ns", required=True, help="URI namespace of this scenario")
    ap.add_argument("--marker", required=True, help="prefix of every string argument")
    ap.add_argument("--keys", default="", help="cryptobox.json: seal with Autobahn's KeyRing")
    a = ap.parse_args()
    ser = {"json": JsonSerializer, "msgpack": MsgPackSerializer, "cbor": CBORSerializer}[a.serializer]()
    extra = {"role": a.role, "ns": a.ns, "marker": a.marker, "keys": a.keys}
    ApplicationRunner(a.url, a.realm, extra=extra, serializers=[ser]).run(Peer)


if __name__ == "__main__":
    main()
