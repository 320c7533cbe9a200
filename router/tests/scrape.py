"""Scraping a router's /metrics in tests, and reading what moved between two scrapes."""

from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families

Key = tuple[str, frozenset[tuple[str, str]]]


@dataclass(frozen=True)
class Scrape:
    """Every sample of one scrape, and each family's type by its name."""

    samples: dict[Key, float] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)

    def value(self, metric: str, /, **labels: str) -> float:
        """A sample's value; 0 for a series not (yet) exposed."""
        return self.samples.get((metric, frozenset(labels.items())), 0.0)

    def has(self, name: str) -> bool:
        return any(sample_name == name for sample_name, _ in self.samples)

    def __sub__(self, before: "Scrape") -> dict[Key, float]:
        """What moved since `before`, series by series: the router's own (not the process's CPU
        and memory, nor when a series was made: `_created`), those that did not move left out."""
        keys = {
            key
            for key in self.samples.keys() | before.samples.keys()
            if key[0].startswith("router_") and not key[0].endswith("_created")
        }
        moved = {key: self.samples.get(key, 0.0) - before.samples.get(key, 0.0) for key in keys}
        return {key: delta for key, delta in moved.items() if delta}

    def since_start(self) -> dict[Key, float]:
        """The router's series that are not 0: what moved since the router started."""
        return self - Scrape()


def parse(text: str) -> Scrape:
    scrape = Scrape()
    for family in text_string_to_metric_families(text):
        scrape.types[family.name] = family.type
        for sample in family.samples:
            scrape.samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return scrape


async def scrape(client: httpx.AsyncClient, headers: Mapping[str, str] | None = None) -> Scrape:
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(response.text)


def key(metric: str, /, **labels: str) -> Key:
    return (metric, frozenset(labels.items()))


def messages_moved(moves: Mapping[Key, float]) -> dict[Key, float]:
    """Of what moved, router_messages_total's series."""
    return {k: v for k, v in moves.items() if k[0] == "router_messages_total"}
