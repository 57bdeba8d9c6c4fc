// ioredis against geocached: what an application does with it, unchanged.
// multi() (MULTI/EXEC) included.
'use strict';
const assert = require('node:assert/strict');
const Redis = require('ioredis');

const port = Number(process.env.GEOCACHE_PORT);

async function basics(r) {
  await r.flushall();
  assert.equal(await r.set('k', 'v', 'EX', 100), 'OK');
  assert.equal(await r.get('k'), 'v');
  assert.equal(await r.ttl('k'), 100);
  assert.equal(await r.incrby('n', 5), 5);
  assert.deepEqual(await r.mget('k', 'n', 'none'), ['v', '5', null]);
  assert.equal(await r.hset('h', { a: '1', b: '2' }), 2);
  assert.deepEqual(await r.hgetall('h'), { a: '1', b: '2' });
  assert.equal(await r.del('n'), 1);
  assert.equal(await r.rename('k', 'k2'), 'OK');
  assert.equal(await r.exists('k2'), 1);
  const keys = [];
  for await (const batch of r.scanStream({ match: 'k*' })) keys.push(...batch);
  assert.deepEqual(keys, ['k2']);
}

async function pipelining(r) {
  const res = await r.pipeline().set('p', '1').incr('p').get('p').exec();
  assert.deepEqual(res, [[null, 'OK'], [null, 2], [null, '2']]);
}

async function databases() {
  const r3 = new Redis({ port, db: 3, lazyConnect: true });
  await r3.connect();
  await r3.set('db3-only', 'x');
  assert.equal(await r3.get('db3-only'), 'x');
  assert.equal(await r3.dbsize(), 1);
  r3.disconnect();
}

async function pubsub(r) {
  const sub = new Redis({ port });
  const got = new Promise((resolve) => sub.on('message', (channel, message) => resolve([channel, message])));
  const pgot = new Promise((resolve) => sub.on('pmessage', (pattern, channel, message) => resolve([pattern, message])));
  await sub.subscribe('news');
  await sub.psubscribe('n*');
  assert.equal(await r.publish('news', 'hello'), 2);
  assert.deepEqual(await got, ['news', 'hello']);
  assert.deepEqual(await pgot, ['n*', 'hello']);
  sub.disconnect();
}

async function server(r) {
  const info = await r.info();
  for (const f of ['redis_version', 'used_memory', 'loading:0', 'used_cpu_user']) assert.ok(info.includes(f), f);
  assert.equal(await r.client('SETNAME', 'ioredis-test'), 'OK');
  assert.ok((await r.client('LIST')).includes('name=ioredis-test'));
  assert.deepEqual(await r.config('GET', 'maxmemory'), ['maxmemory', '0']);
}

async function transaction(r) {
  const res = await r.multi().set('t', '1').incr('t').exec();
  assert.deepEqual(res, [[null, 'OK'], [null, 2]]);
}

(async () => {
  const r = new Redis({ port });
  for (const t of [basics, pipelining, databases, pubsub, server, transaction]) {
    await t(r);
    console.log(`ok   ${t.name}`);
  }
  r.disconnect();
  console.log('ioredis: all passed');
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
