/* seccomp — the daemon's system-call allowlist (libseccomp). */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "agent/log.h"
#include "agent/seccomp.h"

#if IS_ENABLED(CONFIG_SECCOMP)
#include <seccomp.h>

/* What eco2d does after start-up: epoll loop, CAN and TLS sockets, SQLite
 * file I/O, timers, signals, logging, memory. Names, not numbers, so the
 * same list serves x86_64, arm64 and armhf (unknown names are skipped). */
static const char *const allowed[] = {
	"read", "write", "readv", "writev", "pread64", "pwrite64", "lseek", "_llseek",
	"close", "openat", "open", "fstat", "fstat64", "newfstatat", "fstatat64",
	"stat", "stat64", "lstat", "lstat64", "statx", "fcntl", "fcntl64", "fsync",
	"fdatasync", "ftruncate", "ftruncate64", "unlink", "unlinkat", "rename",
	"renameat", "renameat2", "access", "faccessat", "faccessat2", "getcwd",
	"mkdir", "mkdirat", "readlink", "readlinkat", "fchown", "fchmod", "umask",
	"flock", "getdents64", "statfs", "statfs64", "fstatfs", "fstatfs64",
	"mmap", "mmap2", "munmap", "mremap", "mprotect", "brk", "madvise",
	"epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2",
	"poll", "ppoll", "ppoll_time64", "select", "pselect6", "pselect6_time64",
	"timerfd_create", "timerfd_settime", "timerfd_settime64", "timerfd_gettime",
	"timerfd_gettime64", "signalfd4", "rt_sigprocmask", "rt_sigaction",
	"rt_sigreturn", "sigreturn", "eventfd2", "pipe2",
	"socket", "connect", "bind", "listen", "accept4", "getsockname", "getpeername",
	"setsockopt", "getsockopt", "sendto", "recvfrom", "sendmsg", "recvmsg",
	"sendmmsg", "recvmmsg", "recvmmsg_time64", "shutdown", "ioctl",
	"clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64",
	"gettimeofday", "nanosleep", "getpid", "gettid", "getuid", "geteuid", "getgid",
	"getegid", "getuid32", "geteuid32", "getgid32", "getegid32", "getrandom",
	"uname", "sysinfo", "futex", "futex_time64", "set_robust_list", "rseq",
	"prlimit64", "sched_yield", "exit", "exit_group", "tgkill", "kill", "restart_syscall",
};

int seccomp_install(const char *const *extra)
{
	scmp_filter_ctx ctx;
	int ret = -ENOMEM;

	ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		goto out;
	for (size_t i = 0; i < ARRAY_SIZE(allowed) + 64; i++) {
		const char *name;
		if (i < ARRAY_SIZE(allowed))
			name = allowed[i];
		else if (extra && extra[i - ARRAY_SIZE(allowed)])
			name = extra[i - ARRAY_SIZE(allowed)];
		else
			break;
		int nr = seccomp_syscall_resolve_name(name);
		if (nr == __NR_SCMP_ERROR)
			continue;   /* not a system call on this architecture */
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (ret < 0) {
			log_err("seccomp: cannot allow %s: %s", name, strerror(-ret));
			goto out;
		}
	}
	ret = seccomp_load(ctx);
	if (ret < 0)
		log_err("seccomp: cannot load the filter: %s", strerror(-ret));
out:
	seccomp_release(ctx);
	return ret < 0 ? ret : 0;
}

#else

int seccomp_install(const char *const *extra)
{
	(void)extra;
	return 0;
}

#endif
