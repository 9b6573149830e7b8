"""`worldsim play`'s local web page: frames streamed as MJPEG, keys sent back, live fps and latency.

A `Player` thread steps the session with the held action whenever fewer than one step of frames
waits to be shown, so generation never runs ahead of the display (that would add latency). The
page shows the frames at the env's fps and polls `/stats`.
"""

from __future__ import annotations

import io
import threading
import time
from collections import deque

import numpy as np
from flask import Flask, Response, jsonify, request

from worldsim.interactive import Session

PAGE = """<!doctype html><title>worldsim play</title>
<body style="background:#111;color:#ddd;font-family:monospace;text-align:center">
<img src="/stream" style="width:512px;image-rendering:pixelated"><p id="stats">starting...</p>
<p>{legend}</p>
<script>
const keys = new Set({keys});
function send(key, down) {{
  if (!keys.has(key)) return false;
  fetch("/key", {{method: "POST", headers: {{"Content-Type": "application/json"}},
                 body: JSON.stringify({{key: key, down: down}})}});
  return true;
}}
document.onkeydown = e => {{ if (!e.repeat && send(e.key, true)) e.preventDefault(); }};
document.onkeyup = e => {{ send(e.key, false); }};
setInterval(async () => {{
  const s = await (await fetch("/stats")).json();
  document.getElementById("stats").textContent =
    `${{s.fps.toFixed(1)}} video fps, ${{s.latency_ms.toFixed(0)}} ms action to frames, ` +
    `action: ${{s.action}}`;
}}, 500);
</script>"""


def jpeg(frame: np.ndarray) -> bytes:
    """(H, W, 3) uint8 -> JPEG bytes."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


class Player(threading.Thread):
    """Steps `session` with the held action, keeping at most one step of frames queued."""

    def __init__(self, session: Session, table: dict[str, np.ndarray], noop: str):
        super().__init__(daemon=True)
        self.session, self.table, self.noop = session, table, noop
        self.held = noop  # action name while its key is down
        self.frames: deque[np.ndarray] = deque()
        self.ready = threading.Condition()
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            with self.ready:
                self.ready.wait_for(lambda: len(self.frames) < self.session.tf, timeout=0.5)
                if len(self.frames) >= self.session.tf:
                    continue
            frames = self.session.step(self.table[self.held])
            with self.ready:
                self.frames.extend(frames)
                self.ready.notify_all()

    def next_frame(self) -> np.ndarray | None:
        """The oldest frame not shown yet (None if none is ready within a second)."""
        with self.ready:
            self.ready.wait_for(lambda: self.frames, timeout=1.0)
            frame = self.frames.popleft() if self.frames else None
            self.ready.notify_all()
            return frame

    def stats(self) -> dict:
        """Live fps and latency over the last steps."""
        recent = self.session.times.seconds[-10:]
        mean = sum(recent) / len(recent) if recent else float("nan")
        return {
            "fps": self.session.tf / mean if recent else 0.0,
            "latency_ms": mean * 1e3 if recent else 0.0,
            "action": self.held,
        }


def web_app(player: Player, keys: dict[str, str], fps: float) -> Flask:
    """The page, the MJPEG stream, key presses and stats of `player`."""
    app = Flask(__name__)
    legend = ", ".join(f"[{'space' if k == ' ' else k}] {name}" for k, name in keys.items())

    @app.get("/")
    def page():
        import json

        return PAGE.format(legend=legend, keys=json.dumps(list(keys)))

    @app.post("/key")
    def key():
        event = request.get_json(force=True)
        name = keys.get(event.get("key"))
        if name is None:
            return jsonify(error=f"key {event.get('key')!r} is not bound"), 400
        if event.get("down"):
            player.held = name
        elif player.held == name:
            player.held = player.noop
        return jsonify(action=player.held)

    @app.get("/stats")
    def stats():
        return jsonify(player.stats())

    @app.get("/stream")
    def stream():
        def frames():
            while not player.stopped.is_set():
                shown = time.perf_counter()
                frame = player.next_frame()
                if frame is None:
                    continue
                yield b"--frame\r\nContent-Type: image/jpeg\r\n\r\n" + jpeg(frame) + b"\r\n"
                time.sleep(max(0.0, 1.0 / fps - (time.perf_counter() - shown)))

        return Response(frames(), mimetype="multipart/x-mixed-replace; boundary=frame")

    return app
