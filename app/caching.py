"""Per-process caches of slow-changing answers (bench/README.md, "Load"): one `TTLCache` per name
in `app.extensions`, used under a lock (cachetools' caches are not thread-safe, and `flask run`
serves with threads). The time comes from a config key read on every call, so a test or an
operator setting it to 0 gets fresh answers at once."""
import threading

from cachetools import TTLCache
from flask import current_app

_LOCK = threading.Lock()  # guards creating a cache and every get/set (each is microseconds)


def remembered(name, seconds_key, default_seconds, key, compute, maxsize=1024):
    """compute() once per `key` for the configured number of seconds, per process."""
    seconds = current_app.config.get(seconds_key, default_seconds)
    if not seconds:
        return compute()
    with _LOCK:
        cache = current_app.extensions.get(name)
        if cache is None or cache.ttl != seconds:
            cache = current_app.extensions[name] = TTLCache(maxsize=maxsize, ttl=seconds)
        found = cache.get(key)
    if found is None:
        found = compute()  # outside the lock: two misses at once compute the same answer twice
        with _LOCK:
            cache[key] = found
    return found


def forget(name):
    with _LOCK:
        current_app.extensions.pop(name, None)
