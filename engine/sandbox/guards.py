"""Rewrite checked code so that everything that can allocate or walk without bound is guarded."""
from __future__ import annotations

import ast

from engine.sandbox.formatting import _fjoin, _format
from engine.sandbox.operators import _add, _iadd, _imul, _lshift, _mod, _mul, _pow
from engine.sandbox.rules import _getattr
from engine.sandbox.safe_builtins import SAFE_BUILTINS, _hashed
from engine.sandbox.sizes import _alive, _check_tuple, _compared, _limited, _searched


_BINARY_GUARDS = {ast.Add: "_sb_add", ast.Mult: "_sb_mul", ast.Pow: "_sb_pow", ast.LShift: "_sb_lshift",
                  ast.Mod: "_sb_mod"}
_INPLACE_GUARDS = {**_BINARY_GUARDS, ast.Add: "_sb_iadd", ast.Mult: "_sb_imul"}


class _Guard(ast.NodeTransformer):
    """Route the operations that can allocate or walk without bound through checking helpers."""

    def __init__(self):
        self.temporaries = 0

    def visit_BinOp(self, node):
        self.generic_visit(node)
        guard = _BINARY_GUARDS.get(type(node.op))
        if guard is None or (guard == "_sb_add" and (_is_number(node.left) or _is_number(node.right))):
            return node
        return _call(guard, [node.left, node.right], node)

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        guard = _INPLACE_GUARDS.get(type(node.op))
        if guard is None:
            return node
        target = node.target
        if isinstance(target, ast.Name):
            value = _call(guard, [ast.Name(target.id, ast.Load()), node.value], node)
            return ast.copy_location(ast.Assign([target], value), node)
        # `container[key] op= value`: evaluate container and key once, as Python does
        container, key = self._temporary(), self._temporary()
        current = ast.Subscript(ast.Name(container, ast.Load()), ast.Name(key, ast.Load()), ast.Load())
        statements = [
            ast.Assign([ast.Name(container, ast.Store())], target.value),
            ast.Assign([ast.Name(key, ast.Store())], target.slice),
            ast.Assign([ast.Subscript(ast.Name(container, ast.Load()), ast.Name(key, ast.Load()), ast.Store())],
                       _call(guard, [current, node.value], node)),
        ]
        return [ast.copy_location(statement, node) for statement in statements]

    def visit_Assign(self, node):
        self.generic_visit(node)
        if any(isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Slice) for target in node.targets):
            node.value = _call("_sb_limited", [node.value], node)   # `x[len(x):] = x` doubles x in C
        return node

    def visit_Compare(self, node):
        self.generic_visit(node)
        operands = [node.left, *node.comparators]
        for index, operand in enumerate(operands):
            before = node.ops[index - 1] if index else None
            after = node.ops[index] if index < len(node.ops) else None
            if _is_constant(operand):
                continue
            if isinstance(before, _ORDERING) or isinstance(after, _ORDERING):
                operands[index] = _call("_sb_compared", [operand], operand)
            elif isinstance(before, (ast.In, ast.NotIn)):
                operands[index] = _call("_sb_searched", [operand], operand)
        node.left, *node.comparators = operands
        return node

    def visit_Tuple(self, node):
        self.generic_visit(node)
        if isinstance(node.ctx, ast.Load) and not all(isinstance(item, ast.Constant) for item in node.elts) \
                and not any(isinstance(item, ast.Slice) for item in node.elts):
            return _call("_sb_tuple", [node], node)
        return node

    def visit_Starred(self, node):
        self.generic_visit(node)
        if isinstance(node.ctx, ast.Load):
            node.value = _call("_sb_limited", [node.value], node)
        return node

    def visit_Set(self, node):
        self.generic_visit(node)
        node.elts = [ast.copy_location(ast.Starred(_call("_sb_hashed", [item.value], item), ast.Load()), item)
                     if isinstance(item, ast.Starred) else item for item in node.elts]
        return node

    def visit_Attribute(self, node):
        self.generic_visit(node)
        return _call("_sb_getattr", [node.value, ast.Constant(node.attr)], node)

    def visit_JoinedStr(self, node):
        self.generic_visit(node)
        parts = []
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                spec = part.format_spec or ast.Constant("")
                part = _call("_sb_format", [part.value, ast.Constant(part.conversion), spec], part)
            parts.append(part)
        return _call("_sb_fjoin", parts, node)

    def visit_While(self, node):
        self.generic_visit(node)
        node.body.insert(0, _line_marker(node))
        return node

    visit_For = visit_While

    def visit_ExceptHandler(self, node):
        self.generic_visit(node)
        node.body.insert(0, _alive_check(node))
        return node

    def visit_Try(self, node):
        self.generic_visit(node)
        if node.finalbody:
            node.finalbody.insert(0, _alive_check(node))
        return node

    def _temporary(self):
        self.temporaries += 1
        return f"_sb_t{self.temporaries}"


def _call(helper, arguments, like):
    return ast.copy_location(ast.Call(ast.Name(helper, ast.Load()), arguments, []), like)


def _alive_check(like):
    return ast.copy_location(ast.Expr(_call("_sb_alive", [], like)), like)


def _line_marker(loop):
    """A statement that gives each loop pass a line event: `while True: pass` has none in 3.11."""
    return ast.copy_location(ast.Expr(ast.Name("_sb_alive", ast.Load())), loop)


def _is_number(node):
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


_ORDERING = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE)


def _is_constant(node):
    return isinstance(node, ast.Constant) or (isinstance(node, (ast.Tuple, ast.List, ast.Set))
                                              and all(isinstance(item, ast.Constant) for item in node.elts))


_HELPERS = {
    "_sb_add": _add, "_sb_iadd": _iadd, "_sb_mul": _mul, "_sb_imul": _imul, "_sb_pow": _pow,
    "_sb_lshift": _lshift, "_sb_mod": _mod, "_sb_compared": _compared, "_sb_searched": _searched,
    "_sb_tuple": _check_tuple, "_sb_limited": _limited, "_sb_getattr": _getattr, "_sb_format": _format,
    "_sb_fjoin": _fjoin, "_sb_alive": _alive, "_sb_hashed": _hashed, "__builtins__": SAFE_BUILTINS,
}
