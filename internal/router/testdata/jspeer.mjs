// AutobahnJS peer for internal/router's interop tests (plaintext pub/sub and RPC).
//
//   node --experimental-websocket jspeer.mjs JSDIR URL ROLE SERIALIZER NS MARKER
//
// JSDIR is the directory whose node_modules holds autobahn (testdata/js of the repo).
// AutobahnJS 26.x uses the global WebSocket, which Node 20 provides behind
// --experimental-websocket (Node 22 has it by default). ROLE is "responder" (subscribes to
// NS.topic, registers NS.add2 and NS.failme, prints {"event":"ready"}, runs until stdin
// closes) or "originator" (publishes, calls, prints one line per outcome, then
// {"event":"done"}). SERIALIZER is json, msgpack or cbor. Every stdout line is JSON.

import { createRequire } from 'node:module';
import path from 'node:path';

const [jsdir, url, role, ser, ns, marker] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(jsdir), 'package.json'));
const autobahn = require('autobahn');

const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const fail = (e) => { out({ event: 'failure', error: String(e && e.stack || e) }); process.exit(1); };

const serializers = {
  json: () => new autobahn.serializer.JSONSerializer(),
  msgpack: () => new autobahn.serializer.MsgpackSerializer(),
  cbor: () => new autobahn.serializer.CBORSerializer(),
};
if (!serializers[ser]) fail('unknown serializer ' + ser);

const connection = new autobahn.Connection({
  url, realm: 'realm1', serializers: [serializers[ser]()], max_retries: 0,
});

connection.onclose = (reason, details) => {
  if (role === 'responder' && reason !== 'closed') out({ event: 'closed', reason });
  return true; // no reconnection
};

connection.onopen = async (session) => {
  try {
    if (role === 'responder') {
      await session.subscribe(ns + '.topic', (args, kwargs, details) => {
        out({ event: 'event', args, kwargs, topic: details.topic || null });
      });
      await session.register(ns + '.add2', (args) => {
        out({ event: 'invocation', proc: 'add2', args });
        return args[0] + args[1];
      });
      await session.register(ns + '.failme', () => {
        throw new autobahn.Error(ns + '.error.oops', [marker + '-err', 7], { why: marker + '-why' });
      });
      out({ event: 'ready' });
      process.stdin.resume();
      process.stdin.on('end', () => { connection.close(); process.exit(0); });
    } else {
      await session.publish(ns + '.topic', [marker + '-hello', 42], { k: marker + '-kw' }, { acknowledge: true });
      out({ event: 'published' });
      const sum = await session.call(ns + '.add2', [23, 7]);
      out({ event: 'result', proc: 'add2', value: sum });
      try {
        await session.call(ns + '.failme');
        out({ event: 'result', proc: 'failme', value: 'no error' });
      } catch (e) {
        out({ event: 'error', proc: 'failme', error: e.error, args: e.args, kwargs: e.kwargs });
      }
      out({ event: 'done' });
      connection.close();
      process.exit(0);
    }
  } catch (e) {
    fail(e);
  }
};

connection.open();
