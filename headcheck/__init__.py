"""headcheck: find the tells of fake, composited and reused profile headshots."""

__version__ = "0.1.0"
