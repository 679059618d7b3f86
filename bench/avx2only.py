"""Run a command as on an AVX2-only CPU, on a machine with AVX-512: the figures and the kernels of
an AVX2 machine (a laptop, a Space host, an AMD EPYC Milan) measured where there is none.

    python bench/avx2only.py [--report] -- bash scripts/test.sh        # the suite on AVX2 kernels
    python bench/avx2only.py -- python bench/classroom.py --learners 1 16
    python bench/avx2only.py                                            # what the mask changes

Two things hide AVX-512 from the command and every program it starts:
- CPUID: avx2only.c, built here with the C compiler and loaded with LD_PRELOAD, makes CPUID trap
  (Linux's CPUID faulting, `cpuid_fault` in the flags) and answers it with AVX-512, AVX-VNNI,
  AVX512-BF16 and AMX cleared. ONNX Runtime (MLAS), oneDNN and PyTorch choose kernels from it;
  glibc, which reads CPUID before any library loads, is told the same through GLIBC_TUNABLES.
- /proc/cpuinfo: the command runs in its own mount namespace (root, `unshare --mount`) where the
  file is a copy without those flags, so what reads the flags (qwenlab.system.cpu_bf16,
  bench/classroom.py's CPU line) sees the same CPU.
It is the same silicon otherwise: caches, clock and core are this machine's, so a figure taken
this way says what AVX2 kernels cost here, not what an AVX2 machine of another make measures.
A sandboxed Chromium is left unmasked (its seccomp filter forbids the trap's handler); the tests
run it with --no-sandbox, and then it is masked too.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from qwenlab.system import cpu_flags  # noqa: E402

SOURCE = HERE / "avx2only.c"
HIDDEN = re.compile(r" (?:avx512[a-z0-9_]*|amx_[a-z0-9]+|avx_vnni[a-z0-9_]*|avx_ifma|avx10[a-z0-9_]*)"
                    r"(?= |$)", re.MULTILINE)
GLIBC = ("glibc.cpu.hwcaps=-AVX512F,-AVX512CD,-AVX512BW,-AVX512DQ,-AVX512VL,-AVX512_VNNI,"
         "-AVX512_BF16,-AVX_VNNI,-AMX_BF16,-AMX_TILE,-AMX_INT8")


def library() -> Path:
    """avx2only.c, compiled once per version of its source."""
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:12]
    built = cache_dir() / f"avx2only-{digest}.so"
    if not built.exists():
        compiler = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
        if not compiler:
            sys.exit("avx2only: no C compiler (cc or gcc) to build avx2only.c")
        partial = built.with_suffix(f".{os.getpid()}.so")
        subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-o", str(partial), str(SOURCE),
                        "-ldl"], check=True)
        partial.replace(built)
    return built


def cache_dir() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "qwenlab"
    cache.mkdir(parents=True, exist_ok=True)
    return cache


def masked_cpuinfo() -> Path:
    """A copy of /proc/cpuinfo without the hidden flags, in place of the last one."""
    copy = cache_dir() / "cpuinfo-avx2"
    partial = copy.with_suffix(f".{os.getpid()}")
    partial.write_text(HIDDEN.sub("", Path("/proc/cpuinfo").read_text()))
    partial.replace(copy)
    return copy


def wrapped(command: list[str], report: bool) -> tuple[list[str], dict]:
    """The command line and environment that run `command` with AVX-512 hidden."""
    missing = {"avx2", "cpuid_fault"} - cpu_flags()
    if missing:
        sys.exit(f"avx2only: this CPU lacks {', '.join(sorted(missing))}, so it cannot be masked")
    env = dict(os.environ)
    env["LD_PRELOAD"] = " ".join(filter(None, [str(library()), env.get("LD_PRELOAD", "")]))
    env["GLIBC_TUNABLES"] = ":".join(filter(None, [env.get("GLIBC_TUNABLES", ""), GLIBC]))
    if report:
        env["QWENLAB_AVX2ONLY_REPORT"] = "1"
    if os.geteuid() != 0 or not shutil.which("unshare"):
        print("avx2only: not root, so /proc/cpuinfo still lists AVX-512 (CPUID is masked)",
              file=sys.stderr)
        return command, env
    copy = masked_cpuinfo()
    script = 'mount --bind "$0" /proc/cpuinfo && exec "$@"'
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, str(copy),
            *command], env


PROBE = """
import json, torch
from qwenlab.system import cpu_flags
print(json.dumps({'torch': torch.backends.cpu.get_cpu_capability(),
                  'flags': sum(f.startswith(('avx512', 'amx')) for f in cpu_flags())}))
"""


def check() -> None:
    """A table of what a program sees, unmasked and masked."""
    import json

    seen = {}
    for name, (command, env) in {"this machine": ([sys.executable, "-c", PROBE], os.environ),
                                 "masked": wrapped([sys.executable, "-c", PROBE], False)}.items():
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=True,
                              cwd=HERE.parent)
        seen[name] = json.loads(done.stdout.strip().splitlines()[-1])
    print("| seen by the program | this machine | masked |\n|---|---|---|")
    print(f"| PyTorch's CPU capability (kernels chosen from CPUID) | "
          f"{seen['this machine']['torch']} | {seen['masked']['torch']} |")
    print(f"| AVX-512 and AMX flags in /proc/cpuinfo | {seen['this machine']['flags']} | "
          f"{seen['masked']['flags']} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", action="store_true",
                        help="print how many CPUID instructions each process had answered")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        check()
        return
    line, env = wrapped(command, args.report)
    os.execvpe(line[0], line, env)


if __name__ == "__main__":
    main()
