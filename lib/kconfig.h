/* Kernel-style Kconfig helpers, force-included in every translation unit.
 *
 * IS_ENABLED(CONFIG_FOO) is 1 when autoconf.h defines CONFIG_FOO to 1 and 0
 * when it leaves it undefined, so code can test options with an ordinary
 * `if` and let the compiler drop the dead branch, rather than #ifdef. */
#ifndef ECO2_KCONFIG_H
#define ECO2_KCONFIG_H

#if __has_include(<generated/autoconf.h>)
#include <generated/autoconf.h>
#endif

#define ECO2_ARG_PLACEHOLDER_1 0,
#define eco2_take_second(ignored, val, ...) val
#define eco2_is_defined3(arg1_or_junk) eco2_take_second(arg1_or_junk 1, 0, 0)
#define eco2_is_defined2(val) eco2_is_defined3(ECO2_ARG_PLACEHOLDER_##val)
#define eco2_is_defined(x) eco2_is_defined2(x)

#define IS_ENABLED(option) eco2_is_defined(option)

#endif
