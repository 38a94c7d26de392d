"""Sales content's models: the library and tracked sharing (library), ratings and
requests (feedback)."""

from .feedback import *  # noqa: F403
from .library import (
    Asset,
    AssetFile,
    AssetKind,
    AssetStage,
    AssetVersion,
    LinkOpen,
    SharedLink,
    TouchAsset,
)

__all__ = [
    "Asset",
    "AssetFile",
    "AssetKind",
    "AssetStage",
    "AssetVersion",
    "LinkOpen",
    "SharedLink",
    "TouchAsset",
]
