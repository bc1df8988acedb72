"""The fuzz harness: hostile inputs of nine classes thrown at the real command line, engine and
server, each case tallied as answered, a one-line error, a traceback, a many-line error, or a
lie (damaged data accepted as good).

``tests/test_fuzz.py`` runs every class with a small budget and fails on any traceback, many-line
error or lie; ``benchmarks/fuzz.py`` runs the same classes with larger budgets and prints the
table. Inputs come from Hypothesis strategies, derandomized, so a budget always tries the same
cases and a count reproduces.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gamepit.cli import main

HOSTILE_NUMBERS = ["nan", "-nan", "inf", "-inf", "1e309", "-1", "0", "-0", "1", "3", "0.5",
                   "99999999999999999999", "-99999999999999999999", "10**30", "1_000", "0x10",
                   "", " ", "x", "true", "None", "[]", "{}", "(", ")", "1,2", "=", ":"]


@dataclass
class Tally:
    """What one class of inputs did."""

    name: str
    cases: int = 0
    accepted: int = 0
    one_line: int = 0
    tracebacks: int = 0
    many_lines: int = 0
    lies: int = 0
    seconds: float = 0.0
    examples: list[str] = field(default_factory=list)

    def bad(self, kind: str, case: str, detail: str) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        if len(self.examples) < 5:
            self.examples.append(f"{kind}: {case[:160]!r} -> {detail.strip()[-600:]}")

    @property
    def failures(self) -> int:
        return self.tracebacks + self.many_lines + self.lies


def run_main(argv: list[str], stdin: str = "") -> tuple[int, str, str, str]:
    """``gamepit ARGV`` in this process: (exit code, stdout, stderr, escaped traceback)."""
    out, err = io.StringIO(), io.StringIO()
    escaped = ""
    old_stdin = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin.encode()), encoding="utf-8")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else 1
            except BaseException:  # noqa: BLE001 - what the fuzzing is looking for
                code, escaped = 1, traceback.format_exc()
    finally:
        sys.stdin = old_stdin
    return code, out.getvalue(), err.getvalue(), escaped


def judge(tally: Tally, argv: list[str], stdin: str = "") -> int:
    """Run a command and tally it: exit 0, or non-zero with exactly one error line."""
    tally.cases += 1
    code, out, err, escaped = run_main(argv, stdin)
    case = " ".join(argv)
    if escaped or "Traceback (most recent call last)" in err + out:
        tally.bad("tracebacks", case, escaped or err)
        return code
    if code == 0:
        tally.accepted += 1
        return code
    lines = [line for line in err.split("\n")
             if line.strip() and not line.startswith("gamepit: warning")]
    if len(lines) == 1:
        tally.one_line += 1
    else:
        tally.bad("many_lines", case, err)
    return code


def _run(strategy: st.SearchStrategy, body: Callable[[Any], None], budget: int) -> None:
    """Call ``body`` on ``budget`` derandomized examples of ``strategy``."""

    @settings(max_examples=budget, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def each(value: Any) -> None:
        body(value)

    each()


@contextlib.contextmanager
def timed(tally: Tally) -> Iterator[Tally]:
    started = time.perf_counter()
    try:
        yield tally
    finally:
        tally.seconds += time.perf_counter() - started


# --------------------------------------------------------------------------- specs


def _spec_strategy() -> st.SearchStrategy[tuple[str, str]]:
    from gamepit.plugins.manager import get_manager
    registry = get_manager().registry
    games = registry.names("game") + ["", "nope", "connect_four:", ":x", "tictactoe:x=1"]
    agents = [name for name in registry.names("agent") if name != "human"] + ["nope", ""]

    def spec(kind_names: list[str], kind: str) -> st.SearchStrategy[str]:
        @st.composite
        def build(draw: Any) -> str:
            name = draw(st.sampled_from(kind_names))
            try:
                options = {o.name: o for o in registry.entry(kind, name).options}
            except Exception:  # noqa: BLE001 - junk names have no options
                options = {}
            parts = []
            for _ in range(draw(st.integers(0, 2))):
                key = draw(st.sampled_from([*options, *options, *options, "bogus", ""]))
                option = options.get(key)
                fair = [] if option is None else [  # values the option should take
                    str(v) for v in (option.default, option.low, option.high,
                                     *(option.choices or ())) if v is not None]
                value = draw(st.one_of(*[st.sampled_from(fair or HOSTILE_NUMBERS)] * 4,
                                       st.sampled_from(HOSTILE_NUMBERS),
                                       st.text(max_size=12)))
                parts.append(f"{key}={value}" if key else value)
            return name + (":" + ",".join(parts) if parts else "")
        return build()

    return st.tuples(spec(games, "game"), spec(agents, "agent"))


def fuzz_specs(budget: int) -> Tally:
    """Game and agent specs from each plugin's options and hostile values, played for real:
    one short tournament each (a spec accepted must be a playable game)."""
    tally = Tally("specs")
    with timed(tally), tempfile.TemporaryDirectory() as folder:
        _run(_spec_strategy(), lambda pair: judge(tally, [
            "tournament", pair[0], pair[1], "random", "--games", "1", "--max-steps", "40",
            "--replays", folder, "--ledger", str(Path(folder, "ledger.sqlite")),
            "--move-time", "20"]), budget)
    return tally


# --------------------------------------------------------------------------- command line

_COMMANDS = [
    ["match"], ["match", "tictactoe"], ["tournament"], ["replay"], ["replay", "show"],
    ["replay", "verify", "/nonexistent.jsonl"], ["replay", "export", "/nonexistent.jsonl"],
    ["train"], ["train", "nope"], ["view", "/nonexistent"], ["gtp", "--agent", "nope"],
    ["plugins", "--bogus"], ["--bogus"], ["bench", "nope"],
]


def _argv_strategy() -> st.SearchStrategy[list[str]]:
    flags = ["--seed", "--move-time", "--games", "--workers", "--max-steps", "--batch-size",
             "--size", "--komi", "--port", "--anchor-elo", "--csv", "--json", "--ledger"]
    flag_value = st.tuples(st.sampled_from(flags), st.one_of(
        st.sampled_from(HOSTILE_NUMBERS + ["/", "/proc/x", "/tmp"]), st.text(max_size=8)))
    command = st.sampled_from([["match", "tictactoe", "random", "random"],
                               ["tournament", "tictactoe", "random", "random"],
                               ["gtp"], *_COMMANDS])
    return st.builds(lambda c, fs: c + [x for f in fs for x in f], command,
                     st.lists(flag_value, max_size=2))


def fuzz_command_line(budget: int) -> Tally:
    """Wrong subcommands, flags and flag values, across every command."""
    tally = Tally("command line")
    with timed(tally), tempfile.TemporaryDirectory() as folder:
        cwd = os.getcwd()
        os.chdir(folder)  # ledgers, csv files and replays land in the scratch folder
        try:
            _run(_argv_strategy(), lambda argv: judge(tally, argv + ["--max-steps", "9"]
                 if argv[:1] == ["tournament"] and "--max-steps" not in argv
                 else argv), budget)
        finally:
            os.chdir(cwd)
    return tally


# --------------------------------------------------------------------------- YAML

_YAML_BODIES = [
    "game: tictactoe\nagents: [random, random]\ngames_per_pair: 1\n",
    "!!int 'x'\n", "a: &a [*a]\n", "a: &x [1]\nb: [*x, *x, *x]\n", "[" * 20000 + "]" * 20000,
    "game: tictactoe\nagents: [random, random]\nseed: -1\n",
    "game: tictactoe\nagents: [random, random]\nmove_time: .nan\n",
    "game: tictactoe\nagents: [random, random]\nplugins: [/nonexistent.py]\n",
    "- 1\n- 2\n", "null\n", "", "\x00\x01", "game: 5\n", "agents: random\n",
    "learning_rate: -1\n", "hidden: -1\n", "threads: 100000\n", "seed: 1e400\n",
    "total_steps: .inf\n", "eval_opponent: nope\n", "game: [1, 2]\n", "{" * 3000,
]


def _yaml_strategy() -> st.SearchStrategy[str]:
    keys = st.sampled_from(["game", "agents", "seed", "games_per_pair", "move_time", "workers",
                            "format", "learning_rate", "hidden", "threads", "total_steps",
                            "batch_size", "gamma", "eval_opponent", "plugins", "bogus"])
    values = st.one_of(st.sampled_from([".nan", ".inf", "-1", "0", "99999999999999999999",
                                        "[]", "{}", "~", "!!binary AAAA", "!!python/none ''",
                                        "'x'", "*undefined", "[1, [2, [3]]]"]),
                       st.text(max_size=10).map(json.dumps))
    mapping = st.lists(st.tuples(keys, values), max_size=4).map(
        lambda pairs: "game: tictactoe\nagents: [random, random]\ngames_per_pair: 1\n"
        + "".join(f"{k}: {v}\n" for k, v in pairs))
    return st.one_of(st.sampled_from(_YAML_BODIES), mapping)


def fuzz_yaml(budget: int) -> Tally:
    """Tournament and training configs: YAML tags, aliases, deep nesting, bad values."""
    tally = Tally("YAML")
    with timed(tally), tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "config.yaml")

        def case(pair: tuple[str, str]) -> None:
            text, command = pair
            path.write_text(text, encoding="utf-8", errors="surrogateescape")
            if command == "tournament":
                judge(tally, ["tournament", "--config", str(path), "--max-steps", "9",
                              "--ledger", str(Path(folder, "l.sqlite")), "--replays", folder])
            else:
                judge(tally, ["train", command, "--config", str(path), "--settings"])

        _run(st.tuples(_yaml_strategy(), st.sampled_from(["tournament", "dqn", "ppo"])),
             case, budget)
    return tally


# --------------------------------------------------------------------------- replays


def _record_replays(folder: str) -> list[Path]:
    for game in ("tictactoe", "connect_four"):
        code, _, err, escaped = run_main(["match", game, "random", "alphabeta:depth=1",
                                          "--games", "2", "--replays", folder])
        assert code == 0, err + escaped
    return sorted(Path(folder).glob("*.jsonl"))


# Fields whose value verify cannot re-derive from the simulation: changing them is not a lie.
NEUTRAL_FIELDS = {"created", "versions", "match_id", "agents", "move_time", "seconds", "info"}


def _mutate(lines: list[str], choice: int, where: int, value: Any) -> tuple[list[str], bool]:
    """One mutation of a replay's lines; also whether it changes what the game was (a lie
    that verify must catch) rather than only its form or a field verify cannot check."""
    lines = list(lines)
    index = where % len(lines)
    kind = choice % 7
    if kind == 0:  # drop a line
        del lines[index]
        return lines, True
    if kind == 1:  # truncate a line
        lines[index] = lines[index][: len(lines[index]) // 2]
        return lines, True
    if kind == 2:  # a raw junk line
        lines.insert(index, str(value))
        return lines, str(value).strip() != ""
    if kind == 6:  # nesting bomb
        lines[index] = "[" * 100000 + "]" * 100000
        return lines, True
    record = json.loads(lines[index])
    changed = dict(record)
    key = sorted(record)[where % len(record)]
    if kind == 3:  # replace one field's value
        changed[key] = value
    elif kind == 4:  # rename a field
        changed[key + "_"] = changed.pop(key)
    elif kind == 5 and record.get("type") == "end":  # a lying end record
        changed.update(forfeit_seat=where % 2, forfeit_reason="made up")
    elif kind == 5 and "action" in record:  # another action
        changed["action"] = record["action"] + 1 + where % 3
    if changed == record:
        return lines, False
    lines[index] = json.dumps(changed)
    return lines, kind == 5 or key not in NEUTRAL_FIELDS


def fuzz_replays(budget: int) -> Tally:
    """Recorded replays damaged one way each, then verified, shown and listed."""
    tally = Tally("replays")
    with timed(tally), tempfile.TemporaryDirectory() as folder:
        sources = [p.read_text().splitlines() for p in _record_replays(folder)]
        damaged = Path(folder, "damaged")
        damaged.mkdir()
        junk = st.one_of(st.integers(-5, 2**70), st.text(max_size=6), st.none(),
                         st.floats(allow_nan=True), st.lists(st.integers(), max_size=2))

        def case(args: tuple[int, int, int, Any]) -> None:
            source, choice, where, value = args
            lines, lie = _mutate(sources[source % len(sources)], choice, where, value)
            path = damaged / f"case{tally.cases}.jsonl"
            path.write_text("\n".join(lines) + "\n")
            code = judge(tally, ["replay", "verify", str(path)])
            if code == 0 and lie:
                tally.bad("lies", f"mutation {choice % 7} at {where} of {source % len(sources)} "
                          f"with {value!r}", "verify accepted it")
            judge(tally, ["replay", "show", str(path)])
            path.unlink()

        _run(st.tuples(st.integers(0, 99), st.integers(0, 99), st.integers(0, 999), junk),
             case, budget)
        Path(damaged, "bad.jsonl").write_text("[" * 100000 + "\n")
        judge(tally, ["replay", "list", folder])
    return tally


# --------------------------------------------------------------------------- checkpoints


def fuzz_checkpoints(budget: int) -> Tally:
    """The shipped AlphaZero checkpoint, truncated or with a byte flipped, loaded to play:
    refused in one line, never played with damaged weights."""
    import gamepit.learners.alphazero as alphazero
    tally = Tally("checkpoints")
    original = Path(alphazero.__file__).with_name("checkpoints").joinpath(
        "tictactoe.pt").read_bytes()
    with timed(tally), tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "damaged.pt")

        def case(args: tuple[int, int, int]) -> None:
            kind, where, byte = args
            data = bytearray(original)
            if kind % 3 == 0:
                data = data[: where % len(data)]
            elif kind % 3 == 1:
                index = where * 7919 % len(data)
                if data[index] == byte:
                    return
                data[index] = byte
            else:
                data = bytearray(os.urandom(where % 300))
            path.write_bytes(bytes(data))
            code = judge(tally, ["match", "tictactoe", f"alphazero:checkpoint={path},sims=2",
                                 "random", "--games", "1", "--no-replays"])
            if code == 0 and not _same_contents(path, original):
                tally.bad("lies", f"checkpoint damage {kind % 3} at {where}",
                          "a damaged checkpoint played")

        _run(st.tuples(st.integers(0, 2), st.integers(0, 10**7), st.integers(0, 255)),
             case, budget)
    return tally


def _same_contents(path: Path, original: bytes) -> bool:
    """Whether a file that loaded holds what the original holds (a flipped byte in the zip's
    bookkeeping can leave every tensor intact: that is not damage that must be refused)."""
    import torch

    def load(source: Any) -> dict[str, Any]:
        return torch.load(source, map_location="cpu", weights_only=True)

    try:
        damaged, intact = load(path), load(io.BytesIO(original))
    except Exception:  # noqa: BLE001 - it played, yet torch cannot read it: not the original
        return False

    def same(a: Any, b: Any) -> bool:
        if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
            return a.dtype == b.dtype and a.shape == b.shape and bool(torch.equal(a, b))
        if isinstance(a, dict) and isinstance(b, dict):
            return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        return type(a) is type(b) and a == b

    return same(damaged, intact)


# --------------------------------------------------------------------------- GTP


def fuzz_gtp(budget: int) -> Tally:
    """One real GTP engine process, fed hostile lines (bytes that are not UTF-8 included); each
    command must get its one answer and the engine must live to the end."""
    tally = Tally("GTP")
    commands = st.sampled_from(["play", "genmove", "boardsize", "komi", "clear_board",
                                "known_command", "undo", "showboard", "fixed_handicap",
                                "set_free_handicap", "loadsgf", "name", "", "quit_not"])
    args = st.lists(st.one_of(st.sampled_from(["b", "w", "D4", "pass", "A0", "Z99", "nan",
                                               "inf", "-1", "0", "1000", "99999999999999999999",
                                               "\t", "é", "#"]),
                              st.binary(max_size=4).map(lambda b: b.decode("latin-1"))),
                    max_size=3)
    lines: list[bytes] = []
    with timed(tally):
        _run(st.tuples(commands, args, st.booleans()), lambda c: lines.append(
            (" ".join([c[0], *c[1]])).encode("latin-1" if c[2] else "utf-8", "replace")
            .replace(b"\n", b" ").replace(b"\r", b" ")), budget)
        lines = [line for line in lines if line.strip() and not line.strip().startswith(b"#")]
        script = b"".join(f"{i} ".encode() + line + b"\n" for i, line in enumerate(lines))
        process = subprocess.run([sys.executable, "-m", "gamepit", "gtp", "--agent", "random"],
                                 input=script + b"quit\n", capture_output=True, timeout=600)
        answers = [a for a in process.stdout.split(b"\n\n") if a.strip()]
        tally.cases += len(lines)
        if b"Traceback" in process.stderr:
            tally.bad("tracebacks", "gtp session", process.stderr.decode("utf-8", "replace"))
        if len(answers) != len(lines) + 1:  # + the answer to quit
            tally.bad("lies", "gtp session", f"{len(lines) + 1} commands, {len(answers)} "
                      "answers; stderr: " + process.stderr.decode("utf-8", "replace"))
        commands_answered = answers[:len(lines)]  # not the answer to quit
        tally.one_line += sum(a.startswith(b"?") for a in commands_answered)
        tally.accepted += sum(a.startswith(b"=") for a in commands_answered)
    return tally


# --------------------------------------------------------------------------- HTTP


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _http(port: int, raw: bytes, timeout: float = 10.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(raw)
        conn.shutdown(socket.SHUT_WR)
        chunks = []
        with contextlib.suppress(OSError):
            while chunk := conn.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)


def fuzz_http(budget: int) -> Tally:
    """The viewer, started for real on a loopback port, sent hostile requests: each must get
    an HTTP answer (200 or an error status with a body), and the server prints no traceback."""
    tally = Tally("HTTP")
    paths = st.one_of(
        st.sampled_from(["/", "/api/replays", "/api/replay?file=x.jsonl",
                         "/api/replay?file=../../etc/passwd", "/static/../../x", "/" + "a" * 5000,
                         "/api/replay?file=a.jsonl&max_moves=" + "9" * 30, "/%00", "/%ff%fe",
                         "/api/replay?file=%2e%2e%2fx", "//", "/?" + "&" * 3000]),
        st.text(max_size=40).map(lambda t: "/" + t.replace(" ", "%20").replace("\r", "")
                                 .replace("\n", "")))
    methods = st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "BREW", "", "GET GET"])
    headers = st.sampled_from([b"Host: 127.0.0.1:PORT\r\n", b"Host: evil.example\r\n", b"",
                               b"Content-Length: -1\r\n", b"Content-Length: 99999999999\r\n",
                               b"X: " + b"y" * 70000 + b"\r\n", b"\xff\xfe: \x00\r\n"])
    with timed(tally), tempfile.TemporaryDirectory() as folder:
        _record_replays(folder)
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "gamepit", "view", folder, "--port", str(port),
             "--no-browser"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            deadline = time.time() + 60
            while time.time() < deadline:
                with contextlib.suppress(OSError):
                    _http(port, b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                    break
                time.sleep(0.2)

            def case(args: tuple[str, str, bytes, bool]) -> None:
                method, path, header, version = args
                proto = b"HTTP/1.1" if version else b"HTTP/1.0"
                raw = (f"{method} ".encode() + path.encode("utf-8", "surrogatepass") + b" "
                       + proto + b"\r\n" + header.replace(b"PORT", str(port).encode())
                       + b"Connection: close\r\n\r\n")
                tally.cases += 1
                try:
                    answer = _http(port, raw)
                except OSError as error:
                    tally.bad("lies", raw[:80].decode("latin-1"), f"no answer: {error}")
                    return
                if answer.startswith(b"HTTP/1.") and answer[9:12] == b"200":
                    tally.accepted += 1
                elif answer.startswith(b"HTTP/1.") or b"Error code: 4" in answer:
                    tally.one_line += 1  # an error status (HTTP/0.9 requests get a bare page)
                else:
                    tally.bad("lies", raw[:80].decode("latin-1"),
                              f"no HTTP answer: {answer[:80]!r}")

            _run(st.tuples(methods, paths, headers, st.booleans()), case, budget)
            burst = [threading.Thread(target=lambda: case(("GET", "/api/replays", b"Host: "
                                                            b"127.0.0.1:PORT\r\n", True)))
                     for _ in range(min(budget, 200))]
            for thread in burst:
                thread.start()
            for thread in burst:
                thread.join()
        finally:
            server.terminate()
            _, err = server.communicate(timeout=30)
        if b"Traceback" in err:
            tally.bad("tracebacks", "viewer server", err.decode("utf-8", "replace"))
    return tally


# --------------------------------------------------------------------------- ledgers

HOSTILE_VALUES = ["not json", "[", "{}", "[]", "null", "1e999", "-1", "\"x\"", "[1, 2, 3]",
                  "[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]", "[" * 5000 + "]" * 5000,
                  '["nobody", "nobody"]', '[NaN, 1]', "[1e308, -1e308]", "", "\u0000",
                  '{"a": 1}', '["random", "alphabeta:depth=1", "x"]']
LEDGER_COLUMNS = ["pairing", "agents", "returns", "seed", "game_index", "steps", "seconds",
                  "forfeit_seat", "forfeit_reason", "replay_path", "finished", "tournament"]


def _ledger_damage(connection: Any, kind: int, where: int, value: str) -> None:
    """One damage to a ledger: a row's field, the tournament's settings, a trigger, a table of
    other columns, or rows removed."""
    if kind == 0:
        column = LEDGER_COLUMNS[where % len(LEDGER_COLUMNS)]
        rowid = 1 + where % 4
        connection.execute(f"UPDATE results SET {column} = ? WHERE rowid = ?", (value, rowid))
    elif kind == 1:
        connection.execute("UPDATE tournaments SET settings = ?, game = ?",
                           (value, value if where % 2 else "tictactoe"))
    elif kind == 2:
        connection.execute("CREATE TRIGGER t AFTER INSERT ON results BEGIN "
                           "DELETE FROM results; END")
    elif kind == 3:
        connection.execute("DROP TABLE results")
        connection.execute("CREATE TABLE results (id INTEGER, note TEXT)")
    else:
        connection.execute("DELETE FROM results WHERE rowid % 2 = ?", (where % 2,))


def fuzz_ledgers(budget: int) -> Tally:
    """A real ledger damaged one way each (a row's field set to a hostile value, the settings
    replaced, a trigger or a foreign table added, rows removed), then listed, read by the
    viewer's standings and resumed: each an answer or one line, never a traceback."""
    import shutil
    import sqlite3

    from gamepit.errors import GamepitError
    from gamepit.viewer import charts

    tally = Tally("ledgers")
    lineup = ["tictactoe", "random", "alphabeta:depth=1", "--games", "2"]
    with timed(tally), tempfile.TemporaryDirectory() as folder:
        original = Path(folder, "original.sqlite")
        judge(Tally("setup"), ["tournament", *lineup, "--ledger", str(original)])
        path = Path(folder, "damaged.sqlite")

        def case(args: tuple[int, int, str]) -> None:
            kind, where, value = args
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            shutil.copyfile(original, path)
            with contextlib.closing(sqlite3.connect(path)) as connection:
                _ledger_damage(connection, kind % 5, where, value)
                connection.commit()
            judge(tally, ["tournament", "--list", "--ledger", str(path)])
            tally.cases += 1
            try:
                charts.standings(path, "tictactoe")
                tally.accepted += 1
            except GamepitError as error:
                if "\n" in str(error):
                    tally.bad("many_lines", f"standings after damage {kind % 5}", str(error))
                else:
                    tally.one_line += 1
            except Exception:  # noqa: BLE001 - what the fuzzing is looking for
                tally.bad("tracebacks", f"standings after damage {kind % 5} {value[:40]!r}",
                          traceback.format_exc())
            judge(tally, ["tournament", *lineup, "--ledger", str(path)])

        _run(st.tuples(st.integers(0, 4), st.integers(0, 10**6),
                       st.sampled_from(HOSTILE_VALUES)), case, max(1, budget // 3))
    return tally


# --------------------------------------------------------------------------- archives


def _archive(path: Path, members: dict[str, Any], compress: bool, declare: int) -> None:
    """An npz as np.savez writes it, or compressed, or with one member's declared size in the
    zip's central directory raised by ``declare`` bytes (a lie about its size)."""
    import zipfile

    import numpy as np

    if compress:
        np.savez_compressed(path, **members)
    else:
        np.savez(path, **members)
    if declare:
        data = bytearray(path.read_bytes())
        with zipfile.ZipFile(path) as archive:
            info = archive.infolist()[0]
        at = data.rfind(b"PK\x01\x02")  # the last member's central directory record
        if at >= 0:
            size = int.from_bytes(data[at + 24:at + 28], "little")
            data[at + 24:at + 28] = ((size + declare) % 2**32).to_bytes(4, "little")
            path.write_bytes(bytes(data))
        del info


def fuzz_archives(budget: int) -> Tally:
    """Replay buffers (AlphaZero, MuZero) and dataset shards that lie: arrays of other lengths,
    shapes or types, members missing or added, compressed members (zip bombs), sizes declared
    larger than the file holds. Each must load whole and consistent, or be one line; a load
    that accepts arrays of different lengths is a lie."""
    import numpy as np

    from gamepit.errors import GamepitError
    from gamepit.learners.alphazero.learner import ReplayBuffer as AlphaZeroBuffer
    from gamepit.learners.imitation.learner import SHARD_FIELDS, Dataset

    tally = Tally("archives")
    with timed(tally), tempfile.TemporaryDirectory() as folder:
        def case(args: tuple[int, tuple[int, int, int], int, bool, int, int]) -> None:
            target, lengths, shape, compress, declare, drop = args
            a, b, c = lengths
            planes = (3, 6, 7) if shape == 0 else (2, 6, 7) if shape == 1 else (3, 7)
            if target == 0:
                members = {"observations": np.zeros((a, *planes), np.float32),
                           "policies": np.zeros((b, 7), np.float32),
                           "outcomes": np.zeros(c, np.float32), "cursor": np.int64(a)}
            else:
                members = {"observations": np.zeros((a, *planes), np.float32),
                           "masks": np.ones((a, 7), bool), "targets": np.zeros((b, 7)),
                           "actions": np.zeros(c, np.int64), "weights": np.ones(a, np.float32)}
            if drop:
                members.pop(list(members)[drop % len(members)])
            case_name = f"{'buffer' if target == 0 else 'shard'} {lengths} {planes} " \
                        f"compress={compress} declare={declare} drop={drop}"
            tally.cases += 1
            try:
                if target == 0:
                    path = Path(folder, "replay_buffer.npz")
                    _archive(path, members, compress, declare)
                    buffer = AlphaZeroBuffer(16, (3, 6, 7), 7, np.float32)
                    buffer.load(path)
                    consistent = a == b == c
                else:
                    shards = Path(folder, f"dataset{tally.cases}")
                    Dataset(shards).append({name: np.zeros((1, *(
                        (3, 6, 7) if name == "observations" else (7,) if name in (
                            "masks", "targets") else ())), np.float32) for name in SHARD_FIELDS})
                    _archive(shards / "shard_00001.npz", members, compress, declare)
                    loaded = Dataset(shards).load()
                    consistent = len({len(loaded[name]) for name in SHARD_FIELDS}) == 1 and \
                        loaded["observations"].shape[1:] == (3, 6, 7)
                if consistent:
                    tally.accepted += 1
                else:
                    tally.bad("lies", case_name, "loaded arrays that do not fit together")
            except GamepitError as error:
                if "\n" in str(error):
                    tally.bad("many_lines", case_name, str(error))
                else:
                    tally.one_line += 1
            except Exception:  # noqa: BLE001 - what the fuzzing is looking for
                tally.bad("tracebacks", case_name, traceback.format_exc())

        sizes = st.integers(0, 40)
        _run(st.tuples(st.integers(0, 1), st.tuples(sizes, sizes, sizes), st.integers(0, 2),
                       st.booleans(), st.sampled_from([0, 0, 1, 10**6, 10**9]),
                       st.integers(0, 6)), case, budget)
    return tally


CLASSES: dict[str, Callable[[int], Tally]] = {
    "specs": fuzz_specs, "command line": fuzz_command_line, "YAML": fuzz_yaml,
    "replays": fuzz_replays, "checkpoints": fuzz_checkpoints, "GTP": fuzz_gtp,
    "HTTP": fuzz_http, "ledgers": fuzz_ledgers, "archives": fuzz_archives,
}


def table(tallies: list[Tally]) -> str:
    head = ("| inputs | cases | accepted | one-line errors | tracebacks | many-line errors "
            "| lies | seconds |")
    rows = [head, "|" + "---|" * 8]
    for t in [*tallies, Tally("total", *[sum(getattr(t, f) for t in tallies) for f in
                                          ("cases", "accepted", "one_line", "tracebacks",
                                           "many_lines", "lies", "seconds")])]:
        rows.append(f"| {t.name} | {t.cases} | {t.accepted} | {t.one_line} | {t.tracebacks} "
                    f"| {t.many_lines} | {t.lies} | {t.seconds:.0f} |")
    return "\n".join(rows)

