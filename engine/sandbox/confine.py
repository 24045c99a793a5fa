"""Confine a sandbox process with what the operating system offers, and report what is active.

Called once in the child before it reads any code. Each step is tried; what the kernel or
the container refuses is reported, never silently assumed (see `protections()` in pool.py).
Order matters: namespaces and the user change need privileges the later steps take away.
"""
from __future__ import annotations

import ctypes
import errno
import os
import platform
import resource
import struct

NOBODY = 65534
_CLONE_NEWUSER, _CLONE_NEWNET = 0x10000000, 0x40000000
_PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _PR_SET_DUMPABLE = 38, 22, 4
_SECCOMP_MODE_FILTER = 2
_AUDIT_ARCH_X86_64 = 0xC000003E
_SECCOMP_RET_KILL_PROCESS, _SECCOMP_RET_ERRNO, _SECCOMP_RET_ALLOW = 0x80000000, 0x00050000, 0x7FFF0000

# The system calls a sandbox process needs once it runs: pipe I/O, memory, signals, clocks, exit.
# Everything else (open, socket, fork/clone, execve, kill, ptrace, process_vm_*, ioctl, ...) fails with EPERM.
_ALLOWED_X86_64 = {
    "read": 0, "write": 1, "close": 3, "fstat": 5, "lseek": 8, "mmap": 9, "mprotect": 10, "munmap": 11,
    "brk": 12, "rt_sigaction": 13, "rt_sigprocmask": 14, "rt_sigreturn": 15, "pread64": 17, "readv": 19,
    "writev": 20, "sched_yield": 24, "mremap": 25, "madvise": 28, "getpid": 39, "exit": 60,
    "gettimeofday": 96, "getrusage": 98, "times": 100, "getuid": 102, "getgid": 104, "geteuid": 107,
    "getegid": 108, "getppid": 110, "sigaltstack": 131, "gettid": 186, "time": 201, "futex": 202, "restart_syscall": 219,
    "clock_gettime": 228, "clock_getres": 229, "clock_nanosleep": 230, "exit_group": 231, "newfstatat": 262,
    "getrandom": 318,
}


def confine(memory_bytes: int, cpu_seconds: int, keep_fds: tuple[int, ...]) -> dict:
    """Apply every limit this machine allows to the current process; return what is active."""
    active = {"namespaces": _unshare()}
    active["user"] = _drop_root(active["namespaces"])
    active["rlimits"] = _limit(memory_bytes, cpu_seconds, keep_fds)
    active["no_new_privs"] = _prctl(_PR_SET_NO_NEW_PRIVS, 1) == 0
    _prctl(_PR_SET_DUMPABLE, 0)   # no core files, and no ptrace by same-user processes
    active["seccomp"] = _seccomp() if active["no_new_privs"] else "off: no_new_privs refused"
    return active


_libc = ctypes.CDLL(None, use_errno=True)


def _prctl(option, value):
    return _libc.prctl(ctypes.c_int(option), ctypes.c_ulong(value), ctypes.c_ulong(0), ctypes.c_ulong(0),
                       ctypes.c_ulong(0))


def _unshare() -> list[str]:
    """A network namespace of its own (no interfaces): as root directly, else inside a user namespace."""
    if _libc.unshare(ctypes.c_int(_CLONE_NEWNET)) == 0:
        return ["net"]
    if _libc.unshare(ctypes.c_int(_CLONE_NEWUSER | _CLONE_NEWNET)) == 0:
        return ["user", "net"]
    return []


def _drop_root(namespaces) -> str:
    if os.geteuid() != 0 or "user" in namespaces:
        return f"uid {os.geteuid()}"
    try:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
    except OSError as error:
        return f"root (dropping to nobody failed: {error.strerror})"
    return f"nobody (uid {NOBODY})"


def _limit(memory_bytes, cpu_seconds, keep_fds) -> dict:
    for descriptor in range(3, max(keep_fds, default=2) + 1):
        if descriptor not in keep_fds:
            try:
                os.close(descriptor)
            except OSError:
                pass
    limits = {
        "RLIMIT_AS": memory_bytes, "RLIMIT_CPU": cpu_seconds, "RLIMIT_NOFILE": max((2, *keep_fds)) + 1,
        "RLIMIT_NPROC": 0, "RLIMIT_FSIZE": 0, "RLIMIT_CORE": 0,
    }
    applied = {}
    for name, value in limits.items():
        hard = value + 1 if name == "RLIMIT_CPU" else value   # SIGXCPU first, SIGKILL a second later
        try:
            resource.setrlimit(getattr(resource, name), (value, hard))
            applied[name] = value
        except (OSError, ValueError) as error:
            applied[name] = f"refused: {error}"
    return applied


def _seccomp() -> str:
    if platform.machine() != "x86_64":
        return f"off: no system call list for {platform.machine()}"
    program = _filter(sorted(_ALLOWED_X86_64.values()))
    instructions = ctypes.create_string_buffer(program)
    fprog = struct.pack("HxxxxxxP", len(program) // 8, ctypes.addressof(instructions))
    buffer = ctypes.create_string_buffer(fprog)
    if _libc.prctl(ctypes.c_int(_PR_SET_SECCOMP), ctypes.c_ulong(_SECCOMP_MODE_FILTER),
                   ctypes.c_void_p(ctypes.addressof(buffer)), ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
        return f"off: {errno.errorcode.get(ctypes.get_errno(), ctypes.get_errno())}"
    return f"on: {len(_ALLOWED_X86_64)} system calls allowed, others fail with EPERM"


def _filter(allowed: list[int]) -> bytes:
    """A classic BPF program: wrong architecture or x32 calls kill; listed calls pass; the rest get EPERM."""
    ld_w_abs, jeq_k, jge_k, ret_k = 0x20, 0x15, 0x35, 0x06

    def op(code, k, jt=0, jf=0):
        return struct.pack("HBBI", code, jt, jf, k)

    program = [
        op(ld_w_abs, 4),                                   # seccomp_data.arch
        op(jeq_k, _AUDIT_ARCH_X86_64, 1, 0),
        op(ret_k, _SECCOMP_RET_KILL_PROCESS),
        op(ld_w_abs, 0),                                   # seccomp_data.nr
        op(jge_k, 0x40000000, 0, 1),                       # the x32 ABI
        op(ret_k, _SECCOMP_RET_KILL_PROCESS),
    ]
    count = len(allowed)
    for index, number in enumerate(allowed):
        program.append(op(jeq_k, number, count - index, 0))   # jump to the ALLOW at the end
    program.append(op(ret_k, _SECCOMP_RET_ERRNO | errno.EPERM))
    program.append(op(ret_k, _SECCOMP_RET_ALLOW))
    return b"".join(program)
