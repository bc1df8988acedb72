"""A GTP and UCI engine that misbehaves on purpose, for the engine fault tests: it
plays safe moves until its fault strikes at the move named by ``--at``.

    python tests/engines/faulty.py gtp|uci FAULT [--at N] [--tag TEXT]

Until then it passes (GTP) or dances a knight (UCI). FAULT: none, crash (exits),
killed (SIGKILL), hang (stops answering), garbage (answers nonsense), illegal (plays an occupied
point, or a chess move that is not legal), spawn (starts a child that sleeps, to show the whole
process group is ended), silent (never answers the handshake). ``--tag`` only marks the command
line, so a test can find what is left running.
"""

import os
import signal
import subprocess
import sys
import time


def main() -> None:
    protocol, fault = sys.argv[1], sys.argv[2]
    at = int(sys.argv[sys.argv.index("--at") + 1]) if "--at" in sys.argv else 1
    if fault == "silent":
        time.sleep(3600)
    if fault == "spawn":
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)", "faulty-child"]
                         + sys.argv[3:])
    moves = 0
    board: set[str] = set()
    for raw in sys.stdin:
        words = raw.split()
        if not words:
            continue
        if protocol == "uci":
            uci(words, fault, at)
            continue
        ident, command, args = (words[0], words[1], words[2:]) if words[0].isdigit() else (
            "", words[0], words[1:])
        answer = ""
        if command == "protocol_version":
            answer = "2"
        elif command == "clear_board":
            board.clear()
        elif command == "play":
            board.add(args[1].upper())
        elif command == "genmove":
            moves += 1
            if moves >= at and fault != "none":
                strike(fault, board)
                if fault == "garbage":
                    print(f"={ident} banana\n", flush=True)
                    continue
                if fault == "illegal" and board:
                    print(f"={ident} {sorted(board)[0]}\n", flush=True)
                    continue
            answer = "pass"  # always legal
        elif command == "quit":
            print(f"={ident}\n", flush=True)
            return
        print(f"={ident} {answer}\n", flush=True)


def strike(fault: str, board: set[str]) -> None:
    if fault == "crash":
        os._exit(3)
    if fault == "killed":  # as if killed from outside
        os.kill(os.getpid(), signal.SIGKILL)
    if fault == "hang":
        time.sleep(3600)


def uci(words: list[str], fault: str, at: int) -> None:
    global MOVES
    if words[0] == "uci":
        print("id name faulty\nuciok", flush=True)
    elif words[0] == "isready":
        print("readyok", flush=True)
    elif words[0] == "position":
        POSITION[:] = words
    elif words[0] == "go":
        MOVES += 1
        if MOVES >= at and fault != "none":
            strike(fault, set())
            if fault == "garbage":
                print("banana", flush=True)
                return
            if fault == "illegal":
                print("bestmove e2e5", flush=True)
                return
        played = POSITION[3:] if len(POSITION) > 3 else []
        # the knights' dance: legal from the start whatever the other side plays nearby
        white = ["g1f3", "f3g1"]
        black = ["g8f6", "f6g8"]
        side = white if len(played) % 2 == 0 else black
        print(f"bestmove {side[(len(played) // 2) % 2]}", flush=True)


MOVES = 0
POSITION: list[str] = []

if __name__ == "__main__":
    main()
