"""Spec strings: parsing, typed options, and errors that list the valid options."""

import pytest

from gamepit.errors import SpecError
from gamepit.protocols import Option, PluginEntry
from gamepit.specs import bind_options, format_spec, split_spec

ENTRY = PluginEntry("agent", "mcts", object, "test entry", (
    Option("sims", int, 100), Option("c_puct", float, 1.5), Option("noise", bool, False),
    Option("mode", str, "fast", choices=("fast", "slow"))))


def test_split_plain_name_and_options():
    assert split_spec("random") == ("random", [])
    assert split_spec(" mcts:sims=400,c_puct=2.0 ") == ("mcts", [("sims", "400"),
                                                                 ("c_puct", "2.0")])


def test_split_keeps_commas_inside_brackets_and_allows_a_positional_first_value():
    name, parts = split_spec("openspiel:go(board_size=9,komi=7.5),max_moves=50")
    assert name == "openspiel"
    assert parts == [(None, "go(board_size=9,komi=7.5)"), ("max_moves", "50")]
    assert split_spec("atari:pong") == ("atari", [(None, "pong")])


def test_split_keeps_commas_inside_quotes():
    name, parts = split_spec("gtp:cmd=pachi -t =500 'threads=1,pass_all_alive',timeout=5")
    assert parts == [("cmd", "pachi -t =500 'threads=1,pass_all_alive'"), ("timeout", "5")]
    assert split_spec('x:a="b,c",d=1')[1] == [("a", '"b,c"'), ("d", "1")]
    assert split_spec("x:a='b,c")[1] == [("a", "'b,c")]  # an open quote runs to the end


def test_bind_converts_types_and_positional_sets_first_option():
    assert bind_options(ENTRY, [("sims", "400"), ("noise", "yes")]) == {"sims": 400,
                                                                         "noise": True}
    assert bind_options(ENTRY, [(None, "7")]) == {"sims": 7}


@pytest.mark.parametrize("parts, message", [
    ([("simz", "4")], "has no option 'simz'; valid options: sims, c_puct, noise, mode"),
    ([("sims", "many")], "option 'sims' expects int, got 'many'"),
    ([("noise", "perhaps")], "option 'noise' expects bool"),
    ([("mode", "medium")], "is not one of: fast, slow"),
    ([("sims", "1"), ("sims", "2")], "given twice"),
    ([("sims", "1"), (None, "2")], "needs a key=value form"),
])
def test_bind_errors_name_the_problem(parts, message):
    with pytest.raises(SpecError, match=message.replace("(", r"\(")):
        bind_options(ENTRY, parts)


@pytest.mark.parametrize("text", ["", ":sims=3", "mcts:=3"])
def test_malformed_specs(text):
    with pytest.raises(SpecError):
        split_spec(text)


def test_format_round_trips():
    options = {"sims": 400, "noise": True}
    assert format_spec("mcts", options) == "mcts:sims=400,noise=true"
    name, parts = split_spec(format_spec("mcts", options))
    assert bind_options(ENTRY, parts) == options


def test_options_learner_settings_and_tournaments_share_one_range_type():
    """One ``Range`` says what a number may be wherever gamepit checks one: the same bounds
    give the same verdict and the same text from a plugin's Option and a learner's setting."""
    import dataclasses

    from gamepit.protocols import Option, Range
    from gamepit.training.settings import range_of, setting

    @dataclasses.dataclass
    class Args:
        rate: float = setting(0.5, low=0, high=1)

    option = Option("rate", float, 0.5, low=0, high=1)
    field = dataclasses.fields(Args)[0]
    assert option.range == range_of(field) == Range(0, 1)
    assert option.range.text() == "[0..1]" and "in [0..1]" in option.describe()
    for value, said in ((1.5, "must be at most 1"), (-1, "must be at least 0"),
                        (float("nan"), "must be a finite number"), (2**64, "is too large"),
                        (0.25, "")):
        assert option.range.problem(value) == range_of(field).problem(value) == said
    assert Range(above=0).problem(0) == "must be above 0" and Range(above=0).text() == "(0..]"
