"""Per-user conversation state: which flow, which step, answers so far.

It is plain data (JSON in the store), so a restart resumes where the user was.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

MAX_STACK = 50


@dataclass
class Conversation:
    flow: str | None = None
    step: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    stack: list[str] = field(default_factory=list)  # earlier steps, for 返回上一步
    # Long-lived per-user values that outlive a flow (e.g. the last question asked).
    memory: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> Conversation:
        if not isinstance(raw, dict):
            return cls()
        conv = cls()
        flow, step = raw.get("flow"), raw.get("step")
        conv.flow = flow if isinstance(flow, str) else None
        conv.step = step if isinstance(step, str) else None
        data, memory = raw.get("data"), raw.get("memory")
        conv.data = data if isinstance(data, dict) else {}
        stack = raw.get("stack")
        conv.stack = [s for s in stack if isinstance(s, str)] if isinstance(stack, list) else []
        conv.memory = memory if isinstance(memory, dict) else {}
        return conv

    def to_dict(self) -> dict[str, Any]:
        # Copies: the engine compares before/after snapshots of a turn, so a snapshot
        # must not share the dicts a flow mutates in place.
        return copy.deepcopy(
            {
                "flow": self.flow,
                "step": self.step,
                "data": self.data,
                "stack": self.stack,
                "memory": self.memory,
            }
        )

    @classmethod
    def from_json(cls, raw: str | None) -> Conversation:
        """The state stored as JSON (anything unreadable is a fresh start)."""
        if raw is None:
            return cls()
        try:
            value = json.loads(raw)
        except ValueError:
            return cls()
        return cls.from_dict(value)

    def to_json(self) -> str:
        """The state as stored. Also the engine's snapshot of a turn: a string shares
        nothing with the dicts a flow mutates, so no deep copies are needed, and two
        snapshots compare as cheaply as strings do."""
        return json.dumps(
            {
                "flow": self.flow,
                "step": self.step,
                "data": self.data,
                "stack": self.stack,
                "memory": self.memory,
            },
            ensure_ascii=False,
        )

    def copy(self) -> Conversation:
        return copy.deepcopy(self)

    def enter(self, flow: str, step: str | None = None, data: dict[str, Any] | None = None) -> None:
        self.flow, self.step, self.data, self.stack = flow, step, dict(data or {}), []

    def leave(self) -> None:
        self.flow, self.step, self.data, self.stack = None, None, {}, []

    def push(self, step: str) -> None:
        if self.step is not None and self.step != step:
            self.stack.append(self.step)
            del self.stack[:-MAX_STACK]
        self.step = step

    def pop(self) -> str | None:
        if not self.stack:
            return None
        self.step = self.stack.pop()
        return self.step
