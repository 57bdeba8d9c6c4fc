"""Debian's python3-django-redis with python3-django against geocached: the
cache API (get/set/incr/delete_pattern/ttl, ...) and cache-backed sessions,
unchanged; set_many pipelines inside MULTI/EXEC."""
import os

import django
from django.conf import settings

PORT = int(os.environ["GEOCACHE_PORT"])
settings.configure(
    CACHES={
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{PORT}/3",  # a database other than 0
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
        }
    },
    SESSION_ENGINE="django.contrib.sessions.backends.cache",
    INSTALLED_APPS=["django.contrib.sessions"],
    SECRET_KEY="test",
)
django.setup()

from django.contrib.sessions.backends.cache import SessionStore  # noqa: E402
from django.core.cache import cache  # noqa: E402


def check(name, got, want):
    if got != want:
        raise AssertionError(f"{name}: got {got!r}, want {want!r}")


def cache_api():
    cache.clear()
    cache.set("greeting", "hello", timeout=60)
    check("get", cache.get("greeting"), "hello")
    check("get default", cache.get("missing", "dflt"), "dflt")
    check("add existing", cache.add("greeting", "other"), False)
    cache.set("obj", {"a": [1, 2]}, timeout=None)
    check("pickled", cache.get("obj"), {"a": [1, 2]})
    cache.set("n", 1)
    check("incr", cache.incr("n"), 2)
    check("decr", cache.decr("n", 2), 0)
    check("ttl", 0 < cache.ttl("greeting") <= 60, True)
    check("persist", cache.persist("greeting"), True)
    check("ttl none", cache.ttl("greeting"), None)
    check("has_key", cache.has_key("greeting"), True)
    check("get_many", cache.get_many(["greeting", "n"]), {"greeting": "hello", "n": 0})
    for i in range(20):
        cache.set(f"page:{i}", i)
    check("keys", len(cache.keys("page:*")), 20)
    check("delete_pattern", cache.delete_pattern("page:*"), 20)
    check("after delete_pattern", cache.get("page:3"), None)
    check("delete", cache.delete("n"), True)
    check("touch", cache.touch("greeting", 30), True)


def sessions():
    s = SessionStore()
    s["user_id"] = 42
    s.create()
    key = s.session_key
    loaded = SessionStore(session_key=key)
    check("session load", loaded["user_id"], 42)
    loaded["cart"] = ["x"]
    loaded.save()
    check("session saved", SessionStore(session_key=key)["cart"], ["x"])
    loaded.delete()
    check("session deleted", SessionStore(session_key=key).exists(key), False)


def set_many():
    cache.set_many({"m1": 1, "m2": 2})  # django-redis 5.2 returns None, not Django's list of failures
    check("get_many", cache.get_many(["m1", "m2"]), {"m1": 1, "m2": 2})


PASSES = [cache_api, sessions, set_many]

for t in PASSES:
    t()
    print(f"ok   {t.__name__}")
print("django-redis: all passed")
