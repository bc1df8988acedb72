"""Replay exports that are pictures: one self-contained HTML page, or a video (mp4, gif).

- ``html``: the viewer's own page (``static/``) with its CSS and script inlined and the replay
  embedded as JSON, so the file opens from disk, offline, with the same controls and agent
  info as ``gamepit view``. Pixel games (Atari) embed their screens as PNG data URIs; a long
  replay would make a huge file, so at most ``MAX_EMBEDDED_FRAMES`` screens are kept, evenly
  spaced (one every k steps, the page says so), while moves and agent info stay complete.
- ``mp4`` (OpenCV ``VideoWriter``): every screen of a pixel game, shown at twice its size;
  board games one position per half second. Frames are streamed, so any length works. H.264
  (fourcc ``avc1``, then ``H264``) where the installed OpenCV can encode it; else MPEG-4 Part 2
  (``mp4v``), which Chromium does not play, and one line on stderr says so. The pip wheels of
  opencv-python carry no H.264 encoder (x264 is GPL), so there it is mp4v.
- ``gif`` (OpenCV ``imwriteanimation``): the encoder needs every frame in memory, so at most
  ``MAX_GIF_FRAMES`` are kept, evenly spaced, each shown as long as the steps it stands for.

Files are written beside their final name and renamed when complete.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from gamepit.errors import GamepitError
from gamepit.files import atomic_write
from gamepit.replay import Replay
from gamepit.viewer.render import render_board
from gamepit.viewer.session import ReplaySession

STATIC = Path(__file__).resolve().parent / "static"
MAX_EMBEDDED_FRAMES = 2000
MAX_GIF_FRAMES = 1500
SCREEN_FPS = 30.0  # pixel games: steps per second of video
BOARD_FPS = 2.0  # board games: positions per second of video
_STYLE_TAG = '<link rel="stylesheet" href="/static/viewer.css">'
# The page's scripts, and whether an export keeps them (playing needs the server).
_SCRIPTS = {"plots.js": True, "play.js": False, "viewer.js": True}


def _script_tag(name: str) -> str:
    return f'<script src="/static/{name}"></script>'


def export_replay(replay: Replay, registry: Any, fmt: str, output_path: str | Path) -> None:
    """Write ``replay`` to ``output_path`` as ``fmt`` (html, mp4 or gif)."""
    output = Path(output_path)
    session = ReplaySession(replay, registry)
    if fmt == "html":
        _atomic_write(output, lambda partial: partial.write_text(html_page(session),
                                                                   encoding="utf-8"))
    elif fmt in ("mp4", "gif"):
        if not (session.has_frames or session.has_board):
            raise GamepitError(f"replay export: {session.game.name} has neither screens nor a "
                               "board_view() to draw; try --format html")
        if fmt == "mp4":
            _atomic_write(output, lambda partial: _write_mp4(session, partial, str(output)))
        else:
            _atomic_write(output, lambda partial: _write_gif(session, partial))
    else:
        raise GamepitError(f"replay export: unknown picture format {fmt!r} "
                           "(expected html, mp4 or gif)")
    if session.problem:
        raise GamepitError(f"replay export: {session.problem}")


def _atomic_write(output: Path, write: Any) -> None:
    if output.parent and not output.parent.is_dir():
        raise GamepitError(f"replay export: {output.parent}: no such folder")
    with atomic_write(output) as partial:
        write(partial)


# --------------------------------------------------------------------------- html


def html_page(session: ReplaySession) -> str:
    """The viewer page for one replay, with nothing to fetch."""
    data = session.describe(frame_url=None)
    data["path"] = Path(session.replay.path).name
    if session.has_frames:
        every = max(1, math.ceil((session.num_steps + 1) / MAX_EMBEDDED_FRAMES))
        images = ["data:image/png;base64," + base64.b64encode(session.frame_png(k)).decode()
                  for k in range(0, session.num_steps + 1, every)]
        data["frames"] = {"every": every, "images": images}
        if every > 1:
            data["frame_note"] = (f"This export keeps one screen every {every} steps (at most "
                                  f"{MAX_EMBEDDED_FRAMES}); moves and agent info are complete. "
                                  "`gamepit view` shows every screen.")
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    style = (STATIC / "viewer.css").read_text(encoding="utf-8")
    if _STYLE_TAG not in page or any(_script_tag(name) not in page for name in _SCRIPTS):
        raise GamepitError("replay export: the viewer's index.html lost its style or script tag")
    # "</" inside a script would end it early; JSON allows the escaped form "<\/".
    payload = json.dumps(data, separators=(",", ":"), default=str).replace("</", "<\\/")
    page = page.replace(_STYLE_TAG, f"<style>\n{style}</style>")
    for name, keep in _SCRIPTS.items():
        script = (STATIC / name).read_text(encoding="utf-8").replace("</", "<\\/")
        inline = f"<script>\n{script}</script>" if keep else ""
        if name == "viewer.js":
            inline = f"<script>window.GAMEPIT_EMBEDDED = {payload};</script>\n" + inline
        page = page.replace(_script_tag(name), inline)
    return page


# --------------------------------------------------------------------------- video


def pictures(session: ReplaySession, every: int = 1) -> Iterator[np.ndarray]:
    """RGB pictures of every ``every``-th position: screens for pixel games, else boards."""
    if session.has_frames:
        for step in range(0, session.num_steps + 1, every):
            yield session.frame(step)
        return
    boards = session.boards()
    for step in range(0, len(boards), every):
        yield render_board(boards[step], boards[step - 1] if step else None)


def _fps(session: ReplaySession) -> float:
    return SCREEN_FPS if session.has_frames else BOARD_FPS


H264_FOURCCS = ("avc1", "H264")  # the same codec; OpenCV builds differ in which tag they take
MP4V_NOTE = ("this OpenCV ({version}) has no H.264 encoder, so {name} is MPEG-4 Part 2 (mp4v): "
             "Firefox, VLC and mpv play it, Chromium does not (convert it with "
             "`ffmpeg -i {name} -c:v libx264 -pix_fmt yuv420p OUT.mp4`, or export a gif)")


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2 for a moment: OpenCV's FFmpeg prints several lines of its own
    for each encoder it fails to open, and a failed H.264 probe is expected, not news."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def open_video(path: Path, fps: float, size: tuple[int, int]) -> tuple[Any, str]:
    """An opened ``cv2.VideoWriter`` for an mp4 at ``path`` and the codec it writes, 'h264'
    or 'mp4v' (saying so on stderr). ``size`` is (width, height), both even."""
    import cv2

    with _quiet_stderr():
        for fourcc in H264_FOURCCS:
            writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size)
            if writer.isOpened():
                return writer, "h264"
            writer.release()
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    if not writer.isOpened():
        raise GamepitError("replay export: OpenCV cannot write mp4 here (its FFmpeg "
                           "backend is missing); try --format gif")
    return writer, "mp4v"


def _write_mp4(session: ReplaySession, path: Path, name: str) -> None:
    import cv2

    writer = None
    try:
        for picture in pictures(session):
            if session.has_frames:  # Atari screens are small: double them, keep the pixels
                picture = cv2.resize(picture, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
            height, width = picture.shape[:2]
            if writer is None:
                writer, codec = open_video(path, _fps(session),
                                           (width - width % 2, height - height % 2))
                if codec == "mp4v":
                    print("gamepit: note: " + MP4V_NOTE.format(version=cv2.__version__,
                                                              name=name),
                          file=sys.stderr, flush=True)
            writer.write(np.ascontiguousarray(picture[:height - height % 2,
                                                      :width - width % 2, ::-1]))
    finally:
        if writer is not None:
            writer.release()


def _write_gif(session: ReplaySession, path: Path) -> None:
    import cv2

    if not hasattr(cv2, "imwriteanimation"):
        raise GamepitError(f"replay export: gif needs OpenCV 4.11 or newer (this is "
                           f"{cv2.__version__}); try --format mp4")
    positions = session.num_steps + 1
    every = max(1, math.ceil(positions / MAX_GIF_FRAMES))
    animation = cv2.Animation()
    frames = [np.ascontiguousarray(picture[..., ::-1]) for picture in pictures(session, every)]
    animation.frames = frames
    animation.durations = [max(20, round(1000 * every / _fps(session)))] * len(frames)
    animation.loop_count = 0
    if not cv2.imwriteanimation(str(path), animation):
        raise GamepitError("replay export: OpenCV could not write the gif")
