"""Debian's python3-redis (redis-py 4.3) against geocached, the calls an
application makes, unchanged, MULTI/EXEC and Lua (redis-py's Lock, pipelines
with transaction=True) included."""
import os
import sys
import time

import redis

PORT = int(os.environ["GEOCACHE_PORT"])
r = redis.Redis(port=PORT, decode_responses=True)


def check(name, got, want):
    if got != want:
        raise AssertionError(f"{name}: got {got!r}, want {want!r}")


def strings_and_keys():
    r.flushall()
    check("set", r.set("s", "v", ex=100), True)
    check("get", r.get("s"), "v")
    check("ttl", r.ttl("s"), 100)
    check("set nx", r.set("s", "w", nx=True), None)
    check("incr", r.incr("n"), 1)
    check("incrby", r.incrby("n", 41), 42)
    check("mset", r.mset({"a": "1", "b": "2"}), True)
    check("mget", r.mget("a", "b", "nope"), ["1", "2", None])
    check("exists", r.exists("a", "b", "nope"), 2)
    check("rename", r.rename("a", "a2"), True)
    check("copy", r.copy("a2", "a3"), True)
    check("type", r.type("a3"), "string")
    check("object", r.object("encoding", "a3"), "int")
    check("memory usage", r.memory_usage("a3") > 0, True)
    check("scan_iter", sorted(r.scan_iter(match="a*")), ["a2", "a3"])
    check("delete", r.delete("a2", "a3"), 2)
    check("expire", r.expire("b", 10), True)
    check("persist", r.persist("b"), True)


def hashes():
    check("hset", r.hset("h", mapping={"f1": "1", "f2": "2"}), 2)
    check("hgetall", r.hgetall("h"), {"f1": "1", "f2": "2"})
    check("hincrby", r.hincrby("h", "f1", 5), 6)


def lists():
    check("rpush", r.rpush("l", "a", "b", "c"), 3)
    check("lpush", r.lpush("l", "z"), 4)
    check("lrange", r.lrange("l", 0, -1), ["z", "a", "b", "c"])
    check("lpop count", r.lpop("l", 2), ["z", "a"])
    check("lpos", r.lpos("l", "c"), 1)
    check("lmove", r.lmove("l", "l2", "RIGHT", "LEFT"), "c")
    check("type", r.type("l2"), "list")
    check("llen", r.llen("l"), 1)


def databases():
    r1 = redis.Redis(port=PORT, db=1, decode_responses=True)
    r1.flushdb()
    r1.set("only-in-1", "x")
    check("db1 get", r1.get("only-in-1"), "x")
    check("db0 get", r.get("only-in-1"), None)
    check("db1 dbsize", r1.dbsize(), 1)
    check("move", r1.move("only-in-1", 2), True)
    check("db2 get", redis.Redis(port=PORT, db=2, decode_responses=True).get("only-in-1"), "x")


def pipeline_without_transaction():
    p = r.pipeline(transaction=False)
    p.set("p1", "1").incr("p1").get("p1")
    check("pipeline", p.execute(), [True, 2, "2"])


def pubsub():
    p = r.pubsub()
    p.subscribe("chan")
    check("subscribe", p.get_message(timeout=2)["type"], "subscribe")
    check("publish", r.publish("chan", "hi"), 1)
    msg = p.get_message(timeout=2)
    check("message", (msg["type"], msg["data"]), ("message", "hi"))
    check("numsub", r.pubsub_numsub("chan"), [("chan", 1)])
    p.close()


def server():
    info = r.info()
    for field in ("redis_version", "used_memory", "connected_clients", "uptime_in_seconds", "role"):
        if field not in info:
            raise AssertionError(f"INFO lacks {field}")
    check("info cpu", "used_cpu_user" in r.info("cpu"), True)
    check("info keyspace", "db0" in r.info("keyspace"), True)
    check("config set", r.config_set("slowlog-log-slower-than", 0), True)
    r.get("s")
    check("slowlog", len(r.slowlog_get(5)) > 0, True)
    check("slowlog reset", r.slowlog_reset(), True)
    r.config_set("slowlog-log-slower-than", 10000)
    check("client list", any(c["id"] == str(r.client_id()) for c in r.client_list()), True)
    check("client setname", r.client_setname("app"), True)
    check("client getname", r.client_getname(), "app")
    check("dbsize", r.dbsize() > 0, True)
    check("time", len(r.time()), 2)
    check("wait", r.wait(0, 100), 0)


def transaction_pipeline():
    p = r.pipeline()  # transaction=True: MULTI ... EXEC
    p.set("t", "1").incr("t")
    check("transaction", p.execute(), [True, 2])


def lock():
    with r.lock("resource", timeout=5):  # SET NX PX, then a Lua release
        pass


PASSES = [strings_and_keys, hashes, lists, databases, pipeline_without_transaction, pubsub, server, transaction_pipeline,
          lock]

for t in PASSES:
    t()
    print(f"ok   {t.__name__}")
print("redis-py: all passed")
