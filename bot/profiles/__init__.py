"""Profiles: where a cleanup starts, as data (TOML). The built-in `dogcat` ships beside this file."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BUILTIN_FILE = Path(__file__).with_name("dogcat.toml")
KNOWN_RELATIONS = frozenset({"config", "model", "role", "bucket", "log-group"})


class ProfileError(ValueError):
    """A profile file that cannot be used; the message names the file and, when known, the line."""


@dataclass(frozen=True)
class Selector:
    names: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()

    def expand(self, region: str, account_id: str) -> Selector:
        def fill(text: str) -> str:
            return text.replace("{region}", region).replace("{account_id}", account_id)

        return Selector(tuple(fill(n) for n in self.names), tuple(fill(p) for p in self.prefixes))

    def matches(self, name: str) -> bool:
        # Exact names are exact: "PredictionHistoryArchive" is not "PredictionHistory".
        return name in self.names or any(name.startswith(p) for p in self.prefixes)

    def describe(self, name: str) -> str:
        if name in self.names:
            return "name matches the profile"
        prefix = next((p for p in self.prefixes if name.startswith(p)), "")
        return f"name starts with {prefix}"


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    find: dict[str, Selector]
    follow: dict[str, frozenset[str]] = field(default_factory=dict)
    source: str = ""
    # bucket name (placeholders allowed) -> key prefixes the workshop writes there, beyond those its resources name
    bucket_prefixes: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def follows(self, type_key: str, rel: str) -> bool:
        return rel in self.follow.get(type_key, frozenset())

    def prefixes_for_bucket(self, bucket: str, regions: list[str], account_id: str) -> set[str]:
        """The prefixes the profile names for `bucket` (names may mention {region} and {account_id})."""
        found: set[str] = set()
        for pattern, prefixes in self.bucket_prefixes.items():
            names = {pattern.replace("{region}", r).replace("{account_id}", account_id) for r in regions}
            if bucket in names:
                found.update(prefixes)
        return found


def load_profiles(path: str | Path | None = None, known_types: frozenset[str] | None = None) -> dict[str, Profile]:
    """The built-in profiles, plus (adding or overriding by name) those of the file at `path`."""
    profiles = _load_file(BUILTIN_FILE, known_types)
    if path:
        profiles.update(_load_file(Path(path), known_types))
    return profiles


def _load_file(path: Path, known_types: frozenset[str] | None) -> dict[str, Profile]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ProfileError(f"{path}: cannot read the profiles file ({e.strerror or e})") from e
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        # tomllib's message already says "(at line N, column M)"
        raise ProfileError(f"{path}: not valid TOML: {e}") from e
    if not data:
        raise ProfileError(f"{path}: no profiles defined (expected tables like [dogcat])")
    return {name: _profile(path, text, name, body, known_types) for name, body in data.items()}


def _line_of(text: str, needle: str) -> str:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return f", line {number}"
    return ""


def _profile(path: Path, text: str, name: str, body: Any, known_types: frozenset[str] | None) -> Profile:
    def fail(problem: str, near: str) -> ProfileError:
        return ProfileError(f"{path}{_line_of(text, near)}: profile {name!r}: {problem}")

    if not isinstance(body, dict):
        raise fail("must be a table like [name] with a find table", name)
    unknown_keys = set(body) - {"description", "find", "follow", "bucket-prefixes"}
    if unknown_keys:
        key = sorted(unknown_keys)[0]
        raise fail(f"unknown key {key!r} (expected description, find, follow, bucket-prefixes)", key)
    find_table = body.get("find")
    if not isinstance(find_table, dict) or not find_table:
        raise fail('needs a non-empty find table, e.g. [NAME.find."lambda.function"] names = [...]', name)
    find: dict[str, Selector] = {}
    for type_key, spec in find_table.items():
        if known_types is not None and type_key not in known_types:
            raise fail(f"unknown resource type {type_key!r}; known: {', '.join(sorted(known_types))}", type_key)
        if not isinstance(spec, dict) or set(spec) - {"names", "prefixes"}:
            raise fail(f"find.{type_key} takes only names = [...] and prefixes = [...]", type_key)
        names, prefixes = spec.get("names", []), spec.get("prefixes", [])
        for label, values in (("names", names), ("prefixes", prefixes)):
            if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
                raise fail(f"find.{type_key}.{label} must be a list of non-empty strings", type_key)
        if not names and not prefixes:
            raise fail(f"find.{type_key} needs names or prefixes", type_key)
        find[type_key] = Selector(tuple(names), tuple(prefixes))
    follow: dict[str, frozenset[str]] = {}
    follow_table = body.get("follow", {})
    if not isinstance(follow_table, dict):
        raise fail("follow must be a table of resource type = [relations]", "follow")
    for type_key, rels in follow_table.items():
        if known_types is not None and type_key not in known_types:
            raise fail(f"follow: unknown resource type {type_key!r}", type_key)
        if not isinstance(rels, list) or not all(isinstance(r, str) for r in rels):
            raise fail(f"follow.{type_key} must be a list of relations", type_key)
        bad = sorted(set(rels) - KNOWN_RELATIONS)
        if bad:
            raise fail(
                f"follow.{type_key}: unknown relation {bad[0]!r}; known: {', '.join(sorted(KNOWN_RELATIONS))}", bad[0]
            )
        follow[type_key] = frozenset(rels)
    bucket_prefixes: dict[str, tuple[str, ...]] = {}
    prefixes_table = body.get("bucket-prefixes", {})
    if not isinstance(prefixes_table, dict):
        raise fail('bucket-prefixes must be a table of "bucket name" = ["prefix/", ...]', "bucket-prefixes")
    for bucket, prefixes in prefixes_table.items():
        if not isinstance(prefixes, list) or not all(isinstance(p, str) and p.strip("/ ") for p in prefixes):
            raise fail(f'bucket-prefixes.{bucket} must be a list of non-empty key prefixes like "dogcat/"', bucket)
        bucket_prefixes[bucket] = tuple(prefixes)
    description = body.get("description", "")
    if not isinstance(description, str):
        raise fail("description must be a string", "description")
    return Profile(
        name=name,
        description=description,
        find=find,
        follow=follow,
        source=str(path),
        bucket_prefixes=bucket_prefixes,
    )
