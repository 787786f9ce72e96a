"""Daily digest: content (``content``) and the 30-day chart against equal weight (``chart``)."""
