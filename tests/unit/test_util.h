/* Shared by unit tests that check what a module logs.
 *
 * Include after <cmocka.h> and "lib/log.h". Defines, static to the test:
 *   messages[]  every message logged since the last setup(), one a line;
 *               TEST_MESSAGES_SIZE bytes (define it before including to
 *               change it), later messages cut off once it is full
 *   setup()     a cmocka setup: empties messages[] and sends every level
 *               to it (and to stderr, where a failing test's log shows)
 * A test may also empty messages[] itself between steps. */
#ifndef ECO2_TEST_UTIL_H
#define ECO2_TEST_UTIL_H

#include <stdio.h>
#include <string.h>

#ifndef TEST_MESSAGES_SIZE
#define TEST_MESSAGES_SIZE 16384
#endif

static char messages[TEST_MESSAGES_SIZE];

static void capture(int level, const char *msg, void *ctx)
{
	(void)level; (void)ctx;
	size_t n = strlen(messages);
	snprintf(messages + n, sizeof(messages) - n, "%s\n", msg);
}

static int setup(void **state)
{
	(void)state;
	messages[0] = '\0';
	log_open("test", LOG_TO_STDERR, LOG_EMERG);
	log_set_level(LOG_DEBUG);
	log_set_hook(capture, NULL);
	return 0;
}

#endif
