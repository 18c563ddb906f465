"""Reads Python source with ``ast`` and reports what would break on Windows (or only works on POSIX).

Flags: POSIX-only modules (``fcntl``, ``termios``, ``pwd``, ``resource``, ...), POSIX-only ``os``
calls (``fork``, ``setsid``, ``killpg``, ``getuid``, ...), signals other than SIGINT/SIGTERM,
``select.poll``/``epoll``, asyncio's ``add_signal_handler``, the ``fork`` start method, hard-coded
POSIX paths (``/tmp``, ``/proc``, ``/dev/``, ...), ``$HOME``, and text files opened without an
explicit ``encoding=`` (Windows' default is the ANSI code page, not UTF-8).

Code under an ``if`` that tests the platform (``sys.platform``, ``os.name``, ``platform.system()``,
``hasattr``/``getattr``) or in a ``try`` that catches ImportError/AttributeError is not flagged:
it has chosen its platform.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

POSIX_MODULES = {
    "fcntl", "termios", "tty", "pty", "pwd", "grp", "resource", "posix", "syslog", "crypt", "spwd", "nis", "readline",
}  # fmt: skip
POSIX_OS = {
    "fork", "forkpty", "openpty", "setsid", "setpgrp", "setpgid", "getpgid", "killpg", "getuid", "geteuid", "getgid",
    "getegid", "setuid", "setgid", "nice", "uname", "getloadavg", "sched_getaffinity", "sched_setaffinity", "mkfifo",
    "chown", "lchown", "sysconf", "pipe2", "wait3", "wait4", "WNOHANG", "statvfs", "register_at_fork",
    "getpriority", "setpriority", "sync",
}  # fmt: skip
PORTABLE_SIGNAL = {
    "SIGINT", "SIGTERM", "SIG_DFL", "SIG_IGN", "signal", "getsignal", "Signals", "Handlers", "default_int_handler",
    "raise_signal", "strsignal", "valid_signals", "set_wakeup_fd",
}  # fmt: skip
POSIX_SELECT = {"poll", "epoll", "kqueue", "devpoll"}
POSIX_SOCKET = {"SO_REUSEPORT", "AF_UNIX"}
POSIX_PATHS = ("/tmp", "/proc", "/sys/", "/dev/", "/etc/", "/usr/", "/var/", "/home/", "/run/")
GUARD_NAMES = ("sys.platform", "os.name", "platform.system", "hasattr(", "getattr(")
GUARD_ERRORS = {"ImportError", "ModuleNotFoundError", "AttributeError"}
MODE_CHARS = set("rwxabt+U")


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def _mode_is_text(node: ast.expr | None, default: str) -> bool | None:
    """True/False for a constant mode (or a choice of constants), None when it cannot be told."""
    if node is None:
        return "b" not in default
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return "b" not in node.value
    if isinstance(node, ast.IfExp):
        both = (_mode_is_text(node.body, default), _mode_is_text(node.orelse, default))
        return None if None in both else any(both)
    return None


def _looks_like_mode(node: ast.expr) -> bool:
    if isinstance(node, ast.IfExp):
        return _looks_like_mode(node.body) and _looks_like_mode(node.orelse)
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and set(node.value) <= MODE_CHARS


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _has_kwargs(call: ast.Call) -> bool:
    return any(k.arg is None for k in call.keywords)  # **options may carry encoding=


class _Scanner(ast.NodeVisitor):
    def __init__(self, path: str) -> None:
        self.path = path
        self.findings: list[Finding] = []
        self.guarded = 0
        self.modules: dict[str, str] = {}  # local name -> module (import os as _os)
        self.names: dict[str, tuple[str, str]] = {}  # local name -> (module, attribute) for from-imports
        self.docstrings: set[int] = set()

    def flag(self, node: ast.AST, what: str) -> None:
        if not self.guarded:
            self.findings.append(Finding(self.path, getattr(node, "lineno", 0), what))

    # --- guards -------------------------------------------------------------------------
    def visit_If(self, node: ast.If) -> None:
        self._maybe_guarded(node, ast.unparse(node.test))

    def visit_IfExp(self, node: ast.IfExp) -> None:
        self._maybe_guarded(node, ast.unparse(node.test))

    def _maybe_guarded(self, node: ast.AST, test: str) -> None:
        guard = any(name in test for name in GUARD_NAMES)
        self.guarded += guard
        self.generic_visit(node)
        self.guarded -= guard

    def visit_Try(self, node: ast.Try) -> None:
        caught = {ast.unparse(h.type) for h in node.handlers if h.type is not None}
        caught = {name.strip("()") for text in caught for name in text.split(", ")}
        guard = bool(caught & GUARD_ERRORS)
        self.guarded += guard
        for statement in node.body:
            self.visit(statement)
        self.guarded -= guard
        for part in (*node.handlers, *node.orelse, *node.finalbody):
            self.visit(part)

    # --- imports ------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            top = alias.name.split(".")[0]
            if top in POSIX_MODULES:
                self.flag(node, f"import {alias.name}: a POSIX-only module")
            self.modules[alias.asname or top] = alias.name if alias.asname else top

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if module.split(".")[0] in POSIX_MODULES:
            self.flag(node, f"from {module} import ...: a POSIX-only module")
        for alias in node.names:
            self.names[alias.asname or alias.name] = (module, alias.name)
            self._attribute(node, module, alias.name)

    # --- attributes and names -----------------------------------------------------------
    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.value, ast.Name) and node.value.id in self.modules:
            self._attribute(node, self.modules[node.value.id], node.attr)
        self.generic_visit(node)

    def _attribute(self, node: ast.AST, module: str, attr: str) -> None:
        if module == "os" and attr in POSIX_OS:
            self.flag(node, f"os.{attr}: not on Windows")
        elif module == "signal" and attr not in PORTABLE_SIGNAL:
            self.flag(node, f"signal.{attr}: Windows has only SIGINT/SIGTERM (and SIGBREAK)")
        elif module == "select" and attr in POSIX_SELECT:
            self.flag(node, f"select.{attr}: not on Windows")
        elif module == "socket" and attr in POSIX_SOCKET:
            self.flag(node, f"socket.{attr}: not on Windows")

    # --- constants ----------------------------------------------------------------------
    def visit_Expr(self, node: ast.Expr) -> None:
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            self.docstrings.add(id(node.value))
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if id(node) in self.docstrings or not isinstance(node.value, str):
            return
        if node.value.startswith(POSIX_PATHS):
            self.flag(node, f"hard-coded POSIX path {node.value!r}: use tempfile, pathlib or os.devnull")
        elif node.value == "HOME":
            self.flag(node, "$HOME: not set on Windows; use pathlib.Path.home()")

    # --- calls --------------------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        self._call(node)
        self.generic_visit(node)

    def _callee(self, node: ast.Call) -> tuple[str, str]:
        """(module or '' for a method/builtin, name)."""
        func = node.func
        if isinstance(func, ast.Name):
            module, name = self.names.get(func.id, ("", func.id))
            return module, name
        if isinstance(func, ast.Attribute):
            if isinstance(func.value, ast.Name) and func.value.id in self.modules:
                return self.modules[func.value.id], func.attr
            return "", "." + func.attr
        return "", ""

    def _call(self, node: ast.Call) -> None:
        module, name = self._callee(node)
        encoding = _keyword(node, "encoding") is not None or _has_kwargs(node)
        args = node.args
        if (module, name) in (("", "open"), ("io", "open"), ("codecs", "open")):
            self._open(node, args[1] if len(args) > 1 else _keyword(node, "mode"), encoding or len(args) > 3)
        elif (module, name) == ("os", "fdopen"):
            self._open(node, args[1] if len(args) > 1 else _keyword(node, "mode"), encoding or len(args) > 3)
        elif (module, name) == ("", ".open"):  # pathlib.Path.open(mode, buffering, encoding)
            mode = args[0] if args else _keyword(node, "mode")
            if mode is None or _looks_like_mode(mode):
                self._open(node, mode, encoding or len(args) > 2)
        elif name in (".read_text", ".write_text"):
            positional_encoding = len(args) > (0 if name == ".read_text" else 1)
            if not (encoding or positional_encoding):
                self.flag(node, f"{name[1:]}() without encoding=: Windows would use its ANSI code page")
        elif module == "tempfile" and name in ("NamedTemporaryFile", "TemporaryFile", "SpooledTemporaryFile"):
            mode = args[0] if args else _keyword(node, "mode")
            if _mode_is_text(mode, "w+b") is not False and not encoding:
                self.flag(node, f"tempfile.{name} in text mode without encoding=")
        elif module == "subprocess" and name in ("run", "Popen", "check_output", "call", "check_call"):
            texty = [_keyword(node, k) for k in ("text", "universal_newlines")]
            if any(isinstance(v, ast.Constant) and v.value for v in texty) and not encoding:
                self.flag(node, f"subprocess.{name}(text=True) without encoding=")
        elif name == ".add_signal_handler":
            self.flag(node, "add_signal_handler: asyncio on Windows has none")
        elif name in (".get_context", ".set_start_method", "get_context", "set_start_method"):
            if args and isinstance(args[0], ast.Constant) and args[0].value in ("fork", "forkserver"):
                self.flag(node, f"multiprocessing start method {args[0].value!r}: Windows can only spawn")

    def _open(self, node: ast.Call, mode: ast.expr | None, has_encoding: bool) -> None:
        text = _mode_is_text(mode, "r")
        if text is not False and not has_encoding:
            how = "a text file" if text else "a file whose mode cannot be read here"
            self.flag(node, f"open() of {how} without encoding=: Windows would use its ANSI code page")


def scan_source(source: str, path: str = "<source>") -> list[Finding]:
    scanner = _Scanner(path)
    scanner.visit(ast.parse(source, filename=path))
    return scanner.findings


def scan_tree(root: Path) -> Iterator[Finding]:
    for path in sorted(root.rglob("*.py")):
        yield from scan_source(path.read_text(encoding="utf-8"), str(path.relative_to(root.parent)))
