"""A study file: parse and validate it completely before any compute.

A study file (TOML) names a *kind* (a module in `studies.kinds`) and its parameters:

    kind = "generation"          # studies/kinds/generation.py
    description = "..."
    seed = 0
    precision = "float64"        # or "float32" (the default: fast, GPU-friendly)
    [runtime]                    # measured run time per profile (shown by `statphys list`)
    small = "20 s on 2 CPU cores"
    [params]                     # the kind's PARAMS: name -> (type, default); unknown keys are errors
    beta = [1.0, 1.2]            # a list for a name in the kind's SWEEP: one chunk per combination
    [profiles.small]             # overrides of [params], chosen with --profile small
    n = 16
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import itertools
import pathlib
import tomllib
from typing import Any

TOP_KEYS = {"kind": str, "description": str, "seed": int, "precision": str, "params": dict, "profiles": dict,
            "runtime": dict}
PRECISIONS = ("float32", "float64")
PROFILES = ("default", "small", "full")
STUDIES_DIR = pathlib.Path(__file__).resolve().parent


class StudyError(ValueError):
    """A study file that cannot run; the message names the key and what is allowed."""


@dataclasses.dataclass(frozen=True)
class Study:
    name: str
    path: pathlib.Path
    kind: str
    description: str
    seed: int
    precision: str
    profile: str
    params: dict  # validated, with defaults filled and the profile applied
    module: Any
    runtimes: dict = dataclasses.field(default_factory=dict)  # profile -> measured run time, as text

    def expected_runtime(self) -> str:
        """The run time measured for this profile (the study file's [runtime] table), or ""."""
        return self.runtimes.get(self.profile, "")

    def runtimes_text(self) -> str:
        return ", ".join(f"{p}: {self.runtimes[p]}" for p in PROFILES if p in self.runtimes)

    def points(self) -> list[dict]:
        """One dict of parameters per chunk: the Cartesian product of the swept lists."""
        swept = [name for name in self.module.SWEEP if isinstance(self.params[name], list)]
        values = [self.params[name] for name in swept]
        return [{**self.params, **dict(zip(swept, combo))} for combo in itertools.product(*values)]

    @property
    def swept(self) -> list[str]:
        return [name for name in self.module.SWEEP if isinstance(self.params[name], list)]


def kind_names() -> list[str]:
    """The study kinds: modules in studies/kinds/ with DESCRIPTION, PARAMS, SWEEP, run, plot."""
    return sorted(file.stem for file in (STUDIES_DIR / "kinds").glob("*.py") if not file.stem.startswith("_"))


def kind_module(name: str) -> Any:
    """One study kind's module, imported on demand (the others are not: some import NetKet)."""
    return importlib.import_module(f"statphys.studies.kinds.{name}")


def resolve_path(study: str) -> pathlib.Path:
    """A study given as a path, or as a name of a file in the package's studies/ folder."""
    path = pathlib.Path(study)
    if path.suffix != ".toml":
        path = STUDIES_DIR / f"{study}.toml"
    if not path.exists():
        available = ", ".join(sorted(p.stem for p in STUDIES_DIR.glob("*.toml")))
        raise StudyError(f"no study file {study!r}; available studies: {available}")
    return path


def _type_name(kind: type) -> str:
    return {int: "an integer", float: "a number", str: "a string", bool: "true/false", list: "a list"}[kind]


def _check_value(where: str, name: str, value: Any, kind: type, sweepable: bool) -> Any:
    if sweepable and isinstance(value, list) and kind is not list:
        if not value:
            raise StudyError(f"{where}: {name} is an empty list; give one or more values")
        return [_check_value(where, name, v, kind, False) for v in value]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        hint = " (a list sweeps it)" if sweepable else ""
        raise StudyError(f"{where}: {name} must be {_type_name(kind)}{hint}, got {value!r} ({type(value).__name__})")
    return value


def load(study: str, profile: str = "default") -> Study:
    """Parse and validate a study file completely; raise StudyError before any compute."""
    path = resolve_path(study)
    try:
        config = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise StudyError(f"{path}: not valid TOML: {err}") from None
    for key in config:
        if key not in TOP_KEYS:
            raise StudyError(f"{path}: unknown top-level key {key!r}; allowed: {sorted(TOP_KEYS)}")
    for key, kind in TOP_KEYS.items():
        if key in config and not isinstance(config[key], kind):
            raise StudyError(f"{path}: {key} must be {_type_name(kind) if kind in (int, str) else 'a table'}")
    if "kind" not in config:
        raise StudyError(f"{path}: missing key 'kind'; allowed kinds: {kind_names()}")
    if config["kind"] not in kind_names():
        raise StudyError(f"{path}: unknown kind {config['kind']!r}; allowed kinds: {kind_names()}")
    module = kind_module(config["kind"])
    profiles = config.get("profiles", {})
    for name in profiles:
        if name not in PROFILES[1:]:
            raise StudyError(f"{path}: unknown profile [profiles.{name}]; allowed: {list(PROFILES[1:])}")
    for name, value in config.get("runtime", {}).items():
        if name not in PROFILES or not isinstance(value, str):
            raise StudyError(f"{path}: [runtime] maps a profile ({list(PROFILES)}) to a measured run time as text "
                             f"(e.g. small = \"20 s on 2 CPU cores\"), got {name} = {value!r}")
    if config.get("precision", "float32") not in PRECISIONS:
        raise StudyError(f"{path}: precision must be one of {list(PRECISIONS)}, got {config['precision']!r}")
    if profile not in PROFILES:
        raise StudyError(f"unknown profile {profile!r}; allowed: {list(PROFILES)}")
    params = {name: copy.deepcopy(default) for name, (_, default) in module.PARAMS.items()}
    tables = [("params", config.get("params", {}))]
    if profile != "default":
        tables.append((f"profiles.{profile}", profiles.get(profile, {})))
    for where, table in tables:
        for name, value in table.items():
            if name not in module.PARAMS:
                raise StudyError(
                    f"{path}: [{where}] has unknown key {name!r} for kind {config['kind']!r}; allowed: {sorted(module.PARAMS)}"
                )
            params[name] = _check_value(f"{path} [{where}]", name, value, module.PARAMS[name][0], name in module.SWEEP)
    validate = getattr(module, "validate", None)
    if validate is not None:
        try:
            validate(params)
        except ValueError as err:
            raise StudyError(f"{path}: {err}") from None
    return Study(
        path.stem, path, config["kind"], config.get("description", ""), config.get("seed", 0),
        config.get("precision", "float32"), profile, params, module, dict(config.get("runtime", {})),
    )
