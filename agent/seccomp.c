/* seccomp — the daemon's system-call allowlist (libseccomp). */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "lib/log.h"
#include "agent/seccomp.h"

#if IS_ENABLED(CONFIG_SECCOMP)
#include <sched.h>
#include <seccomp.h>
#include <sys/socket.h>
#include <linux/can.h>

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
	"socketpair", "connect", "bind", "listen", "accept4", "getsockname", "getpeername",
	"setsockopt", "getsockopt", "sendto", "recvfrom", "sendmsg", "recvmsg",
	"sendmmsg", "recvmmsg", "recvmmsg_time64", "shutdown", "ioctl",
	"clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64",
	"gettimeofday", "nanosleep", "getpid", "gettid", "getuid", "geteuid", "getgid",
	"getegid", "getuid32", "geteuid32", "getgid32", "getegid32", "getrandom",
	"uname", "sysinfo", "futex", "futex_time64", "set_robust_list", "rseq",
	"prlimit64", "sched_yield", "exit", "exit_group", "tgkill", "kill", "restart_syscall",
	"sched_getaffinity", "sched_getattr", "sched_getparam", "sched_getscheduler",
	"sigaltstack", "getrlimit", "ugetrlimit",
};

/* Threads (libcurl's resolver, a PKCS#11 module's worker) are allowed;
 * new processes are not: clone() must carry CLONE_THREAD, and clone3(),
 * whose flags sit behind a pointer a filter cannot read, answers ENOSYS so
 * that the C library falls back to clone(). */
static int allow_threads(scmp_filter_ctx ctx)
{
	/* Scheduling changes are refused, not fatal: libraries probe them
	 * (a PKCS#11 stack re-applies its own policy) and carry on. */
	static const char *const refused[] = {
		"sched_setattr", "sched_setscheduler", "sched_setparam", "sched_setaffinity",
	};
	int ret, nr;

	for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
		nr = seccomp_syscall_resolve_name(refused[i]);
		if (nr == __NR_SCMP_ERROR)
			continue;
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
		if (ret < 0)
			return ret;
	}
	nr = seccomp_syscall_resolve_name("clone3");

	if (nr != __NR_SCMP_ERROR) {
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
		if (ret < 0)
			return ret;
	}
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
}

/* socket() only for the families the daemon speaks (the unit's
 * RestrictAddressFamilies, plus netlink, which the C library's resolver
 * asks for the host's addresses), IP sockets only as stream or datagram:
 * no packet or raw IP sockets even for a process running as root without
 * systemd; CAN sockets only of the protocols in can_protos, each with its
 * one type (a raw socket to read, ISO-TP or J1939 datagrams for the
 * poller's requests when the profile has them). */
static int allow_sockets(scmp_filter_ctx ctx, unsigned can_protos)
{
	static const struct {
		unsigned flag;
		int type, proto;
	} can[] = {
		{ SECCOMP_CAN_RAW, SOCK_RAW, CAN_RAW },
		{ SECCOMP_CAN_ISOTP, SOCK_DGRAM, CAN_ISOTP },
		{ SECCOMP_CAN_J1939, SOCK_DGRAM, CAN_J1939 },
	};
	static const int any_type[] = { AF_UNIX, AF_NETLINK };
	static const int ip[] = { AF_INET, AF_INET6 };
	static const int ip_types[] = { SOCK_STREAM, SOCK_DGRAM };
	int ret;

	for (size_t i = 0; i < ARRAY_SIZE(any_type); i++) {
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				       SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)any_type[i]));
		if (ret < 0)
			return ret;
	}
	for (size_t i = 0; i < ARRAY_SIZE(ip); i++)
		for (size_t j = 0; j < ARRAY_SIZE(ip_types); j++) {
			/* The type's low bits; SOCK_NONBLOCK and SOCK_CLOEXEC ride above. */
			ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
					       SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)ip[i]),
					       SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, (scmp_datum_t)ip_types[j]));
			if (ret < 0)
				return ret;
		}
	for (size_t i = 0; i < ARRAY_SIZE(can); i++) {
		if (!(can_protos & can[i].flag))
			continue;
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 3,
				       SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)AF_CAN),
				       SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, (scmp_datum_t)can[i].type),
				       SCMP_A2(SCMP_CMP_EQ, (scmp_datum_t)can[i].proto));
		if (ret < 0)
			return ret;
	}
	return 0;
}

int seccomp_install(const char *const *extra)
{
	return seccomp_install_can(extra, SECCOMP_CAN_RAW);
}

int seccomp_install_can(const char *const *extra, unsigned can_protos)
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
	ret = allow_threads(ctx);
	if (ret < 0) {
		log_err("seccomp: cannot allow threads: %s", strerror(-ret));
		goto out;
	}
	ret = allow_sockets(ctx, can_protos);
	if (ret < 0) {
		log_err("seccomp: cannot allow sockets: %s", strerror(-ret));
		goto out;
	}
	/* Threads already running (a resolver's, a PKCS#11 module's) get the
	 * filter too, not only the calling one. */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (ret < 0) {
		log_err("seccomp: cannot filter every thread: %s", strerror(-ret));
		goto out;
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

int seccomp_install_can(const char *const *extra, unsigned can_protos)
{
	(void)extra;
	(void)can_protos;
	return 0;
}

#endif
