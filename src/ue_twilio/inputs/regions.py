"""Which host serves a Twilio Region through which Edge Location.

Twilio retired the region-only hosts (``api.ie1.twilio.com``) and its Python
library no longer maps a region to an edge, so the table is ours: a request
for Region ``ie1`` with no edge goes to ``api.dublin.ie1.twilio.com``. Sources:
Twilio docs "Edge Locations", "Legacy Edge Location IDs" and the CLI's
"Regional" page (valid region/edge pairs).
"""

from __future__ import annotations

from typing import Optional

DEFAULT_REGION = "us1"

# Processing regions and the edge Twilio pairs with each (us1: none, the
# global api.twilio.com).
REGION_EDGES = {
    "us1": None,
    "ie1": "dublin",
    "au1": "sydney",
    "jp1": "tokyo",
}
REGION_LABELS = {
    "us1": "United States (US1)",
    "ie1": "Ireland (IE1)",
    "au1": "Australia (AU1)",
    "jp1": "Japan (JP1)",
}

# Public Edge Locations (any edge may be combined with any region).
EDGE_LABELS = {
    "ashburn": "Ashburn, US East (ashburn)",
    "dublin": "Dublin, Ireland (dublin)",
    "frankfurt": "Frankfurt, Germany (frankfurt)",
    "roaming": "Global Low Latency (roaming)",
    "sao-paulo": "Sao Paulo, Brazil (sao-paulo)",
    "singapore": "Singapore (singapore)",
    "sydney": "Sydney, Australia (sydney)",
    "tokyo": "Tokyo, Japan (tokyo)",
    "umatilla": "Umatilla, US West (umatilla)",
}

API = "api"
MESSAGING = "messaging"
PRICING = "pricing"
STUDIO = "studio"


def effective_edge(region: Optional[str], edge: Optional[str]) -> Optional[str]:
    """The edge to use: the one chosen, else the region's own (None for us1)."""
    if edge:
        return edge
    return REGION_EDGES.get(region or DEFAULT_REGION)


def base_url(
    product: str, region: Optional[str] = None, edge: Optional[str] = None
) -> str:
    """``https://{product}.{edge}.{region}.twilio.com``; plain for us1 without edge.

    ``product`` is ``api`` (the 2010-04-01 API), ``messaging``, ``pricing`` or
    ``studio``.
    """
    region = region or DEFAULT_REGION
    edge = effective_edge(region, edge)
    if edge is None:
        return "https://{}.twilio.com".format(product)
    return "https://{}.{}.{}.twilio.com".format(product, edge, region)


def credentials_hint(region: Optional[str]) -> str:
    """Added to a 401 outside us1: credentials and API keys exist in one region."""
    if not region or region == DEFAULT_REGION:
        return ""
    return (
        " Twilio credentials and API keys belong to one region: check that they "
        "were created in Region {}.".format(region)
    )
