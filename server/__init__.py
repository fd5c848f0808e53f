"""The lookup HTTP API over a headcheck store (``headcheck serve``); see docs/server.md."""
