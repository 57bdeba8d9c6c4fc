// cache-manager 5 with its node-redis store (cache-manager-redis-yet, as
// NestJS applications use it) against geocached, unchanged (mset runs in a
// MULTI).
'use strict';
const assert = require('node:assert/strict');
const { caching } = require('cache-manager');
const { redisStore } = require('cache-manager-redis-yet');

(async () => {
  const store = await redisStore({ url: `redis://127.0.0.1:${process.env.GEOCACHE_PORT}/2`, ttl: 60_000 });
  const cache = await caching(store);
  await cache.reset();
  await cache.set('user:1', { name: 'Ada' });
  assert.deepEqual(await cache.get('user:1'), { name: 'Ada' });
  assert.ok((await cache.store.ttl('user:1')) > 0);
  assert.equal(await cache.get('missing'), undefined);
  let calls = 0;
  const load = async () => {
    calls += 1;
    return 'computed';
  };
  assert.equal(await cache.wrap('wrapped', load), 'computed');
  assert.equal(await cache.wrap('wrapped', load), 'computed');
  assert.equal(calls, 1);
  await cache.del('user:1');
  assert.equal(await cache.get('user:1'), undefined);
  assert.deepEqual((await cache.store.keys('wrap*')).sort(), ['wrapped']);
  console.log('ok   get/set/wrap/del/keys');
  await cache.store.mset([['a', 1], ['b', 2]]);  // MULTI/EXEC
  assert.deepEqual(await cache.store.mget('a', 'b'), [1, 2]);
  console.log('ok   mset');
  await store.client.quit();
  console.log('cache-manager: all passed');
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
