#!/usr/bin/env python3
"""Renders a terminal screen captured with `tmux capture-pane -e -p` (text with SGR colour
sequences) to a PNG, cell by cell, in DejaVu Sans Mono.

Usage: ansi2png.py SCREEN.ansi OUT.png [--cols N] [--rows N]

Understands the SGR sequences a ratatui app emits through tmux: reset, bold, dim, italic,
underline, reverse, the 16 ANSI colours (30-37, 90-97, 40-47, 100-107), 256 colours (38;5;n,
48;5;n) and true colour (38;2;r;g;b, 48;2;r;g;b). Other escape sequences are skipped.
Needs Pillow (`pip install pillow`, or Debian's python3-pil) and fonts-dejavu-core.
"""

import argparse
import re
import sys

from PIL import Image, ImageDraw, ImageFont

FONT_DIR = "/usr/share/fonts/truetype/dejavu/"
FONT_SIZE = 15
BACKGROUND = (24, 24, 27)
FOREGROUND = (212, 212, 216)

# xterm's default 16-colour palette.
ANSI16 = [
    (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0),
    (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
    (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0),
    (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255),
]


def xterm256(n):
    """The RGB of xterm colour n (0-255)."""
    if n < 16:
        return ANSI16[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    level = 8 + (n - 232) * 10
    return (level, level, level)


class Pen:
    def __init__(self):
        self.reset()

    def reset(self):
        self.fg = None
        self.bg = None
        self.bold = False
        self.dim = False
        self.italic = False
        self.underline = False
        self.reverse = False

    def apply(self, params):
        codes = [int(p) if p else 0 for p in params.split(";")] if params else [0]
        i = 0
        while i < len(codes):
            c = codes[i]
            if c == 0:
                self.reset()
            elif c == 1:
                self.bold = True
            elif c == 2:
                self.dim = True
            elif c == 3:
                self.italic = True
            elif c == 4:
                self.underline = True
            elif c == 7:
                self.reverse = True
            elif c == 22:
                self.bold = self.dim = False
            elif c == 23:
                self.italic = False
            elif c == 24:
                self.underline = False
            elif c == 27:
                self.reverse = False
            elif 30 <= c <= 37:
                self.fg = ANSI16[c - 30]
            elif 90 <= c <= 97:
                self.fg = ANSI16[c - 90 + 8]
            elif 40 <= c <= 47:
                self.bg = ANSI16[c - 40]
            elif 100 <= c <= 107:
                self.bg = ANSI16[c - 100 + 8]
            elif c == 39:
                self.fg = None
            elif c == 49:
                self.bg = None
            elif c in (38, 48) and i + 1 < len(codes):
                colour = None
                if codes[i + 1] == 5 and i + 2 < len(codes):
                    colour = xterm256(codes[i + 2] % 256)
                    i += 2
                elif codes[i + 1] == 2 and i + 4 < len(codes):
                    colour = tuple(max(0, min(255, v)) for v in codes[i + 2:i + 5])
                    i += 4
                if c == 38:
                    self.fg = colour
                else:
                    self.bg = colour
            i += 1

    def colours(self):
        fg = self.fg or FOREGROUND
        bg = self.bg or BACKGROUND
        if self.bold and self.fg in ANSI16[:8]:
            fg = ANSI16[ANSI16.index(self.fg) + 8]
        if self.dim:
            fg = tuple((a + b) // 2 for a, b in zip(fg, bg))
        if self.reverse:
            fg, bg = bg, fg
        return fg, bg


TOKEN = re.compile(r"\x1b\[([0-9;]*)([A-Za-z])|\x1b[\]P^_X].*?(?:\x07|\x1b\\)|\x1b.|([^\x1b])", re.S)


def parse(text, cols, rows):
    """The screen as rows of (char, fg, bg, bold, italic, underline) cells."""
    pen = Pen()
    screen = []
    for line in text.split("\n")[:rows]:
        cells = []
        for m in TOKEN.finditer(line):
            if m.group(2) == "m":
                pen.apply(m.group(1))
            elif m.group(3) is not None and m.group(3) != "\r":
                fg, bg = pen.colours()
                cells.append((m.group(3), fg, bg, pen.bold, pen.italic, pen.underline))
        screen.append(cells[:cols])
    while len(screen) < rows:
        screen.append([])
    return screen


def render(screen, cols, rows, out):
    regular = ImageFont.truetype(FONT_DIR + "DejaVuSansMono.ttf", FONT_SIZE)
    bold = ImageFont.truetype(FONT_DIR + "DejaVuSansMono-Bold.ttf", FONT_SIZE)
    italic = ImageFont.truetype(FONT_DIR + "DejaVuSansMono-Oblique.ttf", FONT_SIZE)
    left, top, right, bottom = regular.getbbox("M")
    cw = int(round(regular.getlength("M")))
    ascent, descent = regular.getmetrics()
    ch = ascent + descent
    pad = 8
    image = Image.new("RGB", (cols * cw + 2 * pad, rows * ch + 2 * pad), BACKGROUND)
    draw = ImageDraw.Draw(image)
    for y, cells in enumerate(screen):
        for x, (char, fg, bg, is_bold, is_italic, underline) in enumerate(cells):
            px, py = pad + x * cw, pad + y * ch
            if bg != BACKGROUND:
                draw.rectangle([px, py, px + cw - 1, py + ch - 1], fill=bg)
            if char != " ":
                font = bold if is_bold else italic if is_italic else regular
                draw.text((px, py + 1), char, font=font, fill=fg)
            if underline:
                draw.line([px, py + ch - 2, px + cw - 1, py + ch - 2], fill=fg)
    image.save(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("screen")
    ap.add_argument("png")
    ap.add_argument("--cols", type=int, default=160)
    ap.add_argument("--rows", type=int, default=48)
    args = ap.parse_args()
    with open(args.screen, encoding="utf-8", errors="replace") as f:
        text = f.read()
    render(parse(text, args.cols, args.rows), args.cols, args.rows, args.png)


if __name__ == "__main__":
    sys.exit(main())
