"""Other users' streams running while a test attacks the gateway: each must complete, every time."""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager

import httpx

from tests.e2e.conftest import bearer
from tests.harness import Gateway


class Bystanders:
    """`count` users, each streaming a slow chat answer (`chunks` chunks, `delay` s apart) in its own thread;
    `continuous`: each user starts a new stream as soon as one ends, until `finish`."""

    def __init__(
        self, gateway: Gateway, keys: list[str], chunks: int = 40, delay: float = 0.05, continuous: bool = False
    ) -> None:
        self.gateway, self.keys = gateway, keys
        self.prompt = f"keep going [[long:{chunks}]] [[slow:{delay}]]"
        self.chunks = chunks
        self.continuous = continuous
        self.stopping = threading.Event()
        self.started = [threading.Event() for _ in keys]
        self.results: list[str | None] = [None] * len(keys)
        self.completed = 0
        self.threads = [threading.Thread(target=self._loop, args=(i,), daemon=True) for i in range(len(keys))]

    def _loop(self, index: int) -> None:
        while True:
            self._run(index)
            if self.results[index] != "ok" or not self.continuous or self.stopping.is_set():
                return
            self.completed += 1

    def _run(self, index: int) -> None:
        body = {"messages": [{"role": "user", "content": self.prompt}], "model": "openai/gpt-4o-mini", "stream": True}
        events: list = []
        try:
            with (
                httpx.Client(base_url=self.gateway.api, timeout=60) as client,
                client.stream("POST", "/chat/completions", headers=bearer(self.keys[index]), json=body) as r,
            ):
                for line in r.iter_lines():
                    if line.startswith("data: "):
                        events.append(line[6:] if line == "data: [DONE]" else json.loads(line[6:]))
                        self.started[index].set()
            deltas = sum(1 for e in events if isinstance(e, dict) and e.get("type") == "response.content_part.delta")
            ok = events[-2:][0].get("type") == "response.done" and events[-1] == "[DONE]" and deltas == self.chunks
            self.results[index] = "ok" if ok else f"incomplete: {events[-3:]}"
        except Exception as exc:  # the assertion below reports it
            self.results[index] = f"{type(exc).__name__}: {exc}"
        finally:
            self.started[index].set()

    def start(self) -> None:
        for thread in self.threads:
            thread.start()
        for event in self.started:
            assert event.wait(30), "a bystander stream never started"

    def finish(self) -> list[str | None]:
        self.stopping.set()
        for thread in self.threads:
            thread.join(90)
        return self.results


@contextmanager
def bystanders(gateway: Gateway, make_user, count: int = 5, **kwargs):
    """Streams that are in flight for the whole block; asserts on exit that every one of them completed."""
    crowd = Bystanders(gateway, [make_user(credits=5)[1] for _ in range(count)], **kwargs)
    crowd.start()
    yield crowd
    results = crowd.finish()
    assert results == ["ok"] * count, results
