// node-redis v4 against geocached: what an application does with it,
// unchanged, RESP2 (v4's only protocol), multi() (MULTI/EXEC) included.
'use strict';
const assert = require('node:assert/strict');
const { createClient } = require('redis');

const url = `redis://127.0.0.1:${process.env.GEOCACHE_PORT}`;

async function basics(c) {
  await c.flushAll();
  assert.equal(await c.set('k', 'v', { EX: 100 }), 'OK');
  assert.equal(await c.get('k'), 'v');
  assert.equal(await c.ttl('k'), 100);
  assert.equal(await c.incrBy('n', 5), 5);
  assert.deepEqual(await c.mGet(['k', 'n', 'none']), ['v', '5', null]);
  assert.equal(await c.hSet('h', { a: '1', b: '2' }), 2);
  assert.deepEqual({ ...(await c.hGetAll('h')) }, { a: '1', b: '2' });
  assert.equal(await c.copy('k', 'k2'), true);
  assert.equal(await c.rename('k2', 'k3'), 'OK');
  const keys = [];
  for await (const key of c.scanIterator({ MATCH: 'k*' })) keys.push(key);
  assert.deepEqual(keys.sort(), ['k', 'k3']);
  assert.equal(await c.objectEncoding('k'), 'embstr');
  assert.ok((await c.memoryUsage('k')) > 0);
}

async function databases() {
  const c5 = createClient({ url: `${url}/5` });
  await c5.connect();
  await c5.set('db5-only', 'x');
  assert.equal(await c5.dbSize(), 1);
  await c5.select(0);
  assert.equal(await c5.get('db5-only'), null);
  await c5.quit();
}

async function pubsub(c) {
  const sub = c.duplicate();
  await sub.connect();
  let listener;
  const got = new Promise((resolve) => {
    listener = (message, channel) => resolve([channel, message]);
  });
  await sub.subscribe('news', listener);  // resolves once SUBSCRIBE is confirmed
  assert.deepEqual({ ...(await c.pubSubNumSub('news')) }, { news: 1 });
  assert.equal(await c.publish('news', 'hello'), 1);
  assert.deepEqual(await got, ['news', 'hello']);
  await sub.unsubscribe('news');
  await sub.quit();
}

async function server(c) {
  const info = await c.info();
  for (const f of ['redis_version', 'used_memory', 'used_cpu_user', 'db0:keys=']) assert.ok(info.includes(f), f);
  assert.deepEqual({ ...(await c.configGet('maxmemory*')) }.maxmemory, '0');
  assert.equal(await c.configSet({ 'slowlog-max-len': '64', 'slowlog-log-slower-than': '5000' }), 'OK');
  assert.equal(await c.clientSetName('node-redis-test'), 'OK');
  assert.ok((await c.clientList()).some((e) => e.name === 'node-redis-test'));
  assert.equal(typeof (await c.clientId()), 'number');
}

async function transaction(c) {
  const res = await c.multi().set('t', '1').incr('t').exec();
  assert.deepEqual(res, ['OK', 2]);
}

(async () => {
  const c = createClient({ url });
  c.on('error', (e) => console.error('client error', e));
  await c.connect();
  for (const t of [basics, databases, pubsub, server, transaction]) {
    await t(c);
    console.log(`ok   ${t.name}`);
  }
  await c.quit();
  console.log('node-redis: all passed');
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
