"""Connected groups of things (sites joined by trunks): one union-find for the model and the scenarios."""

from __future__ import annotations

from typing import Hashable, Iterable


class Components:
    """Union-find over `items`; `join` says whether two items were apart until now."""

    def __init__(self, items: Iterable[Hashable]):
        self.parent = {x: x for x in items}

    def root(self, x: Hashable) -> Hashable:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]  # path halving
            x = self.parent[x]
        return x

    def join(self, a: Hashable, b: Hashable) -> bool:
        ra, rb = self.root(a), self.root(b)
        if ra == rb:
            return False
        self.parent[ra] = rb
        return True

    def index(self) -> dict:
        """item -> the number of its group (groups numbered in the order of their sorted roots)."""
        roots = sorted({self.root(x) for x in self.parent})
        return {x: roots.index(self.root(x)) for x in self.parent}
