"""Pure-Python GGUF v3 writer/reader (numpy only) for moevk tools and tests."""
from .gguf_writer import GGUFWriter  # noqa: F401
