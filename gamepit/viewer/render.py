"""Board pictures for the video exports: a ``board_view()`` drawn with OpenCV.

The page draws boards on a canvas (``static/viewer.js``); videos cannot run JavaScript, so this
module draws the same styles (grid, discs, go, othello, chess) in the same colours, simpler:
chess pieces are letters, since OpenCV's fonts have no chess glyphs. Images are RGB.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# RGB colours shared in spirit with viewer.js
_BACKGROUND = {"grid": (255, 255, 255), "discs": (29, 78, 216), "go": (220, 179, 92),
               "othello": (47, 125, 58), "chess": (240, 217, 181)}
_LINE = {"grid": (29, 35, 48), "go": (59, 47, 30), "othello": (22, 64, 29)}
_PIECE = {"X": (220, 38, 38), "O": (250, 204, 21), "B": (17, 17, 17), "W": (245, 245, 245)}
_MARK = {"X": (185, 28, 28), "O": (29, 78, 216)}
_DARK_SQUARE = (181, 136, 99)
_EMPTY_HOLE = (248, 250, 252)
_CHANGED = (234, 88, 12)


def render_board(board: dict[str, Any], before: dict[str, Any] | None = None,
                 cell: int = 48) -> np.ndarray:
    """An RGB picture of one position; cells that differ from ``before`` are outlined."""
    import cv2

    rows, cols, style = int(board["rows"]), int(board["cols"]), board.get("style", "grid")
    image = np.empty((rows * cell, cols * cell, 3), dtype=np.uint8)
    image[:] = _BACKGROUND.get(style, _BACKGROUND["grid"])
    line = _LINE.get(style)
    if style == "chess":
        for r in range(rows):
            for c in range(cols):
                if (r + c) % 2:
                    image[r * cell:(r + 1) * cell, c * cell:(c + 1) * cell] = _DARK_SQUARE
    elif style == "go":
        half = cell // 2
        for i in range(rows):
            cv2.line(image, (half, i * cell + half), ((cols - 1) * cell + half, i * cell + half),
                     line, 1)
        for i in range(cols):
            cv2.line(image, (i * cell + half, half), (i * cell + half, (rows - 1) * cell + half),
                     line, 1)
    elif line is not None:
        for i in range(1, rows):
            cv2.line(image, (0, i * cell), (cols * cell, i * cell), line, 2)
        for i in range(1, cols):
            cv2.line(image, (i * cell, 0), (i * cell, rows * cell), line, 2)
    for index, piece in enumerate(board["cells"]):
        row, col = divmod(index, cols)
        center = (col * cell + cell // 2, row * cell + cell // 2)
        if style == "discs":
            cv2.circle(image, center, int(cell * 0.4), _PIECE.get(piece, _EMPTY_HOLE), -1,
                       cv2.LINE_AA)
        elif piece in ("B", "W") and style in ("go", "othello"):
            radius = int(cell * (0.47 if style == "go" else 0.4))
            cv2.circle(image, center, radius, _PIECE[piece], -1, cv2.LINE_AA)
            cv2.circle(image, center, radius, (51, 51, 51), 1, cv2.LINE_AA)
        elif piece:
            _letter(image, piece, center, cell, _MARK.get(piece, (17, 17, 17)))
        if before is not None and before["cells"][index] != piece:
            cv2.rectangle(image, (col * cell + 2, row * cell + 2),
                          ((col + 1) * cell - 3, (row + 1) * cell - 3), _CHANGED, 2)
    return image


def _letter(image: np.ndarray, text: str, center: tuple[int, int], cell: int,
            colour: tuple[int, int, int]) -> None:
    import cv2

    scale = cell / 40
    (width, height), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
    origin = (center[0] - width // 2, center[1] + height // 2)
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 2, cv2.LINE_AA)
