"""Topics: what the runtime pushes to subscribed clients, by pattern.

A client subscribes to patterns (`tags/*`, `tags/P101.*`, `alarms`; `*` matches anything,
`/` included). Topics that describe state are retained: a subscriber gets their current value
at once, so a client that (re)subscribes is current without asking. Tag topics
(`tags/<id>`) are throttled per subscriber and tag to at most one update per
TAG_INTERVAL_S, leading edge first (a change after a quiet spell goes out at once, the
latest value of a burst follows when its interval is over), and a change of quality is never
held back.

Publishing never blocks and never waits for a client: each subscriber has its own bounded
queue (see runtime.api.session), so a slow client only ever loses its own oldest updates.
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from runtime.contracts.api import event
from runtime.contracts.messages import Sample

TAG_PREFIX = "tags/"
TAG_INTERVAL_S = 0.1


class Subscriber(Protocol):
    """Where a subscriber's events go (a client connection)."""

    def push(self, envelope: dict[str, Any]) -> None:
        """Queue an event for the client; never blocks."""


def tag_data(sample: Sample) -> dict[str, Any]:
    """A tag topic's data: the sample's time, value and quality."""
    return {"ts": sample.ts, "value": sample.value, "quality": sample.quality}


@dataclass
class _TagState:
    """One subscriber's throttle for one tag."""

    sent_at: float = -1e18
    quality: int | None = None
    pending: Sample | None = None


@dataclass
class _Subscription:
    subscriber: Subscriber
    patterns: set[str] = field(default_factory=set)
    tags: dict[str, _TagState] = field(default_factory=dict)

    def matches(self, topic: str) -> bool:
        return any(fnmatch.fnmatchcase(topic, p) for p in self.patterns)


class TopicHub:
    """Subscriptions by pattern, retained state, and the tag throttle."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._subs: dict[int, _Subscription] = {}
        self._retained: dict[str, Any] = {}
        self._tags: dict[str, Sample] = {}
        self._tag_routes: dict[str, list[_Subscription]] = {}
        self._pending: set[int] = set()

    # -- subscriptions --------------------------------------------------------------------

    def subscribe(self, subscriber: Subscriber, pattern: str) -> int:
        """Add a pattern for a subscriber and push it the retained topics it matches now;
        returns how many it got."""
        sub = self._subs.setdefault(id(subscriber), _Subscription(subscriber))
        sub.patterns.add(pattern)
        self._tag_routes.clear()
        sent = 0
        for topic, data in self._retained.items():
            if fnmatch.fnmatchcase(topic, pattern):
                subscriber.push(event(topic, data))
                sent += 1
        for tag, sample in self._tags.items():
            topic = TAG_PREFIX + tag
            if fnmatch.fnmatchcase(topic, pattern):
                state = sub.tags.setdefault(tag, _TagState())
                state.sent_at, state.quality = self._clock(), sample.quality
                subscriber.push(event(topic, tag_data(sample)))
                sent += 1
        return sent

    def unsubscribe(self, subscriber: Subscriber, pattern: str) -> bool:
        """Remove one pattern of a subscriber; False if it was not subscribed."""
        sub = self._subs.get(id(subscriber))
        if sub is None or pattern not in sub.patterns:
            return False
        sub.patterns.discard(pattern)
        self._tag_routes.clear()
        if not sub.patterns:
            self.drop(subscriber)
        return True

    def drop(self, subscriber: Subscriber) -> None:
        """Forget a subscriber (its connection closed)."""
        if self._subs.pop(id(subscriber), None) is not None:
            self._tag_routes.clear()
            self._pending.discard(id(subscriber))

    def wanted(self, topic: str) -> bool:
        """Whether anybody subscribes to a topic."""
        return any(sub.matches(topic) for sub in self._subs.values())

    def patterns(self, subscriber: Subscriber) -> list[str]:
        """A subscriber's patterns."""
        sub = self._subs.get(id(subscriber))
        return sorted(sub.patterns) if sub else []

    # -- publishing -----------------------------------------------------------------------

    def publish(self, topic: str, data: Any, retain: bool = False) -> None:
        """Push an event to every subscriber whose patterns match; keep it for later
        subscribers when it describes state."""
        if retain:
            self._retained[topic] = data
        envelope = event(topic, data)
        for sub in self._subs.values():
            if sub.matches(topic):
                sub.subscriber.push(envelope)

    def retained(self, topic: str) -> Any:
        """The retained data of a topic (None if none)."""
        return self._retained.get(topic)

    def forget_tags(self, keep: Iterable[str]) -> None:
        """Stop retaining tags that are no longer in the project."""
        keep = set(keep)
        for tag in [t for t in self._tags if t not in keep]:
            del self._tags[tag]

    def publish_samples(self, samples: Iterable[Sample]) -> None:
        """New samples of tags: retained, and pushed to their subscribers, throttled."""
        now = self._clock()
        for sample in samples:
            self._tags[sample.tag] = sample
            routes = self._tag_routes.get(sample.tag)
            if routes is None:
                topic = TAG_PREFIX + sample.tag
                routes = self._tag_routes[sample.tag] = [
                    s for s in self._subs.values() if s.matches(topic)]
            for sub in routes:
                state = sub.tags.get(sample.tag)
                if state is None:
                    state = sub.tags[sample.tag] = _TagState()
                if state.quality != sample.quality or now - state.sent_at >= TAG_INTERVAL_S:
                    state.sent_at, state.quality, state.pending = now, sample.quality, None
                    sub.subscriber.push(event(TAG_PREFIX + sample.tag, tag_data(sample)))
                else:
                    state.pending = sample
                    self._pending.add(id(sub.subscriber))

    def flush_due(self) -> None:
        """Push the held-back latest values whose interval is over (call this every
        TAG_INTERVAL_S / 2 or so)."""
        if not self._pending:
            return
        now = self._clock()
        for key in list(self._pending):
            sub = self._subs.get(key)
            if sub is None:
                self._pending.discard(key)
                continue
            waiting = False
            for tag, state in sub.tags.items():
                sample = state.pending
                if sample is None:
                    continue
                if now - state.sent_at >= TAG_INTERVAL_S:
                    state.sent_at, state.quality, state.pending = now, sample.quality, None
                    sub.subscriber.push(event(TAG_PREFIX + tag, tag_data(sample)))
                else:
                    waiting = True
            if not waiting:
                self._pending.discard(key)
