/*
 * check.h — tiny test harness. Assertions survive NDEBUG, print file:line and
 * both values, count failures and keep going. A test binary ends with
 * CHECK_DONE(), which prints "<name>: N passed, M failed" and exits non-zero
 * on any failure.
 */
#ifndef EVC_CHECK_H
#define EVC_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned check_pass_, check_fail_;

#define CHECK_(cond, ...)                                                \
	do {                                                             \
		if (cond) {                                              \
			check_pass_++;                                   \
		} else {                                                 \
			check_fail_++;                                   \
			fprintf(stderr, "%s:%d: FAIL: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);                    \
			fputc('\n', stderr);                             \
		}                                                        \
	} while (0)

#define CHECK(cond) CHECK_((cond), "%s", #cond)
#define CHECK_INT(a, op, b)                                              \
	do {                                                             \
		long long a_ = (long long)(a), b_ = (long long)(b);      \
		CHECK_(a_ op b_, "%s %s %s (%lld vs %lld)", #a, #op, #b, a_, b_); \
	} while (0)
#define CHECK_EQ(a, b) CHECK_INT(a, ==, b)
#define CHECK_OK(expr)                                                   \
	do {                                                             \
		long long r_ = (long long)(expr);                        \
		CHECK_(r_ >= 0, "%s returned %lld", #expr, r_);          \
	} while (0)
#define CHECK_MEM(a, b, n) CHECK_(memcmp((a), (b), (n)) == 0, "%s == %s (%zu bytes)", #a, #b, (size_t)(n))
#define CHECK_STR(a, b)                                                  \
	do {                                                             \
		const char *sa_ = (a), *sb_ = (b);                       \
		CHECK_(sa_ && sb_ && strcmp(sa_, sb_) == 0, "%s == %s (\"%s\" vs \"%s\")", \
		    #a, #b, sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)"); \
	} while (0)
/* Abort the test binary when a precondition for the rest fails. */
#define REQUIRE(cond)                                                    \
	do {                                                             \
		if (!(cond)) {                                           \
			fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond); \
			exit(2);                                         \
		}                                                        \
	} while (0)

#define CHECK_DONE(name)                                                 \
	do {                                                             \
		printf("%s: %u passed, %u failed\n", (name), check_pass_, check_fail_); \
		return check_fail_ ? 1 : 0;                              \
	} while (0)

#endif
