"""Replays: the record of a match. ``recorder`` writes them (a step observer the engine builds
from a match's settings); ``format`` reads, checks, re-simulates and verifies them."""

from gamepit.replay.format import (
    FORMAT,
    SUFFIX,
    VERSION,
    Replay,
    check_end,
    check_header,
    read_replay,
    simulate,
    verify,
)

__all__ = ["FORMAT", "SUFFIX", "VERSION", "Replay", "check_end", "check_header",
           "read_replay", "simulate", "verify"]
