"""The camera move over a still, as an ffmpeg ``zoompan`` filter.

zoompan crops at whole input pixels, which is what makes naive Ken Burns moves judder. The
still is first scaled to OVERSAMPLE times the output size, so one input pixel is a fraction of
an output pixel and the rounding is invisible; the move is eased (smoothstep) so it starts and
ends at rest. It spans the shot's whole time, transition handles included, so it never jumps
where a transition begins or ends, though the core and the handles are rendered apart.
"""

from __future__ import annotations

ZOOM = 1.18  # how far a zoom goes
PAN_ZOOM = 1.15  # the zoom a pan holds, to have room to move
OVERSAMPLE = 2


def zoompan_filter(
    camera: str, frames: int, width: int, height: int, fps: int, *, first: int = 0, count: int | None = None
) -> str:
    """Filters that turn one still into the camera move of ``frames`` frames at width x height:
    all of them, or the ``count`` frames from frame ``first`` on (the same frames the whole move
    has there: a shot's core, or a transition's handle, rendered on its own)."""
    last = max(1, frames - 1)
    at = f"(on+{first})" if first else "on"
    e = f"(pow(min({at}/{last},1),2)*(3-2*min({at}/{last},1)))"
    zoom = {"zoom_in": f"1+{ZOOM - 1:.4f}*{e}", "zoom_out": f"{ZOOM:.4f}-{ZOOM - 1:.4f}*{e}", "static": "1"}.get(
        camera, f"{PAN_ZOOM:.4f}"
    )
    x, y = "(iw-iw/zoom)/2", "(ih-ih/zoom)/2"
    if camera == "pan_left":
        x = f"(iw-iw/zoom)*(1-{e})"
    elif camera == "pan_right":
        x = f"(iw-iw/zoom)*{e}"
    elif camera == "pan_up":
        y = f"(ih-ih/zoom)*(1-{e})"
    elif camera == "pan_down":
        y = f"(ih-ih/zoom)*{e}"
    big_w, big_h = width * OVERSAMPLE, height * OVERSAMPLE
    return (
        f"scale={big_w}:{big_h}:force_original_aspect_ratio=increase:flags=bicubic,crop={big_w}:{big_h},"
        f"zoompan=z='{zoom}':x='{x}':y='{y}':d={frames if count is None else count}:s={width}x{height}:fps={fps},"
        "setsar=1"
    )
