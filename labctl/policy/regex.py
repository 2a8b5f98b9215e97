"""Integer ranges as regular expressions, for FRR AS-path access lists (POSIX extended regex)."""

from __future__ import annotations


def _range_patterns(lo: int, hi: int) -> list[str]:
    """Patterns matching exactly the decimal numbers lo..hi (no leading zeros)."""
    if lo > hi:
        return []
    lo_s, hi_s = str(lo), str(hi)
    if len(lo_s) < len(hi_s):  # split at powers of ten so both ends have the same number of digits
        top = 10 ** len(lo_s) - 1
        return _range_patterns(lo, top) + _range_patterns(top + 1, hi)
    return _same_length(lo_s, hi_s)


def _same_length(lo: str, hi: str) -> list[str]:
    if lo == hi:
        return [lo]
    if len(lo) == 1:
        return [f"[{lo}-{hi}]" if int(hi) > int(lo) + 1 else f"[{lo}{hi}]"]
    if lo[0] == hi[0]:
        return [lo[0] + p for p in _same_length(lo[1:], hi[1:])]
    rest = len(lo) - 1
    out = []
    low_full = lo[1:] == "0" * rest
    high_full = hi[1:] == "9" * rest
    first_mid = int(lo[0]) + (0 if low_full else 1)
    last_mid = int(hi[0]) - (0 if high_full else 1)
    if not low_full:
        out += [lo[0] + p for p in _same_length(lo[1:], "9" * rest)]
    if first_mid <= last_mid:
        digit = str(first_mid) if first_mid == last_mid else f"[{first_mid}-{last_mid}]"
        out.append(digit + ("[0-9]" if rest == 1 else f"[0-9]{{{rest}}}"))
    if not high_full:
        out += [hi[0] + p for p in _same_length("0" * rest, hi[1:])]
    return out


def ranges_regex(ranges: list[tuple[int, int]]) -> str:
    """One alternation for several inclusive ranges, e.g. [(64512, 65534)] -> '6451[2-9]|645[2-9][0-9]|...'."""
    parts: list[str] = []
    for lo, hi in ranges:
        parts += _range_patterns(lo, hi)
    return "|".join(parts)


def merge_ranges(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def subtract(ranges: list[tuple[int, int]], holes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """`ranges` without the numbers in `holes` (both inclusive, result merged and sorted)."""
    out = []
    holes = merge_ranges(holes)
    for lo, hi in merge_ranges(ranges):
        cur = lo
        for hlo, hhi in holes:
            if hhi < cur or hlo > hi:
                continue
            if hlo > cur:
                out.append((cur, hlo - 1))
            cur = max(cur, hhi + 1)
            if cur > hi:
                break
        if cur <= hi:
            out.append((cur, hi))
    return out
