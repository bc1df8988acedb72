"""The replay viewer: watching recorded games.

- ``plugin.py``: adds ``gamepit view [DIR]`` through ``gamepit_add_commands``.
- ``server.py``: the local web server (standard library only) and its JSON API.
- ``static/``: the page (plain HTML, CSS and JavaScript; no build step).
- ``session.py``: one replay re-simulated for watching (boards, screens, snapshots).
- ``catalog.py``: the replay list with filters, and the path check that keeps the server in
  its folder.
- ``export.py`` and ``render.py``: ``gamepit replay export --format html|mp4|gif``.

Nothing here is imported by the kernel; OpenCV is imported only where pictures are made.
"""
