"""Server settings: command-line options, else ``HEADCHECK_*`` environment variables, else defaults.

Secrets (API keys) come from the environment or the caller, never from code. Lists are given in
the environment as values separated by commas or new lines, e.g. ``HEADCHECK_API_KEYS=key1,key2``
or ``HEADCHECK_API_KEYS="$(cat keys.txt)"`` with one key a line.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from headcheck.netguard import parse_networks

MiB = 1024 * 1024
# Browser-extension origins only: the API is not meant to be called from arbitrary web pages.
EXTENSION_ORIGIN = re.compile(
    r"^(chrome-extension|moz-extension|safari-web-extension)://[A-Za-z0-9._-]+$")
MIN_KEY_LENGTH = 16

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _split(value: object) -> object:
    """Text separated by commas or new lines (as environment variables and ``$(cat file)``
    give it) to a list; no value holds a comma or white space."""
    if isinstance(value, str):
        return [v for v in re.split(r"[,\s]+", value) if v]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HEADCHECK_", extra="forbid")

    db: Path
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)

    # Security
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list, description="Bearer keys; required to bind beyond loopback.")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Browser-extension origins allowed by CORS.")
    max_request_bytes: int = Field(12 * MiB, gt=0)
    max_inflight_bytes: int = Field(
        48 * MiB, gt=0, description="Request bodies held at once, all requests together; "
                                    "past it uploads get 503 and Retry-After.")
    rate_per_minute: float = Field(120.0, gt=0, description="Sustained requests per key.")
    rate_burst: int = Field(30, ge=1, description="Requests a key may make at once.")

    # Lookups
    dispute_after: int = Field(
        1, ge=1, description="Distinct keys that must mark a verdict wrong before lookups show "
        "it as disputed (1 suits a single-user install).")
    record_lookups: bool = Field(
        False, description="Store lookups that name a page as sightings (off: privacy).")
    cache_entries: int = Field(256, ge=0)
    cache_seconds: float = Field(300.0, ge=0, description="Longest a cached verdict is reused.")
    max_pending: int = Field(32, ge=1, description="Lookups in progress before 503.")
    lookup_workers: int | None = Field(
        None, ge=0, description="Processes that analyse uploaded photos (default: one per CPU; "
                                "0: the engine thread analyses, one lookup at a time).")
    refresh_seconds: float = Field(2.0, gt=0, description="How often new photos are indexed.")
    access_log: bool = Field(False, description="Log every request (URLs hold page addresses).")

    # Fetching images for /v1/lookup-url
    fetch_timeout_seconds: float = Field(10.0, gt=0)
    fetch_max_bytes: int = Field(10 * MiB, gt=0)
    fetch_max_redirects: int = Field(3, ge=0)
    fetch_allow_networks: Annotated[list[Network], NoDecode] = Field(
        default_factory=list,
        description="Non-public networks the server may fetch from anyway (e.g. a test server).")
    fetch_user_agent: str = "headcheck-lookup/0.1"

    _split_lists = field_validator("api_keys", "cors_origins", "fetch_allow_networks",
                                   mode="before")(_split)

    @field_validator("api_keys")
    @classmethod
    def _strong_keys(cls, keys: list[SecretStr]) -> list[SecretStr]:
        if any(len(k.get_secret_value()) < MIN_KEY_LENGTH for k in keys):
            raise ValueError(f"every API key needs at least {MIN_KEY_LENGTH} characters")
        return keys

    @field_validator("fetch_allow_networks")
    @classmethod
    def _warn_allow_all(cls, nets: list[Network]) -> list[Network]:
        return parse_networks(nets, "HEADCHECK_FETCH_ALLOW_NETWORKS")

    @field_validator("cors_origins")
    @classmethod
    def _extension_origins(cls, origins: list[str]) -> list[str]:
        bad = [o for o in origins if not EXTENSION_ORIGIN.match(o)]
        if bad:
            raise ValueError(f"CORS allows browser-extension origins only, not {bad}")
        return origins

    def workers(self) -> int:
        """Analysis processes to start (``lookup_workers``, else one per CPU)."""
        from headcheck.workers import default_workers  # imports the analyser: only when serving

        return default_workers() if self.lookup_workers is None else self.lookup_workers

    @model_validator(mode="after")
    def _keys_beyond_loopback(self) -> Settings:
        if not is_loopback_host(self.host) and not self.api_keys:
            raise ValueError(f"binding to {self.host} (beyond loopback) requires API keys: "
                             "set HEADCHECK_API_KEYS")
        return self

    def key_values(self) -> list[str]:
        return [k.get_secret_value() for k in self.api_keys]
