#!/usr/bin/python3
"""Autobahn|Python's own cryptobox KeyRing, driven from cbx's Go tests.

Usage (keys come from the environment, never argv):
  CBX_PY_PRIV=<b64 private> CBX_PY_PEER=<b64 public> keyring.py encode ROLE ORIGINATING URI < {"args":…,"kwargs":…}
  CBX_PY_PRIV=<b64 private> CBX_PY_PEER=<b64 public> keyring.py decode ROLE ORIGINATING URI < payload-base64

ROLE is "originator" (Key(originator_priv, responder_pub)), "responder"
(Key(originator_pub, responder_priv)) or "single" (KeyRing(priv), CBX_PY_PEER unused).
ORIGINATING is "true" or "false", KeyRing.encode/decode's is_originating. Output is one JSON
line written with Autobahn's own JSON encoder (binary values as "\\u0000"+base64).
"""
import base64
import os
import sys

import txaio
txaio.use_asyncio()

from autobahn.wamp import cryptobox
from autobahn.wamp.serializer import _dumps, _loads
from autobahn.wamp.types import EncodedPayload


def keyring(role):
    priv = os.environ["CBX_PY_PRIV"]
    if role == "single":
        return cryptobox.KeyRing(priv)
    peer = os.environ["CBX_PY_PEER"]
    ring = cryptobox.KeyRing()
    if role == "originator":
        key = cryptobox.Key(originator_priv=priv, responder_pub=peer)
    elif role == "responder":
        key = cryptobox.Key(originator_pub=peer, responder_priv=priv)
    else:
        raise SystemExit("unknown role " + role)
    # The default key: every URI the test uses is covered.
    ring.set_key("", key)
    return ring


def main():
    mode, role, originating, uri = sys.argv[1:5]
    is_orig = originating == "true"
    ring = keyring(role)
    data = sys.stdin.read()
    if mode == "encode":
        inp = _loads(data)
        enc = ring.encode(is_orig, uri, inp.get("args"), inp.get("kwargs"))
        if enc is None:
            raise SystemExit("KeyRing.encode returned None: no box for this side")
        out = {"payload": base64.b64encode(enc.payload).decode("ascii"),
               "enc_algo": enc.enc_algo, "enc_serializer": enc.enc_serializer}
    elif mode == "decode":
        payload = base64.b64decode(data.strip(), validate=True)
        got_uri, args, kwargs = ring.decode(is_orig, uri, EncodedPayload(payload, "cryptobox", "json"))
        out = {"uri": got_uri, "args": args, "kwargs": kwargs}
    else:
        raise SystemExit("unknown mode " + mode)
    sys.stdout.write(_dumps(out) + "\n")


if __name__ == "__main__":
    main()
