"""`kplate preview`: a contact sheet of one plate under many augmentations."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Not available yet: this command lands with its own issue."""
