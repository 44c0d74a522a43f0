"""Reading a device YAML into an ``AgentConfig``, with errors that name file and field."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from edge.config.agent import AgentConfig
from edge.config.common import BASE_DIR_CONTEXT


class ConfigError(ValueError):
    """A device YAML that cannot be used. Each problem reads ``file:field: reason``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _where(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def load_config(path: str | Path) -> AgentConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"{path}{line}: not valid YAML: {problem}"]) from None
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: expected a mapping of settings at the top level"])
    try:
        return AgentConfig.model_validate(
            data, context={BASE_DIR_CONTEXT: path.resolve().parent}
        )
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            reason = error["msg"].removeprefix("Value error, ")
            problems.append(f"{path}:{_where(error['loc'])}: {reason}")
        raise ConfigError(problems) from None
