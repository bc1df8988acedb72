"""The hook markers, in a module of their own so that any module (the hook specifications
included) can import them without importing the manager."""

import pluggy

hookimpl = pluggy.HookimplMarker("gamepit")
hookspec = pluggy.HookspecMarker("gamepit")
