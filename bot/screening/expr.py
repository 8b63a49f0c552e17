"""A small, safe expression language for eligibility rules.

Expressions are parsed with ``ast`` and only these nodes are allowed: names,
numbers, strings, true/false, comparisons (``in`` only against a list of
constants), + - * /, and/or/not, and the functions in FUNCTIONS. Nothing is
ever passed to ``eval``.

Evaluation is three-valued (Kleene): an unknown fact is ``None`` and makes
whatever depends on it unknown, except where the answer is decided anyway
(``False and x`` is False, ``True or x`` is True). Every value carries the set
of unknown facts it is waiting for, which is what the questionnaire asks next.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

MAX_SOURCE = 500
MAX_DEPTH = 30

# name -> (min args, max args)
FUNCTIONS: dict[str, tuple[int, int]] = {
    "min": (2, 6),
    "max": (2, 6),
    "abs": (1, 1),
    "round": (1, 2),
    "known": (1, 1),  # known(name): is this value known? never unknown itself
    "qualifies": (1, 1),  # qualifies("program-id"): likely True, unlikely False, possible unknown
}

_BIN: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_CMP: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}

EMPTY: frozenset[str] = frozenset()


class ExprError(ValueError):
    """An expression that is malformed or uses something not allowed."""


class EvalError(ValueError):
    """An expression that cannot be evaluated on these values (e.g. a type mismatch)."""


@dataclass(frozen=True)
class Expr:
    source: str
    tree: ast.Expression
    names: frozenset[str]
    programs: frozenset[str]


class Env(Protocol):
    def value(self, name: str) -> tuple[Any, frozenset[str]]: ...

    def qualifies(self, program: str) -> tuple[bool | None, frozenset[str]]: ...


def compile_expr(source: Any, names: set[str] | frozenset[str], programs: set[str]) -> Expr:
    """Parse and check an expression; raises ExprError with a plain message."""
    if isinstance(source, bool) or not isinstance(source, str | int | float):
        raise ExprError(f"expected an expression, got {type(source).__name__}")
    text = str(source).strip()
    if not text:
        raise ExprError("empty expression")
    if len(text) > MAX_SOURCE:
        raise ExprError(f"expression longer than {MAX_SOURCE} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"malformed expression {text!r}: {exc.msg}") from None
    used: set[str] = set()
    progs: set[str] = set()
    _check(tree.body, names, programs, used, progs, 0)
    return Expr(text, tree, frozenset(used), frozenset(progs))


def _check(node: ast.AST, names, programs, used: set[str], progs: set[str], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ExprError("expression nested too deeply")
    d = depth + 1
    if isinstance(node, ast.Constant):
        if node.value is None or not isinstance(node.value, bool | int | float | str):
            raise ExprError(f"constant {node.value!r} not allowed")
    elif isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            raise ExprError(f"{node.id} is a function: call it like {node.id}(...)")
        if node.id not in names:
            raise ExprError(f"unknown name {node.id!r}")
        used.add(node.id)
    elif isinstance(node, ast.BoolOp):
        for v in node.values:
            _check(v, names, programs, used, progs, d)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.Not | ast.USub | ast.UAdd):
            raise ExprError(f"operator {type(node.op).__name__} not allowed")
        _check(node.operand, names, programs, used, progs, d)
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BIN:
            raise ExprError(f"operator {type(node.op).__name__} not allowed (use + - * /)")
        _check(node.left, names, programs, used, progs, d)
        _check(node.right, names, programs, used, progs, d)
    elif isinstance(node, ast.Compare):
        _check(node.left, names, programs, used, progs, d)
        for op, right in zip(node.ops, node.comparators, strict=True):
            if type(op) not in _CMP:
                raise ExprError(f"comparison {type(op).__name__} not allowed")
            if isinstance(op, ast.In | ast.NotIn):
                if not isinstance(right, ast.Tuple | ast.List) or not all(
                    isinstance(e, ast.Constant) and isinstance(e.value, int | float | str)
                    for e in right.elts
                ):
                    raise ExprError("'in' needs a list of constants, like x in (1, 2)")
            else:
                _check(right, names, programs, used, progs, d)
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            what = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            raise ExprError(f"unknown function {what!r} (allowed: {', '.join(FUNCTIONS)})")
        fname = node.func.id
        if node.keywords:
            raise ExprError(f"{fname}(): keyword arguments not allowed")
        lo, hi = FUNCTIONS[fname]
        if not lo <= len(node.args) <= hi:
            raise ExprError(f"{fname}() takes {lo}–{hi} arguments, got {len(node.args)}")
        if fname == "known":
            arg = node.args[0]
            if not isinstance(arg, ast.Name) or arg.id not in names:
                raise ExprError("known() takes one known name")
            used.add(arg.id)
        elif fname == "qualifies":
            arg = node.args[0]
            if not isinstance(arg, ast.Constant) or not isinstance(arg.value, str):
                raise ExprError('qualifies() takes a program id in quotes, like qualifies("dibao")')
            if arg.value not in programs:
                raise ExprError(f"unknown program id {arg.value!r} in qualifies()")
            progs.add(arg.value)
        else:
            for a in node.args:
                if isinstance(a, ast.Starred):
                    raise ExprError("*args not allowed")
                _check(a, names, programs, used, progs, d)
    else:
        raise ExprError(f"{type(node).__name__} not allowed in a rule expression")


def evaluate(expr: Expr, env: Env) -> tuple[Any, frozenset[str]]:
    """(value, missing): value None means unknown, missing the facts that would settle it."""
    try:
        return _eval(expr.tree.body, env)
    except (TypeError, ZeroDivisionError, OverflowError) as exc:
        raise EvalError(f"{expr.source!r}: {type(exc).__name__}: {exc}") from None


_FUNCS: dict[str, Callable[..., Any]] = {"min": min, "max": max, "abs": abs, "round": round}


def _eval(node: ast.AST, env: Env) -> tuple[Any, frozenset[str]]:
    if isinstance(node, ast.Constant):
        return node.value, EMPTY
    if isinstance(node, ast.Name):
        return env.value(node.id)
    if isinstance(node, ast.BoolOp):
        decisive = isinstance(node.op, ast.Or)  # True decides an 'or', False an 'and'
        missing: set[str] = set()
        unknown = False
        for child in node.values:
            v, m = _eval(child, env)
            if v is None:
                unknown = True
                missing |= m
            elif bool(v) is decisive:
                return decisive, EMPTY
        if unknown:
            return None, frozenset(missing)
        return (not decisive), EMPTY
    if isinstance(node, ast.UnaryOp):
        v, m = _eval(node.operand, env)
        if v is None:
            return None, m
        if isinstance(node.op, ast.Not):
            return (not v), EMPTY
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise TypeError(f"bad operand for unary minus: {v!r}")
        return (-v if isinstance(node.op, ast.USub) else v), EMPTY
    if isinstance(node, ast.BinOp):
        a, ma = _eval(node.left, env)
        b, mb = _eval(node.right, env)
        if a is None or b is None:
            return None, ma | mb
        for x in (a, b):
            if isinstance(x, bool) or not isinstance(x, int | float):
                raise TypeError(f"arithmetic on a non-number: {x!r}")
        return _BIN[type(node.op)](a, b), EMPTY
    if isinstance(node, ast.Compare):
        left, missing_l = _eval(node.left, env)
        result: bool | None = True
        missing = set(missing_l)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.In | ast.NotIn):
                right = tuple(e.value for e in right_node.elts)  # type: ignore[attr-defined]
                mr: frozenset[str] = EMPTY
            else:
                right, mr = _eval(right_node, env)
            if left is None or right is None:
                result = None if result is not False else False
                missing |= mr
            elif result is not False:
                if not isinstance(op, ast.In | ast.NotIn | ast.Eq | ast.NotEq) and (
                    isinstance(left, str) != isinstance(right, str)
                ):
                    raise TypeError(f"cannot compare {left!r} with {right!r}")
                if not _CMP[type(op)](left, right):
                    result = False
            left = right
        if result is False:
            return False, EMPTY
        if result is None:
            return None, frozenset(missing)
        return True, EMPTY
    if isinstance(node, ast.Call):
        fname = node.func.id  # type: ignore[attr-defined]
        if fname == "known":
            v, _m = env.value(node.args[0].id)  # type: ignore[attr-defined]
            return v is not None, EMPTY
        if fname == "qualifies":
            return env.qualifies(node.args[0].value)  # type: ignore[attr-defined]
        vals, missing = [], set()
        for a in node.args:
            v, m = _eval(a, env)
            vals.append(v)
            missing |= m
        if any(v is None for v in vals):
            return None, frozenset(missing)
        for v in vals:
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise TypeError(f"{fname}() on a non-number: {v!r}")
        if fname == "round" and len(vals) == 2:
            vals[1] = int(vals[1])
        return _FUNCS[fname](*vals), EMPTY
    raise TypeError(f"unexpected node {type(node).__name__}")  # compile_expr prevents this
