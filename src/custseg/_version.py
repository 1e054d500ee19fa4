"""The package version: a leaf any module may import (never the package root)."""

__version__ = "0.1.0"
