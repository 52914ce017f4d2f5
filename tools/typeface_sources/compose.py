"""Compose the syllables that notice 2018-529 does not draw, from jamo in the plate style.

The notice draws 35 use syllables. kplate also prints commercial (바 사 아 자 배), region,
diplomatic and military syllables, many with a final consonant or compound vowel. They are
built here from stroke primitives (rectangles, slanted legs, elliptic rings) with the
notice's weights (8.2 mm stems, 7.2 mm bars; a little lighter in three-tier syllables so the
counters stay open), or from jamo cut out of traced syllables where these separate cleanly
(ㅅ of 서, ㅈ of 저, ㄱ and ㅏ of 가). The parts are unioned on a 10 px/mm bitmap and
traced back to polygons, so overlapping strokes never cancel under the even-odd rule.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

RES = 10.0  # px per mm of the composition bitmap
W, H = 47.0, 64.8  # Hangul ink box of the drawn syllables
STEM, BAR = 8.2, 7.2  # regulation vertical stroke and horizontal bar (mm)
Contour = tuple[tuple[float, float], ...]
Box = tuple[float, float, float, float]  # x, y, w, h in mm

# Decomposition of the precomposed syllables (Unicode arithmetic).
_INITIALS = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_VOWELS = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
_FINALS = " ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"


def decompose(char: str) -> tuple[str, str, str]:
    """(initial, vowel, final) jamo of a Hangul syllable; final is '' when there is none."""
    code = ord(char) - 0xAC00
    if not 0 <= code < 11172:
        raise KeyError(char)
    final = _FINALS[code % 28].strip()
    return _INITIALS[code // 588], _VOWELS[(code // 28) % 21], final


class Canvas:
    """A 1-bit bitmap in mm coordinates onto which strokes are unioned."""

    def __init__(self, width: float = W + 15.0, height: float = H) -> None:
        self.mask = np.zeros((round(height * RES), round(width * RES)), np.uint8)

    def _px(self, pts: list[tuple[float, float]]) -> np.ndarray:
        return (np.array(pts, dtype=np.float64) * RES * 16).round().astype(np.int32)

    def poly(self, pts: list[tuple[float, float]]) -> None:
        """Fill one simple polygon (union with what is there)."""
        cv2.fillPoly(self.mask, [self._px(pts)], 1, lineType=cv2.LINE_8, shift=4)

    def rect(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """Fill an axis-aligned box."""
        self.poly([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])

    def contours(self, contours: tuple[Contour, ...], dx: float = 0.0, dy: float = 0.0) -> None:
        """Union a set of even-odd contours (e.g. a traced jamo), shifted by (dx, dy)."""
        tmp = np.zeros_like(self.mask)
        pts = [self._px([(x + dx, y + dy) for x, y in c]) for c in contours]
        cv2.fillPoly(tmp, pts, 1, lineType=cv2.LINE_8, shift=4)
        self.mask |= tmp

    def ring(self, x: float, y: float, w: float, h: float, tx: float, ty: float) -> None:
        """An elliptic ring in box (x, y, w, h): side walls tx thick, top and bottom ty."""
        tmp = np.zeros_like(self.mask)
        c = (round((x + w / 2) * RES * 16), round((y + h / 2) * RES * 16))
        outer = (round(w / 2 * RES * 16), round(h / 2 * RES * 16))
        inner = (max(1, outer[0] - round(tx * RES * 16)), max(1, outer[1] - round(ty * RES * 16)))
        cv2.ellipse(tmp, c, outer, 0, 0, 360, 1, -1, cv2.LINE_8, 4)
        cv2.ellipse(tmp, c, inner, 0, 0, 360, 0, -1, cv2.LINE_8, 4)
        self.mask |= tmp

    def drawn(
        self,
        contours: tuple[Contour, ...],
        box: Box | None,
        clip: Box | None = None,
        grow: tuple[float, float] = (0.0, 0.0),
    ) -> None:
        """Union a jamo cut from a drawn syllable, its ink box mapped onto ``box``.

        ``box`` None keeps it where the drawing has it. ``clip`` (mm, in the drawing) keeps only the ink inside it, for jamo joined to their
        vowel. Scaling a drawn jamo thins its strokes along the squeezed axis; ``grow`` (mm,
        x and y, total over both sides) thickens them back towards the regulation weight.
        """
        src = np.zeros((round(H * RES), round((W + 2.0) * RES)), np.uint8)
        pts = [self._px(list(c)) for c in contours]
        cv2.fillPoly(src, pts, 1, lineType=cv2.LINE_8, shift=4)
        if clip is not None:
            keep = np.zeros_like(src)
            cx0, cy0, cw, ch = (round(v * RES) for v in clip)
            keep[cy0 : cy0 + ch, cx0 : cx0 + cw] = 1
            src &= keep
        ys, xs = np.nonzero(src)
        x0, y0 = xs.min() / RES, ys.min() / RES
        if box is None:  # keep the jamo where the drawing has it
            box = (x0, y0, (xs.max() + 1) / RES - x0, (ys.max() + 1) / RES - y0)
        sx = box[2] / ((xs.max() + 1) / RES - x0)
        sy = box[3] / ((ys.max() + 1) / RES - y0)
        moved = [[(box[0] + (x - x0) * sx, box[1] + (y - y0) * sy) for x, y in c] for c in contours]
        tmp = np.zeros_like(self.mask)
        cv2.fillPoly(tmp, [self._px(c) for c in moved], 1, lineType=cv2.LINE_8, shift=4)
        if clip is not None:
            keep = np.zeros_like(tmp)
            kx0 = max(0, round((box[0] + (clip[0] - x0) * sx) * RES))
            ky0 = max(0, round((box[1] + (clip[1] - y0) * sy) * RES))
            kx1 = round((box[0] + (clip[0] + clip[2] - x0) * sx) * RES)
            ky1 = round((box[1] + (clip[1] + clip[3] - y0) * sy) * RES)
            keep[ky0:ky1, kx0:kx1] = 1
            tmp &= keep
        for axis, amount in enumerate(grow):
            k = round(abs(amount) * RES)
            if k == 0:
                continue
            kernel = np.ones((1, k + 1) if axis == 0 else (k + 1, 1), np.uint8)
            tmp = cv2.dilate(tmp, kernel) if amount > 0 else cv2.erode(tmp, kernel)
        self.mask |= tmp

    def leg(self, top: tuple[float, float], bottom: tuple[float, float], thick: float) -> None:
        """A slanted stroke of horizontal thickness ``thick`` with flat top and bottom ends."""
        (tx, ty), (bx, by) = top, bottom
        h = thick / 2
        self.poly([(tx - h, ty), (tx + h, ty), (bx + h, by), (bx - h, by)])

    def trace(self) -> tuple[Contour, ...]:
        """Polygons (mm) of the union, outer contours and holes alike."""
        found, _ = cv2.findContours(self.mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
        out = []
        for c in found:
            if cv2.contourArea(c) < 4:
                continue
            approx = cv2.approxPolyDP(c, 0.1 * RES, True)[:, 0, :]
            out.append(
                tuple((round((px + 0.5) / RES, 2), round((py + 0.5) / RES, 2)) for px, py in approx)
            )
        return tuple(out)


# ---------------------------------------------------------------- consonants in a box


def consonant(cv: Canvas, jamo: str, box: Box, v: float, b: float) -> None:
    """Draw an initial or final consonant filling ``box`` with stems ``v`` and bars ``b``."""
    x, y, w, h = box
    r, btm = x + w, y + h
    if jamo == "ㄱ":
        cv.rect(x, y, r, y + b)
        cv.rect(r - v, y, r, btm)
    elif jamo == "ㄴ":
        cv.rect(x, y, x + v, btm)
        cv.rect(x, btm - b, r, btm)
    elif jamo == "ㄷ":
        cv.rect(x, y, r, y + b)
        cv.rect(x, y, x + v, btm)
        cv.rect(x, btm - b, r, btm)
    elif jamo == "ㄹ":
        mid = y + (h - b) / 2
        cv.rect(x, y, r, y + b)
        cv.rect(r - v, y, r, mid + b)
        cv.rect(x, mid, r, mid + b)
        cv.rect(x, mid, x + v, btm)
        cv.rect(x, btm - b, r, btm)
    elif jamo == "ㅁ":
        cv.rect(x, y, r, y + b)
        cv.rect(x, btm - b, r, btm)
        cv.rect(x, y, x + v, btm)
        cv.rect(r - v, y, r, btm)
    elif jamo == "ㅂ":
        mid = y + (h - b) * 0.45
        cv.rect(x, y, x + v, btm)
        cv.rect(r - v, y, r, btm)
        cv.rect(x, mid, r, mid + b)
        cv.rect(x, btm - b, r, btm)
    elif jamo == "ㅅ":
        apex = x + w / 2
        cv.leg((apex, y), (x + v / 2, btm), v)
        join = y + h * 0.3
        cv.leg((apex + (x + v / 2 - apex) * 0.3, join), (r - v / 2, btm), v)
    elif jamo == "ㅇ":
        cv.ring(x, y, w, h, v, b)
    elif jamo == "ㅈ":
        cv.rect(x, y, r, y + b)
        consonant(cv, "ㅅ", (x, y + b * 0.5, w, h - b * 0.5), v, b)
    elif jamo == "ㅊ":
        tick = h * 0.16
        cv.rect(x + w / 2 - v / 2, y, x + w / 2 + v / 2, y + tick + 0.5)
        consonant(cv, "ㅈ", (x, y + tick, w, h - tick), v, b)
    elif jamo == "ㅌ":
        mid = y + (h - b) / 2
        cv.rect(x, y, r, y + b)
        cv.rect(x, y, x + v, btm)
        cv.rect(x, mid, r - w * 0.08, mid + b)
        cv.rect(x, btm - b, r, btm)
    elif jamo == "ㅍ":
        cv.rect(x, y, r, y + b)
        cv.rect(x, btm - b, r, btm)
        cv.rect(x + w * 0.2, y, x + w * 0.2 + v, btm)
        cv.rect(r - w * 0.2 - v, y, r - w * 0.2, btm)
    elif jamo == "ㅎ":
        tick = h * 0.13
        cx = x + w / 2
        cv.rect(cx - v / 2, y, cx + v / 2, y + tick + 0.5)
        cv.rect(x, y + tick, r, y + tick + b)
        top = y + tick + b + h * 0.05
        cv.ring(x + w * 0.08, top, w * 0.84, btm - top, v, b * 0.95)
    else:
        raise KeyError(jamo)


# ---------------------------------------------------------------- vowels
def vertical_vowel(
    cv: Canvas, jamo: str, x: float, y0: float, y1: float, v: float, b: float, tick: float = 5.8
) -> float:
    """Draw ㅏ ㅐ ㅓ ㅔ ㅕ ㅣ whose (first) stem starts at ``x``; return the right edge."""
    mid = y0 + (y1 - y0) * 0.47 - b / 2
    if jamo == "ㅣ":
        cv.rect(x, y0, x + v, y1)
        return x + v
    if jamo == "ㅏ":
        cv.rect(x, y0, x + v, y1)
        cv.rect(x + v, mid, x + v + tick, mid + b)
        return x + v + tick
    if jamo == "ㅐ":
        x2 = x + v + tick + 0.6
        cv.rect(x, y0, x + v, y1)
        cv.rect(x + v, mid, x2, mid + b)
        cv.rect(x2, y0, x2 + v, y1)
        return x2 + v
    if jamo == "ㅓ":
        cv.rect(x - tick, mid, x, mid + b)
        cv.rect(x, y0, x + v, y1)
        return x + v
    if jamo == "ㅔ":
        x2 = x + v + 5.6
        cv.rect(x - tick, mid, x, mid + b)
        cv.rect(x, y0, x + v, y1)
        cv.rect(x2, y0, x2 + v, y1)
        return x2 + v
    if jamo == "ㅕ":
        span = y1 - y0
        for frac in (0.3, 0.64):
            ty = y0 + span * frac - b / 2
            cv.rect(x - tick, ty, x, ty + b)
        cv.rect(x, y0, x + v, y1)
        return x + v
    raise KeyError(jamo)


def horizontal_vowel(
    cv: Canvas,
    jamo: str,
    x0: float,
    x1: float,
    y0: float,
    y1: float,
    v: float,
    b: float,
    stem_at: float = 0.52,
) -> None:
    """Draw ㅗ ㅛ ㅜ ㅠ ㅡ across x0..x1 with its stems and bar filling y0..y1."""
    cx = x0 + (x1 - x0) * stem_at
    if jamo == "ㅡ":
        cv.rect(x0, y1 - b, x1, y1)
    elif jamo == "ㅗ":
        cv.rect(cx - v / 2, y0, cx + v / 2, y1)
        cv.rect(x0, y1 - b, x1, y1)
    elif jamo == "ㅛ":
        for f in (0.3, 0.7):
            sx = x0 + (x1 - x0) * f
            cv.rect(sx - v / 2, y0, sx + v / 2, y1)
        cv.rect(x0, y1 - b, x1, y1)
    elif jamo == "ㅜ":
        cv.rect(x0, y0, x1, y0 + b)
        cv.rect(cx - v / 2, y0, cx + v / 2, y1)
    elif jamo == "ㅠ":
        cv.rect(x0, y0, x1, y0 + b)
        for f in (0.3, 0.7):
            sx = x0 + (x1 - x0) * f
            cv.rect(sx - v / 2, y0, sx + v / 2, y1)
    else:
        raise KeyError(jamo)


# ---------------------------------------------------------------- traced jamo
def _traced_part(char: str, pick: Callable[[tuple[Contour, ...]], bool]) -> tuple[Contour, ...]:
    """Contours of the components of a traced syllable that ``pick`` selects."""
    from . import outlines_data

    _, _, comps = outlines_data.HANGUL[char]
    return tuple(c for comp in comps if pick(comp) for c in comp)


def _right_edge(comp: tuple[Contour, ...]) -> float:
    return max(x for x, _ in comp[0])


def _vowel_a() -> tuple[Contour, ...]:
    """ㅏ of the drawn 가 (its rightmost component)."""
    return _traced_part("가", lambda comp: _right_edge(comp) > 40)


def _initial_of(char: str) -> tuple[Contour, ...]:
    """The initial consonant of a drawn syllable whose initial is a separate component."""
    from . import outlines_data

    right = max(_right_edge(comp) for comp in outlines_data.HANGUL[char][2])
    return _traced_part(char, lambda comp: _right_edge(comp) < right - 1.0)


def _fit_into(contours: tuple[Contour, ...], box: Box) -> tuple[Contour, ...]:
    """Scale traced contours so their bbox fills ``box`` (used for modest squeezes only)."""
    xs = [x for c in contours for x, _ in c]
    ys = [y for c in contours for _, y in c]
    x0, y0 = min(xs), min(ys)
    sx = box[2] / (max(xs) - x0)
    sy = box[3] / (max(ys) - y0)
    return tuple(
        tuple((box[0] + (x - x0) * sx, box[1] + (y - y0) * sy) for x, y in c) for c in contours
    )


def _top_of(char: str) -> tuple[Contour, ...]:
    """The upper jamo of a drawn syllable with a horizontal vowel (a separate component)."""
    return _traced_part(char, lambda comp: min(y for _, y in comp[0]) < 1.0)


# Drawn jamo (syllable, clip box in its drawing, mm) for jamo joined to their vowel: the ㅂ
# of 버 ends at x 28.9 where the ㅓ tick begins (column profile of the p. 16 drawing).
BIEUP_OF_BEO = ("버", (0.0, 0.0, 28.9, H))
IEUNG_OF_EO = ("어", (0.0, 0.0, 30.6, H))  # the ring ends at x 30.6, the ㅓ tick beyond


def _all_of(char: str) -> tuple[Contour, ...]:
    return _traced_part(char, lambda comp: True)


def _drawn_bieup(cv: Canvas, box: Box, grow: tuple[float, float] = (0.0, 0.0)) -> None:
    """ㅂ with the drawing's rounded lower-left corner: 버's beside a vowel, else 부's."""
    if box[2] / box[3] < 1.0:
        cv.drawn(_all_of(BIEUP_OF_BEO[0]), box, clip=BIEUP_OF_BEO[1], grow=grow)
    else:
        cv.drawn(_top_of("부"), box, grow=grow)


def _drawn_hieut(cv: Canvas, box: Box, grow: tuple[float, float]) -> None:
    """ㅎ of the drawn 하 (a separate component left of its ㅏ)."""
    cv.drawn(_initial_of("하"), box, grow=grow)


# 바 as the annex draws it (별표3 p. 51, 별표4 p. 69, 별표6 p. 110), each drawing scaled to
# the regulation height and its horizontal stretch undone (x * 47 / drawn width; the
# stems then read 7.8-8.2 mm on all three): ㅂ in x 0-27.8, y 1.55-57.35, the ㅏ stem
# from x 33.6, the tick ending at 47.0.
BA_BIEUP: Box = (0.0, 1.55, 27.8, 55.8)
BA_A_X = 33.6

# 울 as 별표3 (p. 51) and 별표6 (p. 110) draw it, same normalisation: the ㅇ spans
# 91 % of the width and 39.7 % of the height (y 0-25.7) with 8.2 mm walls and 7.2 mm
# top/bottom; the ㅜ bar y 29.5-34.5 across the full width, its stem to y 40.0; the ㄹ in
# x 3.3-44.3, y 40.0-64.8 with bars of 4.8-5.3 mm (루's ㄹ squeezed to 0.71 gives 5.1).
UL_IEUNG: Box = (2.1, 0.0, 42.8, 25.7)
UL_BAR = (29.5, 34.5)
UL_RIEUL: Box = (3.3, 40.0, 41.0, 24.8)

# ---------------------------------------------------------------- syllable layouts
VERTICAL = set("ㅏㅐㅓㅔㅕㅣ")
HORIZONTAL = set("ㅗㅛㅜㅠㅡ")


def compose(char: str) -> tuple[Contour, ...]:
    """Outline contours (mm, Hangul box) of a syllable the notice does not draw."""
    ini, vow, fin = decompose(char)
    cv = Canvas()
    if not fin and vow == "ㅏ" and ini in "ㅅㅈ":
        # 사 자: the notice's own ㅅ / ㅈ (from 서 / 저) beside its own ㅏ (from 가).
        # In 서 / 저 the ㅅ's right leg runs under the ㅓ's tick, so the consonant is squeezed
        # a little (0.9x) and ㅏ moved right to keep a clear gap before its stem.
        traced = _initial_of("서" if ini == "ㅅ" else "저")
        ys = [y for c in traced for _, y in c]
        cv.contours(_fit_into(traced, (0.0, min(ys), 31.0, max(ys) - min(ys))))
        cv.contours(_vowel_a(), dx=1.7)
        return cv.trace()
    if char == "바":
        # the drawn ㅂ (rounded lower-left corner) and ㅏ, placed as the annex draws 바
        _drawn_bieup(cv, BA_BIEUP)
        cv.drawn(_vowel_a(), (BA_A_X, 0.0, W - BA_A_X, H))
        return cv.trace()
    if char == "아":
        # the drawn ㅇ of 어 where 어 has it, the drawn ㅏ of 가 as in 사
        cv.drawn(_all_of(IEUNG_OF_EO[0]), None, clip=IEUNG_OF_EO[1])
        cv.contours(_vowel_a(), dx=1.7)
        return cv.trace()
    if ini == "ㅇ" and vow in "ㅜㅠ" and fin:
        _ieung_over(cv, vow, fin)
        return cv.trace()
    if not fin and vow == "ㅣ" and ini == "ㄱ":
        cv.contours(_initial_of("가"), dx=1.5)
        vertical_vowel(cv, "ㅣ", 34.4, 0.0, H, STEM, BAR)
        return _fit(cv)
    if not fin:
        _open_syllable(cv, ini, vow)
    else:
        _closed_syllable(cv, ini, vow, fin)
    return _fit(cv)


def _fit(cv: Canvas) -> tuple[Contour, ...]:
    return cv.trace()


def _ieung_over(cv: Canvas, vow: str, fin: str) -> None:
    """울 (and 육) as the annex draws 울: a full-width ㅇ, a thin ㅜ / ㅠ, then the final
    (울: the drawn ㄹ of 루; 육: ㄱ with the same 5 mm bars)."""
    cv.ring(*UL_IEUNG, STEM, BAR)
    cv.rect(0.0, UL_BAR[0], W, UL_BAR[1])
    for at in (0.52,) if vow == "ㅜ" else (0.3, 0.7):
        cv.rect(W * at - 3.7, UL_BAR[1] - 0.5, W * at + 3.7, UL_RIEUL[1] + 0.5)
    if fin == "ㄹ":
        cv.drawn(_top_of("루"), UL_RIEUL)
    else:
        consonant(cv, fin, UL_RIEUL, 7.4, 5.2)


def _sios_like(cv: Canvas, ini: str, box: Box, source: str, grow: tuple[float, float]) -> None:
    """ㅅ ㅈ ㅊ from the drawn syllable ``source`` (its curved legs), fitted into ``box``.

    ㅊ has no drawing: it is the drawn ㅈ beneath a short vertical tick, as the plate
    lettering writes it.
    """
    x, y, w, h = box
    if ini == "ㅊ":
        tick = h * 0.2
        cv.rect(x + w / 2 - 3.5, y, x + w / 2 + 3.5, y + tick + 1.0)
        y, h = y + tick, h - tick
        ini = "ㅈ"
    parts = _top_of(source) if source in "수주소조" else _initial_of(source)
    cv.drawn(parts, (x, y, w, h), grow=grow)


def _open_syllable(cv: Canvas, ini: str, vow: str) -> None:
    """Two-part syllables (no final), laid out like the drawn ones."""
    v, b = STEM, BAR
    if vow in VERTICAL:
        if vow == "ㅔ":
            # 세 제: 47 mm wide like every drawn syllable; the drawn ㅅ / ㅈ of 서 / 저
            # narrowed to 24.6 mm (thickened back by 1.4 mm) and two 7.8 mm stems.
            source = "서" if ini == "ㅅ" else "저"
            if ini in "ㅅㅈ":
                cv.drawn(_initial_of(source), (0.0, 0.9, 24.6, 58.8), grow=(1.4, 0.0))
            else:
                consonant(cv, ini, (0.0, 4.0, 24.0, H - 8.0), v, b)
            stem = 7.8
            x2 = W - stem
            x1 = x2 - 2.8 - stem
            mid = H * 0.47 - b / 2
            cv.rect(x1 - 4.8, mid, x1, mid + b)
            cv.rect(x1, 0.0, x1 + stem, H)
            cv.rect(x2, 0.0, W, H)
            return
        if vow == "ㅐ":
            # the compound vowel takes room: a narrower initial, the same stroke weights
            box = (0.0, 4.0, 24.0, H - 8.0)
            if ini == "ㅂ":
                _drawn_bieup(cv, box, grow=(1.2, 0.0))  # 0.83x narrower than in 버
            elif ini == "ㅎ":
                # 하's ㅎ narrowed to 0.73, thickened back to the 8.2 mm wall
                _drawn_hieut(cv, (0.0, 2.0, 24.0, 60.5), (2.0, 0.0))
            else:
                consonant(cv, ini, box, v, b)
            vertical_vowel(cv, vow, 27.0, 0.0, H, v, b, tick=4.6)
        else:
            consonant(cv, ini, (0.0, 4.0, 26.0, H - 8.0), v, b)
            vertical_vowel(cv, vow, 32.8, 0.0, H, v, b)
        return
    if vow in HORIZONTAL:
        consonant(cv, ini, (4.0, 0.0, W - 8.0, 34.9), v, b)
        horizontal_vowel(cv, vow, 0.0, W, 39.0, H, v, 7.7)
        return
    if vow == "ㅚ":
        consonant(cv, ini, (0.0, 0.0, 30.0, 31.0), v, b)
        horizontal_vowel(cv, "ㅗ", 0.0, 33.0, 34.0, 55.0, v, b, stem_at=0.5)
        vertical_vowel(cv, "ㅣ", W - v, 0.0, H, v, b)
        return
    raise KeyError(vow)


def _closed_syllable(cv: Canvas, ini: str, vow: str, fin: str) -> None:
    """Three-part syllables: the final in a bottom slot, slightly lighter strokes."""
    v, b = 7.4, 6.4
    fin_top = 42.0
    fin_box = (4.0, fin_top, W - 8.0, H - fin_top)
    if fin == "ㅇ":
        fin_box = (5.5, fin_top - 0.5, W - 11.0, H - fin_top + 0.5)
    top = fin_top - 5.0  # bottom of the upper part
    if vow in VERTICAL:
        if ini in "ㅅㅈㅊ":
            # the drawn ㅅ / ㅈ of 서 / 저 with their curved legs, squeezed into the upper tier
            _sios_like(
                cv, ini, (0.0, 1.0, 29.0, top - 2.5), "서" if ini == "ㅅ" else "저", (0.6, 1.6)
            )
        elif ini == "ㅎ":
            _drawn_hieut(cv, (0.0, 0.0, 29.0 if vow == "ㅏ" else 27.5, top - 1.0), (0.6, 1.6))
        else:
            consonant(cv, ini, (0.0, 2.0, 26.0, top - 4.0), v, b)
        if vow == "ㅕ":
            vertical_vowel(cv, vow, W - v, 0.0, top, v, b, tick=6.5)
        else:
            vertical_vowel(cv, vow, 32.8, 0.0, top, v, b, tick=W - 32.8 - v)
    elif vow in HORIZONTAL:
        upper = (4.0, 0.0, W - 8.0, 19.0 if vow in "ㅗㅛ" else 18.5)
        if ini in "ㅅㅈㅊ":
            # the drawn ㅈ of 주 (the flatter of the drawn ones), squeezed to the upper tier
            _sios_like(cv, ini, (2.0, 0.0, W - 4.0, upper[3]), "주", (0.0, 1.6))
        elif ini == "ㅂ":
            _drawn_bieup(cv, upper, grow=(0.6, 2.0))
        else:
            consonant(cv, ini, upper, v, b)
        if vow in "ㅗㅛ":
            horizontal_vowel(cv, vow, 0.0, W, 19.0, top, v, b)
        else:
            horizontal_vowel(cv, vow, 0.0, W, 22.0, top, v, b)
    elif vow == "ㅘ":
        consonant(cv, ini, (0.0, 0.0, 27.0, 16.5), v, b)
        horizontal_vowel(cv, "ㅗ", 0.0, 31.0, 16.5, top, v, b, stem_at=0.5)
        vertical_vowel(cv, "ㅏ", 35.0, 0.0, top, v, b, tick=W - 35.0 - v)
    elif vow == "ㅝ":
        # 원: the ㅇ as large as the tier allows (cf. 울), the ㅓ tick level with the ㅜ bar
        cv.ring(1.5, 0.0, 28.0, 19.0, v, 5.8)
        cv.rect(0.0, 21.5, 31.5, 27.0)
        cv.rect(15.75 - v / 2, 26.5, 15.75 + v / 2, top)
        cv.rect(31.0, 21.5, W - v, 27.0)
        cv.rect(W - v, 0.0, W, top)
    else:
        raise KeyError(vow)
    if fin == "ㅂ":
        _drawn_bieup(cv, fin_box, grow=(0.6, 1.0))
    else:
        consonant(cv, fin, fin_box, v, b)
