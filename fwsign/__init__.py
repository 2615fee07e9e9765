"""fwsign: sign, distribute and verify firmware updates with IETF SUIT manifests."""

import os as _os

__version__ = "0.1.0"

if _os.environ.get("FWSIGN_PURE"):
    # Import every fwsign module from its Python source even where a compiled build
    # (scripts/compile.py) sits next to it: the reference implementation, for tests
    # and for comparing the two.
    from ._pure import prefer_sources

    prefer_sources()


def compiled() -> bool:
    """Whether the verification path runs as compiled code (see scripts/compile.py)."""
    from . import verify

    return not (verify.__file__ or "").endswith(".py")
