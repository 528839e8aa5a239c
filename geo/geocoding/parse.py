"""Chinese address text: normalisation, road-name variants and parsing (pure, no data).

:func:`parse_address` splits an address into district, subdistrict (街镇), road(s), house
number and named place; :func:`normalise_address` is the key of the cache and the overrides.
See docs/geocoding.md for the forms recognised.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace

__all__ = [
    "MINHANG_SUBDISTRICTS",
    "SHANGHAI_DISTRICTS",
    "ParsedAddress",
    "normalise_address",
    "normalise_road_name",
    "parse_address",
    "road_name_variants",
]

#: Shanghai's districts (and former ones still seen in old addresses).
SHANGHAI_DISTRICTS: tuple[str, ...] = (
    "浦东新区",
    "黄浦区",
    "徐汇区",
    "长宁区",
    "静安区",
    "普陀区",
    "虹口区",
    "杨浦区",
    "闵行区",
    "宝山区",
    "嘉定区",
    "金山区",
    "松江区",
    "青浦区",
    "奉贤区",
    "崇明区",
    "闸北区",
    "卢湾区",
    "南汇区",
)

#: The pack's 14 units, used when an address is parsed without a geocoder.
MINHANG_SUBDISTRICTS: tuple[str, ...] = (
    "江川路街道",
    "古美街道",
    "新虹街道",
    "浦锦街道",
    "莘庄镇",
    "七宝镇",
    "颛桥镇",
    "华漕镇",
    "虹桥镇",
    "梅陇镇",
    "吴泾镇",
    "马桥镇",
    "浦江镇",
    "莘庄工业区",
)

_ROAD_SUFFIXES: tuple[str, ...] = ("公路", "大道", "大街", "路", "街", "巷")
_DIRECTIONS = "东西南北中"
_ROAD = r"[\u4e00-\u9fffA-Za-z0-9]+?(?:公路|大道|大街|路|街|巷)"
_NUMBER = r"(\d+)(?:[-之]\d+)?(号|弄)"
_CONNECTORS = r"(?:与|和|及|跟|交|、|/|&|\+)"
_RE_INTERSECTIONS = (
    # "A路与B路交叉口", "A路B路口工地": a crossing word, then any remark
    re.compile(rf"^({_ROAD}){_CONNECTORS}?({_ROAD})(?:交叉路口|交叉口|交界处|交汇处|路口|口)(.*)$"),
    # "A路/B路", "A路和B路": a connector
    re.compile(rf"^({_ROAD}){_CONNECTORS}({_ROAD})(.*)$"),
    # "A路B路工地": two roads side by side, then a remark without a number
    re.compile(rf"^({_ROAD})({_ROAD})(\D*)$"),
)
_RE_NUMBERED = re.compile(rf"^({_ROAD}){_NUMBER}(.*)$")
_RE_ROAD = re.compile(rf"^({_ROAD})(.*)$")
_RE_HAN = re.compile(r"[\u4e00-\u9fff]")
_RE_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]|【[^】]*】|〔[^〕]*〕")
_RE_DROP = re.compile(r"[\s,.;:'\"!?·•・。、，；：！？“”‘’]")
_PREFIXES = ("中华人民共和国", "中国", "上海市", "上海")


def normalise_address(text: object) -> str:
    """Return ``text`` in one canonical spelling: the key of the cache and the overrides.

    NFKC (full-width digits, letters and brackets become ASCII), bracketed remarks removed,
    spaces and punctuation removed, a leading ``中国``/``上海市``/``上海`` removed, letters
    lower-cased.
    ``None`` and NaN give ``""``.
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    s = unicodedata.normalize("NFKC", str(text))
    s = _RE_DROP.sub("", _RE_BRACKETS.sub("", s)).lower()
    for prefix in _PREFIXES:
        if s.startswith(prefix):
            s = s[len(prefix) :]
    return s


def normalise_road_name(name: object) -> str:
    """Return a road name as it is matched: NFKC, no spaces, brackets or place prefix.

    ``"闵行 · 新源路"`` → ``"新源路"``, ``"东川路（施工绕路）"`` → ``"东川路"``,
    ``"莘庄１号路"`` → ``"莘庄1号路"``.
    """
    if name is None or (isinstance(name, float) and math.isnan(name)):
        return ""
    s = unicodedata.normalize("NFKC", str(name))
    for sep in ("·", "•", "・"):
        if sep in s:
            s = s.split(sep)[-1]
    return _RE_DROP.sub("", _RE_BRACKETS.sub("", s)).lower()


def _split_suffix(name: str) -> tuple[str, str]:
    for suffix in _ROAD_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)], suffix
    return name, ""


def road_name_variants(name: str) -> list[tuple[str, str]]:
    """Return spellings to try for a road name, best first, each with its kind.

    Kinds: ``exact``; ``suffix_variant`` (路 ↔ 公路 ↔ 大道 ↔ 街 ↔ 大街); ``direction_variant``
    (a 东/西/南/北/中 before the suffix removed, e.g. 莲花南路 → 莲花路, or added, e.g.
    莲花路 → 莲花南路, with each suffix).

    Examples
    --------
    >>> road_name_variants("浦星路")[:3]
    [('浦星路', 'exact'), ('浦星公路', 'suffix_variant'), ('浦星大道', 'suffix_variant')]
    """
    key = normalise_road_name(name)
    stem, suffix = _split_suffix(key)
    out: list[tuple[str, str]] = [(key, "exact")]
    if not suffix or len(stem) < 2:
        return out
    out += [(stem + s, "suffix_variant") for s in _ROAD_SUFFIXES if s != suffix]
    stems: list[str] = []
    if len(stem) >= 3 and stem[-1] in _DIRECTIONS:
        stems.append(stem[:-1])
    stems += [stem + d for d in _DIRECTIONS if not stem.endswith(d)]
    for other in stems:
        out += [(other + s, "direction_variant") for s in (suffix, *_ROAD_SUFFIXES) if s]
    seen: set[str] = set()
    unique = []
    for variant, kind in out:
        if variant not in seen:
            seen.add(variant)
            unique.append((variant, kind))
    return unique


@dataclass(frozen=True)
class ParsedAddress:
    """The parts of one address; empty strings and None where a part is absent.

    Attributes
    ----------
    raw
        The input as given.
    text
        :func:`normalise_address` of the input.
    district
        The Shanghai district named in the text (``"闵行区"``, ``"徐汇区"``, ...), else ``""``.
    subdistrict
        The Minhang subdistrict named in the text (full name), else ``""``.
    road, road2
        The road, and the second road of an intersection.
    number, number_kind
        House number and ``"号"`` or ``"弄"`` (``None``, ``""`` when absent).
    place
        What is left when no road was recognised (a named place such as ``丁连村``), or the
        remark after a road (``小区58弄``).
    """

    raw: str
    text: str
    district: str = ""
    subdistrict: str = ""
    road: str = ""
    road2: str = ""
    number: int | None = None
    number_kind: str = ""
    place: str = ""

    @property
    def kind(self) -> str:
        """``"empty"``, ``"intersection"``, ``"numbered"``, ``"road"`` or ``"place"``."""
        if not self.text:
            return "empty"
        if self.road2:
            return "intersection"
        if self.road and self.number is not None:
            return "numbered"
        return "road" if self.road else "place"

    @property
    def outside_minhang(self) -> bool:
        """True when the text names a Shanghai district other than 闵行区."""
        return bool(self.district) and self.district != "闵行区"


def _strip_district(text: str) -> tuple[str, str]:
    for district in SHANGHAI_DISTRICTS:
        at = text.find(district)
        if at == 0 or (at > 0 and at <= 2):  # allow a leftover prefix such as "市"
            return district, text[at + len(district) :]
    if text.startswith("闵行") and not text.startswith("闵行区"):
        return "闵行区", text[len("闵行") :]
    return "", text


def _short_name(name: str) -> str:
    """``七宝镇`` → ``七宝``, ``古美街道`` → ``古美``, ``莘庄工业区`` → ``莘庄``."""
    for suffix in ("街道", "工业区", "镇"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def _first_token(raw: str) -> str | None:
    """The first space-separated word after any country, city and district words."""
    tokens = unicodedata.normalize("NFKC", raw).split()
    for token in tokens[:-1]:  # the last word is never followed by a space
        rest = _strip_district(normalise_address(token))[1]
        if rest:
            return rest
    return None


def _strip_subdistrict(text: str, raw: str, names: Sequence[str]) -> tuple[str, str]:
    for name in sorted(names, key=len, reverse=True):
        if text.startswith(name):
            return name, text[len(name) :]
    # short forms (七宝 for 七宝镇) only when set apart by a space: "七宝 漕宝路1234号"
    token = _first_token(raw)
    for name in names:
        short = _short_name(name)
        if token == short and text.startswith(short):
            return name, text[len(short) :]
    return "", text


def parse_address(
    text: object, *, subdistricts: Sequence[str] = MINHANG_SUBDISTRICTS
) -> ParsedAddress:
    """Split a Chinese address into district, subdistrict, road(s), number and named place.

    Recognised forms (after an optional ``上海市``, district and subdistrict): ``A路123号``,
    ``A路123弄`` (remarks after the number, such as ``111支弄``, are ignored), ``A路与B路交叉口``,
    ``A路和B路路口``, ``A路B路口``, ``A路/B路``, ``A路`` alone, and anything else as a named place
    (``丁连村``, ``古美一村``). Road suffixes: 公路, 大道, 大街, 路, 街, 巷.

    Parameters
    ----------
    text
        The address; ``None``/NaN count as empty.
    subdistricts
        Full names of the subdistricts to recognise (default: Minhang's 14 units); the short
        form without 镇/街道 is recognised when followed by a space.

    Returns
    -------
    ParsedAddress
        See its :attr:`ParsedAddress.kind`.
    """
    raw = "" if text is None or (isinstance(text, float) and math.isnan(text)) else str(text)
    norm = normalise_address(raw)
    district, rest = _strip_district(norm)
    subdistrict, rest = _strip_subdistrict(rest, raw, subdistricts)
    base = ParsedAddress(raw=raw, text=norm, district=district, subdistrict=subdistrict)
    if not rest:
        return base
    for pattern in _RE_INTERSECTIONS:
        m = pattern.match(rest)
        if m:
            return replace(base, road=m.group(1), road2=m.group(2), place=m.group(3))
    m = _RE_NUMBERED.match(rest)
    if m:
        number = int(m.group(2))
        return replace(
            base, road=m.group(1), number=number, number_kind=m.group(3), place=m.group(4)
        )
    m = _RE_ROAD.match(rest)
    if m:
        return replace(base, road=m.group(1), place=m.group(2))
    return replace(base, place=rest)
