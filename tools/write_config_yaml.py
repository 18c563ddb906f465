"""Write ``config.yaml`` from the settings' own descriptions (``instrument.config.config_yaml``).

    .venv/bin/python tools/write_config_yaml.py           # rewrite config.yaml
    .venv/bin/python tools/write_config_yaml.py --check   # exit 1 if config.yaml differs

A test checks that ``config.yaml`` equals this output.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from instrument.config import config_yaml  # noqa: E402

TARGET = REPO / "config.yaml"


def main() -> int:
    text = config_yaml()
    if "--check" in sys.argv[1:]:
        same = TARGET.read_text(encoding="utf-8") == text
        print("config.yaml is up to date" if same else "config.yaml differs: run tools/write_config_yaml.py")
        return 0 if same else 1
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
