"""Screenshot a report.html in headless Chromium.

python -m evals.screenshot REPORT.html OUT.png
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path


def screenshot(html: str | Path, png: str | Path, width: int = 1280, height: int = 2400) -> Path:
    """Render `html` with headless Chromium into `png`; without it, raise naming the install."""
    browser = (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or shutil.which("google-chrome")
    )
    if browser is None:
        raise FileNotFoundError(
            "no Chromium found; install it (Debian: apt-get install -y chromium)"
        )
    png = Path(png).resolve()
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--window-size={width},{height}",
            f"--screenshot={png}",
            Path(html).resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    if not png.is_file():
        raise RuntimeError(f"Chromium produced no screenshot at {png}")
    return png


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m evals.screenshot REPORT.html OUT.png")
    print(screenshot(sys.argv[1], sys.argv[2]))
