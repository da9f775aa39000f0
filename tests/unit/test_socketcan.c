/* Unit tests for can/socketcan.c's pure parts: kernel filter entries,
 * error-frame classification, the re-open backoff and FD DLC codes. The
 * sockets themselves are exercised on a real kernel by
 * tests/integration/can_vcan.sh; here only the no-CAN and bad-argument
 * paths of socketcan_open are checked. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <linux/can.h>
#include <linux/can/error.h>

#include "lib/log.h"
#include "can/socketcan.h"

static void test_filters(void **state)
{
	struct socketcan_id ids[] = {
		{ 0x123, 0 },                               /* 11-bit exact */
		{ 0x123 | SOCKETCAN_EFF, 0 },               /* 29-bit exact */
		{ 0x18fef100 | SOCKETCAN_EFF, 0x03ffff00 }, /* J1939 PGN, any SA */
		{ 0x7ff, 0x700 },                           /* 11-bit range */
	};
	struct can_filter f[ARRAY_SIZE(ids)];
	(void)state;

	assert_int_equal(socketcan_make_filters(f, ids, ARRAY_SIZE(ids)), 0);
	assert_int_equal(f[0].can_id, 0x123);
	assert_int_equal(f[0].can_mask, CAN_SFF_MASK | CAN_EFF_FLAG | CAN_RTR_FLAG);
	assert_int_equal(f[1].can_id, 0x123 | CAN_EFF_FLAG);
	assert_int_equal(f[1].can_mask, CAN_EFF_MASK | CAN_EFF_FLAG | CAN_RTR_FLAG);
	assert_int_equal(f[2].can_id, 0x00fef100 | CAN_EFF_FLAG);
	assert_int_equal(f[2].can_mask, 0x03ffff00 | CAN_EFF_FLAG | CAN_RTR_FLAG);
	assert_int_equal(f[3].can_id, 0x700);
	assert_int_equal(f[3].can_mask, 0x700 | CAN_EFF_FLAG | CAN_RTR_FLAG);

	/* The kernel's rule, (id & mask) == (can_id & mask), on sample ids: */
	struct { uint32_t id; int entry; bool pass; } frames[] = {
		{ 0x123, 0, true },
		{ 0x123 | CAN_EFF_FLAG, 0, false },
		{ 0x123 | CAN_RTR_FLAG, 0, false },
		{ 0x123 | CAN_EFF_FLAG, 1, true },
		{ 0x0cfef1ee | CAN_EFF_FLAG, 2, true },
		{ 0x18fef200 | CAN_EFF_FLAG, 2, false },
		{ 0x0cfef1ee, 2, false },
		{ 0x734, 3, true },
		{ 0x634, 3, false },
	};
	for (size_t i = 0; i < ARRAY_SIZE(frames); i++) {
		const struct can_filter *e = &f[frames[i].entry];
		bool pass = (frames[i].id & e->can_mask) == (e->can_id & e->can_mask);
		if (pass != frames[i].pass)
			fail_msg("frame %#x entry %d: pass %d", frames[i].id, frames[i].entry, pass);
	}
}

static void test_filters_reject(void **state)
{
	struct can_filter f[1];
	struct socketcan_id big = { 0x800, 0 };          /* > 11 bits without EFF */
	struct socketcan_id big29 = { 0x20000000 | SOCKETCAN_EFF, 0 };
	struct socketcan_id badmask = { 0x100, 0x1000 };
	(void)state;

	assert_int_equal(socketcan_make_filters(f, &big, 1), -EINVAL);
	assert_int_equal(socketcan_make_filters(f, &big29, 1), -EINVAL);
	assert_int_equal(socketcan_make_filters(f, &badmask, 1), -EINVAL);
	assert_int_equal(socketcan_make_filters(f, &big, SOCKETCAN_MAX_IDS + 1), -E2BIG);
}

static void test_error_events(void **state)
{
	uint8_t data[8] = { 0 };
	(void)state;

	assert_int_equal(socketcan_error_events(0x123, data, 8), 0);
	assert_int_equal(socketcan_error_events(CAN_ERR_FLAG | CAN_ERR_BUSOFF, data, 8),
			 1u << CAN_EV_BUS_OFF);
	data[1] = CAN_ERR_CRTL_RX_PASSIVE;
	assert_int_equal(socketcan_error_events(CAN_ERR_FLAG | CAN_ERR_CRTL, data, 8),
			 1u << CAN_EV_ERROR_PASSIVE);
	data[1] = CAN_ERR_CRTL_TX_PASSIVE;
	assert_int_equal(socketcan_error_events(CAN_ERR_FLAG | CAN_ERR_CRTL | CAN_ERR_BUSOFF, data, 8),
			 (1u << CAN_EV_ERROR_PASSIVE) | (1u << CAN_EV_BUS_OFF));
	/* warnings alone are no event; nor is a truncated controller frame */
	data[1] = CAN_ERR_CRTL_RX_WARNING;
	assert_int_equal(socketcan_error_events(CAN_ERR_FLAG | CAN_ERR_CRTL, data, 8), 0);
	data[1] = CAN_ERR_CRTL_RX_PASSIVE;
	assert_int_equal(socketcan_error_events(CAN_ERR_FLAG | CAN_ERR_CRTL, data, 1), 0);
}

static void test_backoff(void **state)
{
	(void)state;
	assert_int_equal(socketcan_backoff_ms(1, 100, 30000), 100);
	assert_int_equal(socketcan_backoff_ms(2, 100, 30000), 200);
	assert_int_equal(socketcan_backoff_ms(3, 100, 30000), 400);
	assert_int_equal(socketcan_backoff_ms(9, 100, 30000), 25600);
	assert_int_equal(socketcan_backoff_ms(10, 100, 30000), 30000);
	assert_int_equal(socketcan_backoff_ms(4000000000u, 100, 30000), 30000);
	assert_int_equal(socketcan_backoff_ms(0, 100, 30000), 100);
}

static void test_fd_dlc(void **state)
{
	static const struct { unsigned len; uint8_t dlc; } t[] = {
		{ 0, 0 }, { 8, 8 }, { 9, 9 }, { 12, 9 }, { 13, 10 }, { 16, 10 },
		{ 20, 11 }, { 24, 12 }, { 25, 13 }, { 32, 13 }, { 48, 14 }, { 49, 15 },
		{ 64, 15 },
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		assert_int_equal(socketcan_fd_dlc(t[i].len), t[i].dlc);
}

static void test_open_args(void **state)
{
	socketcan_t *sc = (socketcan_t *)1;
	const char *ifs[] = { "vcan0" };
	const char *bad[] = { "a-name-longer-than-ifnamsiz" };
	struct socketcan_id ids[1] = { { 0x123, 0 } };
	int r;
	(void)state;

	log_open("test", LOG_TO_STDERR, LOG_ERR);
	assert_int_equal(socketcan_open(&sc, ifs, 0, ids, 1, NULL), -EINVAL);
	assert_null(sc);
	r = socketcan_open(&sc, bad, 1, ids, 1, NULL);
	/* A kernel without CAN says so before the name is looked at. */
	assert_true(r == -EINVAL || r == -EAFNOSUPPORT);
	assert_null(sc);
	r = socketcan_open(&sc, ifs, 1, ids, SOCKETCAN_MAX_IDS + 1, NULL);
	assert_int_equal(r, -E2BIG);
	r = socketcan_open(&sc, ifs, 1, ids, 1, NULL);
	if (r == -EAFNOSUPPORT) {
		assert_null(sc);
	} else {
		/* CAN present: a missing or present vcan0 both give a source. */
		assert_int_equal(r, 0);
		assert_true(socketcan_fd(sc) >= 0);
		socketcan_close(sc);
	}
	socketcan_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_filters_reject),
		cmocka_unit_test(test_error_events),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_fd_dlc),
		cmocka_unit_test(test_open_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
