"""`kplate train`: CUT and FastCUT training at plate shape."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Not available yet: this command lands with its own issue."""
