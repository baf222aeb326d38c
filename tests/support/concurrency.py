"""Running one call in several threads at once (each with its own app context, so its own session
and connection), released together by a Barrier — for the jobs that must do their work once
however many run together. (tests/test_races.py has its own `race` for workflow refusals.)"""
import threading


def at_once(app, call, times=4, timeout=60):
    """`call()` in `times` threads released together; returns their results. Any exception fails."""
    from app.extensions import db

    barrier = threading.Barrier(times)
    results, errors = [], []

    def run():
        with app.app_context():
            try:
                barrier.wait()
                results.append(call())
            except Exception as exc:  # noqa: BLE001 — reported by the assertion below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert errors == []
    return results
