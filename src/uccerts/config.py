"""Settings, loaded once at the entry point and passed down explicitly."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    home: Path
    db_url: str
    # Base64 master key from the environment; otherwise the home's master.key file.
    master_key_b64: str | None = None
    # Where the console may write CSR files for a manual CA (UCCERTS_EXPORT_DIR);
    # None: inside the home only.
    export_dir: Path | None = None

    @classmethod
    def load(cls, home: Path | str | None = None, db_url: str | None = None) -> Settings:
        home_path = Path(home or os.environ.get("UCCERTS_HOME") or Path.home() / ".uccerts")
        home_path = home_path.expanduser()
        url = db_url or os.environ.get("UCCERTS_DB") or f"sqlite:///{home_path / 'uccerts.db'}"
        export = os.environ.get("UCCERTS_EXPORT_DIR")
        return cls(home=home_path, db_url=url,
                   master_key_b64=os.environ.get("UCCERTS_MASTER_KEY") or None,
                   export_dir=Path(export).expanduser() if export else None)

    @property
    def needs_home(self) -> bool:
        """The home holds the master key or the database (unless both come from
        elsewhere: a PostgreSQL URL and UCCERTS_MASTER_KEY)."""
        return self.master_key_b64 is None or self.db_url.startswith("sqlite")

    @property
    def master_key_path(self) -> Path:
        return self.home / "master.key"

    @property
    def folder_root(self) -> Path:
        """The one folder under which the console writes files: the export folder, or
        the home."""
        return self.export_dir or self.home

    @property
    def ca_dir(self) -> Path:
        return self.home / "ca"
