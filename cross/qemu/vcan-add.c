/*
 * vcan-add NAME... — create virtual CAN interfaces and bring them up.
 *
 * The busybox `ip` in the test initramfs cannot `ip link add ... type vcan`
 * and iproute2 drags half a distribution of libraries into the image, so
 * the VM tests use this: one RTM_NEWLINK request per name carrying
 * IFLA_IFNAME and IFLA_LINKINFO { IFLA_INFO_KIND = "vcan" }, created with
 * IFF_UP set. Needs CAP_NET_ADMIN and the vcan module loaded. Exit 0 when
 * every interface exists and is up, 1 otherwise (the kernel's reason on
 * stderr).
 */
#include <errno.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct req {
	struct nlmsghdr nh;
	struct ifinfomsg ifi;
	char attrs[128];
};

/* Append one attribute; returns its header so nested ones can be closed. */
static struct rtattr *put_attr(struct req *r, unsigned short type,
			       const void *data, size_t len)
{
	struct rtattr *rta = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->nh.nlmsg_len));

	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(rta), data, len);
	r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
	return rta;
}

static int vcan_add(int fd, const char *name, unsigned int seq)
{
	struct req r;
	struct rtattr *info;
	char buf[1024];
	ssize_t n;
	struct nlmsghdr *nh;
	struct nlmsgerr *e;

	if (strlen(name) >= IFNAMSIZ) {
		fprintf(stderr, "vcan-add: %s: name longer than %d\n", name, IFNAMSIZ - 1);
		return -EINVAL;
	}
	memset(&r, 0, sizeof(r));
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(r.ifi));
	r.nh.nlmsg_type = RTM_NEWLINK;
	r.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK;
	r.nh.nlmsg_seq = seq;
	r.ifi.ifi_family = AF_UNSPEC;
	r.ifi.ifi_flags = IFF_UP;
	r.ifi.ifi_change = IFF_UP;
	put_attr(&r, IFLA_IFNAME, name, strlen(name) + 1);
	info = put_attr(&r, IFLA_LINKINFO, NULL, 0);
	put_attr(&r, IFLA_INFO_KIND, "vcan", 4);
	info->rta_len = (unsigned short)((char *)&r + r.nh.nlmsg_len - (char *)info);

	if (send(fd, &r, r.nh.nlmsg_len, 0) < 0)
		return -errno;
	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0)
		return -errno;
	nh = (struct nlmsghdr *)buf;
	if (!NLMSG_OK(nh, (unsigned int)n) || nh->nlmsg_type != NLMSG_ERROR)
		return -EPROTO;
	e = NLMSG_DATA(nh);
	return e->error;
}

int main(int argc, char **argv)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd, i, ret, status = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: vcan-add NAME...\n");
		return 2;
	}
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("vcan-add: netlink socket");
		return 1;
	}
	for (i = 1; i < argc; i++) {
		ret = vcan_add(fd, argv[i], (unsigned int)i);
		if (ret) {
			fprintf(stderr, "vcan-add: %s: %s\n", argv[i], strerror(-ret));
			status = 1;
		}
	}
	close(fd);
	return status;
}
