"""The gateway: the one place that imports Kitaru and ZenML (private APIs included)."""
