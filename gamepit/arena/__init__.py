"""The engine: one match (``match``), many side by side (``lockstep``), series and same-seed
comparisons (``series``). Observers hear every match through the lifecycle hooks."""

from gamepit.arena.lockstep import play_lockstep, play_match
from gamepit.arena.match import LiveMatch, MatchSettings, MoveTimeout, act_alone, act_together
from gamepit.arena.series import (
    ScoreLine,
    SeriesResult,
    compare_on_seeds,
    format_scores,
    play_series,
    score_table,
)
from gamepit.protocols import MatchInfo, MatchResult, StepRecord

__all__ = [
    "LiveMatch", "MatchInfo", "MatchResult", "MatchSettings", "MoveTimeout", "ScoreLine",
    "SeriesResult", "StepRecord", "act_alone", "act_together", "compare_on_seeds", "format_scores",
    "play_lockstep", "play_match", "play_series", "score_table",
]
