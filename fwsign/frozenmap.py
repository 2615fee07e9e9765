"""The immutable mapping decoded CBOR maps become.

FrozenMap implements the mapping protocol itself and is registered as a virtual
subclass of :class:`collections.abc.Mapping` (``isinstance(m, Mapping)`` holds) rather
than inheriting from it: an ABC subclass carries the ABCMeta metaclass, which a class
compiled by mypyc (scripts/compile.py) cannot have.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, Mapping, ValuesView
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from .cbor import CBORValue

MapKey = Union[int, str, bytes, "tuple[MapKey, ...]"]


class FrozenMap:
    """An immutable, hashable, insertion-ordered mapping for decoded CBOR maps."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[MapKey, CBORValue] | FrozenMap | None = None) -> None:
        self._items: dict[MapKey, CBORValue] = dict(items.items()) if items else {}

    @staticmethod
    def _wrap(items: dict[MapKey, CBORValue]) -> FrozenMap:
        """Take ownership of a freshly built dict without copying it (decoder use only)."""
        obj = FrozenMap()
        obj._items = items
        return obj

    def get(self, key: MapKey, default: CBORValue = None) -> CBORValue:
        return self._items.get(key, default)

    def items(self) -> ItemsView[MapKey, CBORValue]:
        return self._items.items()

    def keys(self) -> KeysView[MapKey]:
        return self._items.keys()

    def values(self) -> ValuesView[CBORValue]:
        return self._items.values()

    def __getitem__(self, key: MapKey) -> CBORValue:
        return self._items[key]

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[MapKey]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def __hash__(self) -> int:
        return hash(tuple(self._items.items()))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenMap):
            return self._items == other._items
        if isinstance(other, Mapping):
            return self._items == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"FrozenMap({self._items!r})"


Mapping.register(FrozenMap)
