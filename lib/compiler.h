/* Attributes and small macros shared by every module. */
#ifndef ECO2_COMPILER_H
#define ECO2_COMPILER_H

#define __must_check  __attribute__((warn_unused_result))
#define __printf(a, b) __attribute__((format(printf, a, b)))
#define __unused      __attribute__((unused))
#define likely(x)     __builtin_expect(!!(x), 1)
#define unlikely(x)   __builtin_expect(!!(x), 0)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Built with AddressSanitizer: its runtime (leak checking at exit) needs
 * system calls a seccomp allowlist must not grant. */
#if defined(__SANITIZE_ADDRESS__)
#define ECO2_ASAN 1
#else
#define ECO2_ASAN 0
#endif

#endif
