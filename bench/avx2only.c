/* An AVX2-only CPU on an AVX-512 machine, for measuring what AVX2 machines run.
 *
 * Loaded with LD_PRELOAD (bench/avx2only.py builds and runs it), it turns on Linux's CPUID
 * faulting for the process (arch_prctl ARCH_SET_CPUID, 0; the CPU must list `cpuid_fault`), so
 * that every CPUID instruction traps. The SIGSEGV handler runs the real CPUID and clears what an
 * AVX2-only x86-64 (an AMD EPYC Milan, say) lacks: AVX-512 of every kind, AVX-VNNI, AVX512-BF16,
 * AMX, and their register state in leaf 0xD. ONNX Runtime's MLAS, oneDNN and PyTorch's cpuinfo
 * choose their kernels from CPUID, so they pick their AVX2 ones, as on such a machine. XGETBV is
 * not masked; libraries that read it also require the CPUID bit first.
 *
 * The setting is per thread, inherited by threads and fork, and reset by exec; LD_PRELOAD sets it
 * again in each program started from here. A sandboxed Chromium is left alone (its seccomp filter
 * forbids the syscall the handler makes); one run with --no-sandbox, as the tests run it, is not. Others' SIGSEGV handlers (Python's faulthandler) still run for
 * every other fault: sigaction and signal are wrapped so that they chain behind this one.
 * QWENLAB_AVX2ONLY_REPORT=1 prints, at exit, how many CPUID instructions were answered. */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <cpuid.h>
#include <dlfcn.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);

static sigaction_fn real_sigaction;
static struct sigaction chained; /* what the program asked for, run for every other fault */
static volatile unsigned long answered;
static int active;

static long set_cpuid(int enabled) { return syscall(SYS_arch_prctl, ARCH_SET_CPUID, enabled); }

static void mask(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d) {
    if (leaf == 7 && sub == 0) {
        /* EBX: AVX512 F, DQ, IFMA, PF, ER, CD, BW, VL */
        *b &= ~((1u << 16) | (1u << 17) | (1u << 21) | (1u << 26) | (1u << 27) | (1u << 28) |
                (1u << 30) | (1u << 31));
        /* ECX: AVX512 VBMI, VBMI2, VNNI, BITALG, VPOPCNTDQ */
        *c &= ~((1u << 1) | (1u << 6) | (1u << 11) | (1u << 12) | (1u << 14));
        /* EDX: AVX512 4VNNIW, 4FMAPS, VP2INTERSECT, AMX-BF16, AVX512-FP16, AMX-TILE, AMX-INT8 */
        *d &= ~((1u << 2) | (1u << 3) | (1u << 8) | (1u << 22) | (1u << 23) | (1u << 24) |
                (1u << 25));
    } else if (leaf == 7 && sub == 1) {
        /* EAX: AVX-VNNI, AVX512-BF16, AMX-FP16, AVX-IFMA; EDX: AVX-VNNI-INT8, AVX10 */
        *a &= ~((1u << 4) | (1u << 5) | (1u << 21) | (1u << 23));
        *d &= ~((1u << 4) | (1u << 19));
    } else if (leaf == 0xd && sub == 0) {
        /* XSAVE components: opmask, ZMM_Hi256, Hi16_ZMM, AMX TILECFG, TILEDATA */
        *a &= ~((1u << 5) | (1u << 6) | (1u << 7) | (1u << 17) | (1u << 18));
    } else if (leaf == 0x1d || leaf == 0x1e || leaf == 0x24) {
        *a = *b = *c = *d = 0; /* AMX palettes, TMUL, AVX10 */
    }
    (void)c;
}

static void chain(int sig, siginfo_t *info, void *context) {
    if (chained.sa_flags & SA_SIGINFO) {
        if (chained.sa_sigaction) chained.sa_sigaction(sig, info, context);
        return;
    }
    if (chained.sa_handler == SIG_IGN) return;
    if (chained.sa_handler != SIG_DFL) {
        chained.sa_handler(sig);
        return;
    }
    /* The default action: die of it once this handler returns, as without the mask. */
    struct sigaction fallback;
    memset(&fallback, 0, sizeof fallback);
    fallback.sa_handler = SIG_DFL;
    real_sigaction(SIGSEGV, &fallback, NULL);
    raise(SIGSEGV);
}

static void on_segv(int sig, siginfo_t *info, void *context) {
    ucontext_t *uc = context;
    greg_t *regs = uc->uc_mcontext.gregs;
    const unsigned char *ip = (const unsigned char *)regs[REG_RIP];
    if (info->si_code == SI_KERNEL && ip && ip[0] == 0x0f && ip[1] == 0xa2) {
        uint32_t a, b, c, d, leaf = (uint32_t)regs[REG_RAX], sub = (uint32_t)regs[REG_RCX];
        set_cpuid(1);
        __cpuid_count(leaf, sub, a, b, c, d);
        set_cpuid(0);
        mask(leaf, sub, &a, &b, &c, &d);
        regs[REG_RAX] = a;
        regs[REG_RBX] = b;
        regs[REG_RCX] = c;
        regs[REG_RDX] = d;
        regs[REG_RIP] += 2;
        answered++;
        return;
    }
    chain(sig, info, context);
}

int sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
    if (!real_sigaction) real_sigaction = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
    if (!active || sig != SIGSEGV) return real_sigaction(sig, act, old);
    if (old) *old = chained;
    if (act) chained = *act;
    return 0;
}

sighandler_t signal(int sig, sighandler_t handler) {
    struct sigaction act, old;
    memset(&act, 0, sizeof act);
    act.sa_handler = handler;
    act.sa_flags = SA_RESTART;
    sigemptyset(&act.sa_mask);
    return sigaction(sig, &act, &old) == 0 ? old.sa_handler : SIG_ERR;
}

static void report(void) {
    fprintf(stderr, "avx2only: %lu CPUID answered in pid %d\n", answered, (int)getpid());
}

/* Whether this is a sandboxed Chromium, whose seccomp filter would kill the handler's syscall. */
static int sandboxed_browser(void) {
    char exe[512], args[8192];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    const char *name = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;
    if (strcmp(name, "chromium") && strcmp(name, "chrome") && strcmp(name, "headless_shell"))
        return 0;
    FILE *f = fopen("/proc/self/cmdline", "rb");
    if (!f) return 1;
    size_t size = fread(args, 1, sizeof args - 1, f);
    fclose(f);
    for (size_t at = 0; at < size; at += strlen(args + at) + 1) {
        args[size] = 0;
        if (!strcmp(args + at, "--no-sandbox")) return 0;
    }
    return 1;
}

__attribute__((constructor)) static void start(void) {
    if (sandboxed_browser()) return;
    real_sigaction = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
    struct sigaction act;
    memset(&act, 0, sizeof act);
    act.sa_sigaction = on_segv;
    act.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&act.sa_mask);
    real_sigaction(SIGSEGV, &act, &chained);
    if (set_cpuid(0) != 0) {
        const char *why = "avx2only: this CPU or kernel has no CPUID faulting (cpuid_fault)\n";
        if (write(2, why, strlen(why)) < 0) _exit(3);
        _exit(3);
    }
    active = 1;
    const char *wanted = getenv("QWENLAB_AVX2ONLY_REPORT");
    if (wanted && *wanted == '1') atexit(report);
}
