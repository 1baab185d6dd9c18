"""Errors of ``catalog apply`` / ``export``: every problem names the path of the field in the file."""

from __future__ import annotations


class CatalogFileError(Exception):
    """The catalog file is not valid; ``errors`` lists ``(path, message)`` pairs such as
    ``("plans[0].prices[2].tiers[1].up_to", "must be greater than …")``. Nothing was written."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        super().__init__("\n".join(f"{path}: {message}" for path, message in errors))


def file_path(*parts: str | int) -> str:
    """``("plans", 0, "prices", 2, "tiers.1.up_to")`` → ``plans[0].prices[2].tiers[1].up_to``."""
    out = ""
    for part in parts:
        for piece in str(part).split("."):
            if piece.isdigit():
                out += f"[{piece}]"
            elif piece:
                out += f".{piece}" if out else piece
    return out
