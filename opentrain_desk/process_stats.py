"""This process's peak memory, for the bulk export's report and the benchmarks.

No Qt, no third-party imports: start-up's ``--benchmark-startup`` probe reads it too.
"""
from __future__ import annotations

import sys
from pathlib import Path


def peak_rss(children: bool = False) -> int:
    """Peak resident set size in bytes of this process (or of its largest finished child
    process), 0 where unknown (Windows). On Linux this process's own is ``VmHWM``:
    ``ru_maxrss`` survives ``exec``, so a child started from a big parent would report the
    parent's."""
    if not children:
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            pass
    try:
        import resource
    except ImportError:  # Windows
        return 0
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    peak = resource.getrusage(who).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024
