/*
 * Run-time kernel selection: detect what the CPU and OS support, honour an
 * explicit override, and fill the caller's table (no global state).
 */
#include <stdbool.h>
#include <string.h>

#include "common/error.h"
#include "kernels/kernels_impl.h"

#if defined(__x86_64__)
#include <cpuid.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif
#elif defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

static const char *const isa_names[HR_ISA_COUNT] = {
    [HR_ISA_SCALAR] = "scalar",        [HR_ISA_AVX2] = "avx2", [HR_ISA_AVX512] = "avx512",
    [HR_ISA_AVX512VNNI] = "avx512vnni", [HR_ISA_NEON] = "neon", [HR_ISA_NEON_DOTPROD] = "neon-dotprod",
    [HR_ISA_AMX] = "amx",
};

const char *hr_isa_name(hr_isa isa) {
    return (unsigned)isa < HR_ISA_COUNT ? isa_names[isa] : "unknown";
}

#if defined(__x86_64__)
/* XCR0 says which register states the OS saves on context switch; a CPU
 * flag alone is not enough to use the registers. Read without -mxsave. */
static uint64_t read_xcr0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

/* Linux hands out the 8 KiB tile register state only to a process that asks
 * (arch_prctl ARCH_REQ_XCOMP_PERM for XTILEDATA); asking again is harmless.
 * It refuses, for one, when a signal stack is too small for the larger
 * frame: then the CPU's tiles stay unused and the avx512vnni table serves. */
static bool amx_permitted(uint64_t xcr0) {
    if ((xcr0 & 0x60000) != 0x60000) return false; /* XTILECFG and XTILEDATA state */
#if defined(__linux__)
    return syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XFEATURE_XTILEDATA */) == 0;
#else
    return false;
#endif
}

static bool x86_has(hr_isa isa) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
    bool osxsave = c & (1u << 27), avx = c & (1u << 28), fma = c & (1u << 12), f16c = c & (1u << 29);
    if (!osxsave || !avx || !fma || !f16c) return false;
    uint64_t xcr0 = read_xcr0();
    if ((xcr0 & 0x6) != 0x6) return false; /* XMM and YMM state */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    bool avx2 = b & (1u << 5);
    if (isa == HR_ISA_AVX2) return avx2;
    bool f = b & (1u << 16), dq = b & (1u << 17), bw = b & (1u << 30), vl = b & (1u << 31);
    bool zmm_state = (xcr0 & 0xe6) == 0xe6; /* opmask, ZMM0-15 upper halves, ZMM16-31 */
    bool avx512 = avx2 && f && dq && bw && vl && zmm_state;
    if (isa == HR_ISA_AVX512) return avx512;
    bool vnni = avx512 && (c & (1u << 11));
    if (isa == HR_ISA_AVX512VNNI) return vnni;
    if (isa == HR_ISA_AMX) return vnni && (d & (1u << 24)) && (d & (1u << 25)) && amx_permitted(xcr0);
    return false;
}
#endif

#if defined(__aarch64__)
static bool arm_has(hr_isa isa) {
#if defined(__linux__)
    unsigned long hw = getauxval(AT_HWCAP);
    bool asimd = hw & (1ul << 1);  /* HWCAP_ASIMD */
    bool dotp = hw & (1ul << 20);  /* HWCAP_ASIMDDP */
    if (isa == HR_ISA_NEON) return asimd;
    if (isa == HR_ISA_NEON_DOTPROD) return asimd && dotp;
    return false;
#else
    return isa == HR_ISA_NEON; /* NEON is architectural on aarch64 */
#endif
}
#endif

bool hr_isa_available(hr_isa isa) {
    switch (isa) {
    case HR_ISA_SCALAR: return true;
#if defined(__x86_64__)
    case HR_ISA_AVX2:
    case HR_ISA_AVX512:
    case HR_ISA_AVX512VNNI:
    case HR_ISA_AMX: return x86_has(isa);
#endif
#if defined(__aarch64__)
    case HR_ISA_NEON:
    case HR_ISA_NEON_DOTPROD: return arm_has(isa);
#endif
    default: return false;
    }
}

hr_isa hr_isa_detect(void) {
    static const hr_isa best_first[] = {HR_ISA_AMX, HR_ISA_AVX512VNNI, HR_ISA_AVX512, HR_ISA_AVX2,
                                        HR_ISA_NEON_DOTPROD, HR_ISA_NEON};
    for (size_t i = 0; i < sizeof best_first / sizeof best_first[0]; i++)
        if (hr_isa_available(best_first[i])) return best_first[i];
    return HR_ISA_SCALAR;
}

hearth_status hr_kernels_for_isa(hr_isa isa, hr_kernels *k, hearth_error *err) {
    if ((unsigned)isa >= HR_ISA_COUNT) return hr_fail(err, HEARTH_ERR_INVALID, "unknown ISA id %d", (int)isa);
    if (!hr_isa_available(isa))
        return hr_fail(err, HEARTH_ERR_UNSUPPORTED, "ISA '%s' is not supported by this CPU or build (best: %s)",
                       hr_isa_name(isa), hr_isa_name(hr_isa_detect()));
    hr_kernels_scalar(k);
    /* Each level starts from the one below it, so a type a wider ISA does not
     * vectorise still gets the best narrower kernel. */
    switch (isa) {
#if defined(__x86_64__)
    case HR_ISA_AMX:
    case HR_ISA_AVX512VNNI:
    case HR_ISA_AVX512:
    case HR_ISA_AVX2:
        hr_kernels_fill_avx2(k);
        hr_act_fill_avx2(k);
        if (isa != HR_ISA_AVX2) {
            hr_kernels_fill_avx512(k);
            hr_act_fill_avx512(k);
        }
        if (isa == HR_ISA_AVX512VNNI || isa == HR_ISA_AMX) {
            hr_kernels_fill_avx512vnni(k);
            hr_gemm_fill_avx512vnni(k);
        }
        if (isa == HR_ISA_AMX) {
            hr_gemm_fill_amx(k);
            hr_scores_fill_amx(k);
        }
        break;
#endif
#if defined(__aarch64__)
    case HR_ISA_NEON:
    case HR_ISA_NEON_DOTPROD:
        hr_kernels_fill_neon(k);
        if (isa == HR_ISA_NEON_DOTPROD) hr_kernels_fill_neon_dotprod(k);
        break;
#endif
    default: break;
    }
    k->isa = isa;
    k->isa_name = hr_isa_name(isa);
    return HEARTH_OK;
}

hearth_status hr_kernels_select(const char *override, hr_kernels *k, hearth_error *err) {
    if (!override || !*override || !strcmp(override, "auto")) return hr_kernels_for_isa(hr_isa_detect(), k, err);
    for (int i = 0; i < HR_ISA_COUNT; i++)
        if (!strcmp(override, isa_names[i])) return hr_kernels_for_isa((hr_isa)i, k, err);
    return hr_fail(err, HEARTH_ERR_INVALID,
                   "unknown ISA '%.64s' (HEARTH_ISA: auto, scalar, avx2, avx512, avx512vnni, amx, neon, neon-dotprod)",
                   override);
}
