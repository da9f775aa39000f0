/* source — the CAN source handle over its driver table. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "can/source.h"

struct can_source {
	const struct can_source_driver *drv;
	void *priv;
};

const struct can_source_driver *can_source_candump_for(const char *path)
{
	struct stat st;
	int ret = strcmp(path, "-") ? stat(path, &st) : fstat(STDIN_FILENO, &st);

	if (!ret && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
		return &can_source_candump_stream;
	return &can_source_candump_file;
}

int can_source_open(can_source_t **out, const struct can_source_driver *drv,
		    const struct can_source_opts *o)
{
	can_source_t *src = calloc(1, sizeof(*src));
	int ret;

	if (!src)
		return -ENOMEM;
	src->drv = drv;
	ret = drv->open(&src->priv, o);
	if (ret) {
		free(src);
		return ret;
	}
	*out = src;
	return 0;
}

void can_source_close(can_source_t *src)
{
	if (!src)
		return;
	src->drv->close(src->priv);
	free(src);
}

const char *can_source_name(const can_source_t *src)
{
	return src->drv->name;
}

int can_source_fd(const can_source_t *src)
{
	return src->drv->fd(src->priv);
}

uint64_t can_source_deadline_ns(const can_source_t *src)
{
	return src->drv->deadline_ns ? src->drv->deadline_ns(src->priv) : UINT64_MAX;
}

int can_source_dispatch(can_source_t *src, const struct can_source_cb *cb)
{
	return src->drv->dispatch(src->priv, cb);
}

void can_source_stats(const can_source_t *src, struct can_source_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (src->drv->stats)
		src->drv->stats(src->priv, st);
}
