"""A module that fails on import, to show how a bad target is reported."""

raise RuntimeError("this module refuses to be imported")
