"""Turn a rendered mp4 into a small README GIF: every ``--every``-th frame, scaled to ``--width`` pixels.

    python scripts/mp4_to_gif.py results/videos/cpo_ant_circle.mp4 results/videos/cpo_ant_circle.gif
"""

from __future__ import annotations

import argparse

import imageio.v3 as iio
import numpy as np
from PIL import Image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mp4")
    parser.add_argument("gif")
    parser.add_argument("--every", type=int, default=5, help="keep one frame in this many (default 5)")
    parser.add_argument("--width", type=int, default=256, help="output width in pixels (default 256)")
    parser.add_argument("--fps", type=float, default=10.0, help="GIF frame rate (default 10)")
    parser.add_argument("--colors", type=int, default=64, help="size of the shared palette (default 64)")
    args = parser.parse_args()
    frames = []
    for i, frame in enumerate(iio.imiter(args.mp4)):
        if i % args.every == 0:
            image = Image.fromarray(np.asarray(frame))
            height = round(image.height * args.width / image.width)
            frames.append(image.resize((args.width, height), Image.LANCZOS))
    palette = frames[len(frames) // 2].quantize(colors=args.colors)  # one palette: small files, no flicker
    frames = [frame.quantize(palette=palette, dither=Image.Dither.NONE) for frame in frames]
    frames[0].save(args.gif, save_all=True, append_images=frames[1:], duration=round(1000 / args.fps), loop=0,
                   optimize=True)
    print(f"{len(frames)} frames -> {args.gif}")


if __name__ == "__main__":
    main()
