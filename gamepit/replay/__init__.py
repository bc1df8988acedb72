"""Replays: the record of a match. ``recorder`` writes them (a plugin on the match hooks);
``format`` reads, re-simulates and verifies them."""

from gamepit.replay.format import (
    FORMAT,
    SUFFIX,
    VERSION,
    Replay,
    list_replays,
    read_replay,
    simulate,
    verify,
)

__all__ = ["FORMAT", "SUFFIX", "VERSION", "Replay", "list_replays", "read_replay", "simulate",
           "verify"]
