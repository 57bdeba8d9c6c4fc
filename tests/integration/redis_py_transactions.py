"""Transactions and scripts as applications use them, through Debian's
python3-redis, against a running geocached (started by geocached_test.cc,
with several event-loop threads). Usage: redis_py_transactions.py PORT.
Prints "ok" when every check passed; an AssertionError or an exception
otherwise."""

import sys
import threading

import redis
from redis.exceptions import ResponseError, WatchError

PORT = int(sys.argv[1])


def client():
    return redis.Redis(port=PORT, decode_responses=True)


def run_threads(n, fn):
    errors = []

    def wrap(i):
        try:
            fn(i)
        except BaseException as e:  # reported by the main thread
            errors.append(repr(e))

    threads = [threading.Thread(target=wrap, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def pipeline_transaction():
    r = client()
    r.delete("tx:a", "tx:n")
    p = r.pipeline(transaction=True)
    p.set("tx:a", "1").incr("tx:n").incrby("tx:n", 5).get("tx:a")
    assert p.execute() == [True, 1, 6, "1"]
    # An error inside EXEC is that command's reply; the others run.
    p = r.pipeline(transaction=True)
    p.set("tx:s", "text").incr("tx:s").set("tx:after", "yes")
    res = p.execute(raise_on_error=False)
    assert res[0] is True and isinstance(res[1], ResponseError) and res[2] is True, res
    assert r.get("tx:after") == "yes"


def transactions_are_atomic():
    """One client increments two keys in each transaction while others read
    both: no reader ever sees one incremented without the other."""
    r = client()
    r.mset({"at:a": 0, "at:b": 0})
    rounds = 300
    done = threading.Event()

    def worker(i):
        c = client()
        if i == 0:
            for _ in range(rounds):
                p = c.pipeline(transaction=True)
                p.incr("at:a").incr("at:b")
                p.execute()
            done.set()
        else:
            while not done.is_set():
                a, b = c.mget("at:a", "at:b")
                assert a == b, (a, b)

    run_threads(3, worker)
    assert r.mget("at:a", "at:b") == [str(rounds), str(rounds)]


def watch_optimistic_loop():
    """The WATCH check-and-set loop of redis-py's docs: 4 clients x 50
    increments done as GET then MULTI/SET/EXEC end at 200."""
    r = client()
    r.set("cas", 0)
    retries = [0]

    def worker(_):
        c = client()
        for _ in range(50):
            while True:
                with c.pipeline() as p:
                    try:
                        p.watch("cas")
                        v = int(p.get("cas"))
                        p.multi()
                        p.set("cas", v + 1)
                        p.execute()
                        break
                    except WatchError:
                        retries[0] += 1

    run_threads(4, worker)
    assert r.get("cas") == "200", r.get("cas")
    # The transaction helper does the same.
    r.set("cas2", 0)

    def incr(p):
        v = int(p.get("cas2"))
        p.multi()
        p.set("cas2", v + 1)

    for _ in range(10):
        r.transaction(incr, "cas2")
    assert r.get("cas2") == "10"


def lock():
    """redis-py's Lock (SET NX PX, and Lua to release, extend, reacquire)
    guards a read-modify-write that is not atomic by itself."""
    r = client()
    r.set("locked:counter", 0)
    r.delete("lock:res")

    def worker(_):
        c = client()
        for _ in range(25):
            with c.lock("lock:res", timeout=10, blocking_timeout=30, sleep=0.001):
                v = int(c.get("locked:counter"))
                c.set("locked:counter", v + 1)

    run_threads(4, worker)
    assert r.get("locked:counter") == "100"
    lk = r.lock("lock:one", timeout=5)
    assert lk.acquire(blocking=False)
    assert not r.lock("lock:one", timeout=5).acquire(blocking=False)
    assert lk.owned()
    assert lk.extend(5)
    assert lk.reacquire()
    lk.release()
    assert not lk.owned()
    assert r.lock("lock:one", timeout=5).acquire(blocking=False)


RATE_LIMIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if n > tonumber(ARGV[1]) then return 0 end
return 1
"""

TOKEN_BUCKET = """
local rate, capacity, now, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or capacity
local ts = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + (now - ts) * rate)
local allowed = tokens >= want
if allowed then tokens = tokens - want end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', KEYS[1], 60000)
return {allowed and 1 or 0, tostring(tokens)}
"""


def rate_limiters():
    r = client()
    r.delete("rl:fixed", "rl:bucket")
    limiter = r.register_script(RATE_LIMIT)
    allowed = [0]
    lock = threading.Lock()

    def worker(_):
        c = client()
        script = c.register_script(RATE_LIMIT)
        for _ in range(30):
            if script(keys=["rl:fixed"], args=[50, 60000]) == 1:
                with lock:
                    allowed[0] += 1

    run_threads(4, worker)
    assert allowed[0] == 50, allowed  # exactly the limit of 120 calls
    assert limiter(keys=["rl:fixed"], args=[50, 60000]) == 0
    assert 0 < r.pttl("rl:fixed") <= 60000

    bucket = r.register_script(TOKEN_BUCKET)
    # Capacity 5, no refill (same timestamp): 5 pass, the 6th does not.
    results = [bucket(keys=["rl:bucket"], args=[1, 5, 1000, 1])[0] for _ in range(6)]
    assert results == [1, 1, 1, 1, 1, 0], results
    # 2 s later 2 tokens are back.
    assert bucket(keys=["rl:bucket"], args=[1, 5, 1002, 1]) == [1, "1"]


def scripts():
    r = client()
    assert r.eval("return {1, 'two', {3}, false, 4.9}", 0) == [1, "two", [3], None, 4]
    assert r.eval("return redis.call('SET', KEYS[1], ARGV[1])", 1, "sc:k", "v") == "OK"
    assert r.eval("return redis.status_reply('FINE')", 0) == "FINE"
    try:
        r.eval("return redis.call('INCR', KEYS[1])", 1, "sc:k")
        raise AssertionError("INCR of a string did not fail")
    except ResponseError as e:
        assert "not an integer" in str(e), e
    try:
        r.eval("return redis.error_reply('MYERR went wrong')", 0)
        raise AssertionError("no error")
    except ResponseError as e:
        assert str(e) == "MYERR went wrong", e
    sha = r.script_load("return ARGV[1] .. '!'")
    assert r.script_exists(sha, "0" * 40) == [True, False]
    assert r.evalsha(sha, 0, "hi") == "hi!"
    # After a flush, a registered script loads itself again (NOSCRIPT).
    s = r.register_script("return 7")
    assert s() == 7
    r.script_flush()
    assert r.script_exists(sha) == [False]
    assert s() == 7
    # A script is atomic: inside a transaction too.
    p = r.pipeline(transaction=True)
    p.eval("redis.call('SET', 'sc:t', 'x'); return redis.call('GET', 'sc:t')", 0).get("sc:t")
    assert p.execute() == ["x", "x"]


def runaway_script():
    r = client()
    r.set("rs:keep", "original")
    old = r.config_get("lua-time-limit")["lua-time-limit"]
    r.config_set("lua-time-limit", 200)
    try:
        r.eval("redis.call('SET', 'rs:keep', 'changed'); redis.call('SET', 'rs:new', 1); while true do end", 0)
        raise AssertionError("the script was not killed")
    except ResponseError as e:
        assert "lua-time-limit" in str(e), e
    finally:
        r.config_set("lua-time-limit", old)
    # Its writes were undone; the server serves on.
    assert r.get("rs:keep") == "original"
    assert r.exists("rs:new") == 0
    assert r.ping()


pipeline_transaction()
transactions_are_atomic()
watch_optimistic_loop()
lock()
rate_limiters()
scripts()
runaway_script()
print("ok")
