"""The kernel's size, file by file: physical lines (what ``wc -l`` counts) and lines of code
(neither blank, nor comment only, nor part of a docstring), with the total against the kernel's
budget of 2,000 (ARCHITECTURE.md). The kernel is every module of ``gamepit/`` outside the
plugin folders. Where ``cloc`` is installed (Debian's ``apt-get install cloc``) its count of
the same files is printed beside ours, as the named peer: it also counts docstrings as
comments, so its code lines should agree with ours.

    python benchmarks/kernel_size.py
"""

from __future__ import annotations

import ast
import io
import shutil
import subprocess
import tokenize
from pathlib import Path

PLUGIN_FOLDERS = ("games", "agents", "search", "learners", "nets", "viewer", "tournament",
                  "training", "bench", "matches", "replay_commands", "backends",
                  "authoring")
AIM = 2000


def kernel_files(package: Path) -> list[Path]:
    return sorted(path for path in package.rglob("*.py")
                  if path.relative_to(package).parts[0] not in PLUGIN_FOLDERS)


def docstring_lines(tree: ast.AST) -> set[int]:
    """Lines of string literals standing alone as statements (docstrings, attribute notes)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)):
            lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return lines


def code_lines(source: str) -> int:
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENDMARKER}
    lines: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in skip:
            lines.update(range(token.start[0], token.end[0] + 1))
    return len(lines - docstring_lines(ast.parse(source)))


def main() -> None:
    package = Path(__file__).resolve().parent.parent / "gamepit"
    rows = []
    for path in kernel_files(package):
        source = path.read_text()
        rows.append((str(path.relative_to(package.parent)), len(source.splitlines()),
                     code_lines(source)))
    print("| file | lines | code lines |\n|---|---:|---:|")
    for name, lines, code in sorted(rows, key=lambda row: -row[1]):
        print(f"| {name} | {lines} | {code} |")
    total, code = sum(row[1] for row in rows), sum(row[2] for row in rows)
    print(f"| **total ({len(rows)} files)** | **{total:,}** | **{code:,}** |")
    print(f"\naim: under {AIM:,} (the kernel's budget); lines {total / AIM:.2f}x the aim, "
          f"code lines {code / AIM:.2f}x")
    peer = cloc_code_lines([package.parent / row[0] for row in rows])
    print("cloc: not installed" if peer is None else
          f"cloc (peer) on the same {len(rows)} files: {peer:,} code lines "
          f"({peer / max(code, 1):.2f}x ours)")


def cloc_code_lines(files: list[Path]) -> int | None:
    """The code lines ``cloc`` counts in ``files``, or None without cloc."""
    if shutil.which("cloc") is None:
        return None
    out = subprocess.run(["cloc", "--quiet", "--csv", *map(str, files)], capture_output=True,
                         text=True, check=True).stdout
    total = [line.split(",") for line in out.splitlines() if ",SUM," in line]
    return int(total[0][4]) if total else None  # files,language,blank,comment,code


if __name__ == "__main__":
    main()
