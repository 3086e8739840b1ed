"""Pause Python's cyclic garbage collector around bulk work that allocates many short-lived objects."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic collector for the block (reference counting still frees garbage meanwhile).

    Mapping or writing tens of thousands of rows allocates hundreds of thousands of dicts, strings
    and model instances, which sets off repeated collections that each walk the whole growing heap:
    in ``bench/ena_import.py`` they were about half the mapping time. Use it only around code that
    makes no reference cycles. Left alone if the collector is already off.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
