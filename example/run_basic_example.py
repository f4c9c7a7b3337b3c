"""The basic example: direct endpoints (templates only). Run: python example/run_basic_example.py"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _runner import call, serve, show

HERE = Path(__file__).resolve().parent / "basic"


def main() -> dict[str, object]:
    results: dict[str, object] = {}
    with serve(HERE / "config") as base:
        api = f"{base}/orchestrator/basic"
        for title, (status, body) in {
            "hello": call(f"{api}/hello/orkestra"),
            "echo": call(
                f"{api}/echo",
                {"items": [{"price": 9.5, "qty": 2}, {"price": 3, "qty": 1}], "coupon": "HALF"},
            ),
            "echo (invalid body)": call(f"{api}/echo", {"items": "not a list"}),
            "status": call(f"{api}/status"),
        }.items():
            show(title, status, body)
            results[title] = {"status": status, "body": body}
    return results


if __name__ == "__main__":
    main()
