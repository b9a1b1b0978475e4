"""The map projection of Himaya's SVG map of Morocco.

Pure Python and free of Django on purpose: the build script (``tools/geodata/build.py``, run
in its own virtual environment) loads this very file to project the province boundaries, and
the app uses it to place points (units, communes) on the same map. One definition, so a point
projected at run time lands where the boundaries were drawn at build time.

Projection: **equirectangular with a cos(lat0) horizontal scale** (a plate carrée whose
meridians are squeezed by the cosine of the map's middle latitude)::

    x = (lon - WEST) * cos(LAT0) * SCALE
    y = (NORTH - lat) * SCALE

with ``LAT0`` = 28.4° N, the middle of the country from Lagouira (20.8° N) to the Strait
(35.9° N). It is the simplest projection that keeps Morocco's shape recognisable: distances
east-west are exact along 28.4° N and off by at most about 8 % at the northern and southern
tips (cos 36° / cos 28.4° ≈ 0.92, cos 20.8° / cos 28.4° ≈ 1.06); north-south distances are
exact everywhere. That is plenty for a choropleth and for dots on a map, and it needs no
library. It is *not* for measuring: use great-circle distances on latitude/longitude for that.

The view box covers the whole country including the southern provinces, with a small margin:
latitude 20.6°–36.2° N, longitude 17.3°–0.9° W.
"""

from __future__ import annotations

import math

#: Geographic frame of the map (degrees). A margin around the country's extent
#: (lat 20.90–36.11, lon -17.10 – -1.02 in the boundary data).
NORTH = 36.2
SOUTH = 20.6
WEST = -17.3
EAST = -0.9

#: Standard parallel: meridians are scaled by cos(LAT0) so shapes near it are true.
LAT0 = 28.4
#: Map units (SVG user units) per degree of latitude.
SCALE = 64.0

_KX = math.cos(math.radians(LAT0)) * SCALE

#: Width and height of the map in SVG user units, rounded up to whole units.
WIDTH = math.ceil((EAST - WEST) * _KX)
HEIGHT = math.ceil((NORTH - SOUTH) * SCALE)
#: The ``viewBox`` attribute for an ``<svg>`` element holding the map.
VIEW_BOX = f"0 0 {WIDTH} {HEIGHT}"


def project(lat: float, lon: float) -> tuple[float, float]:
    """Map coordinates ``(x, y)`` of a point given in degrees (y grows southwards, as in SVG)."""
    return ((lon - WEST) * _KX, (NORTH - lat) * SCALE)


def unproject(x: float, y: float) -> tuple[float, float]:
    """The inverse of :func:`project`: ``(lat, lon)`` in degrees of a map point."""
    return (NORTH - y / SCALE, WEST + x / _KX)


def in_view_box(x: float, y: float) -> bool:
    """Whether a projected point falls inside the map's view box."""
    return 0.0 <= x <= WIDTH and 0.0 <= y <= HEIGHT
