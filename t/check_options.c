/*
 * check_options.c: the "options" suite, KVA_OPTIONS parsing
 * (lib/kva_options.c).
 *
 * What it checks: the defaults; every key of the table; size suffixes and
 * their limits; blanks and empty items; lists (hist) running over commas;
 * that every malformed item prints exactly one line on stderr naming its
 * key, keeps the field as it was and counts one error; that parsing goes
 * on after an error; and that the parser allocates nothing.
 *
 * stderr is captured by pointing fd 2 at a temporary file around each
 * parse (kva_warn writes to fd 2 with write(2)).  The program defines
 * malloc, calloc, realloc and free itself, forwarding to glibc's, so that
 * it can count allocations made while the parser runs (not under
 * valgrind, which replaces them).
 */
#include "kva_impl.h"
#include "kva_track.h"

#include <check.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/*
 * Allocation counting.  glibc lets a program replace malloc, calloc,
 * realloc and free; these forward to glibc's own and count while
 * counting is on.
 */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

static volatile int alloc_counting;
static volatile long alloc_count;

void *
malloc(size_t n)
{
	if (alloc_counting)
		alloc_count++;
	return __libc_malloc(n);
}

void *
calloc(size_t n, size_t size)
{
	if (alloc_counting)
		alloc_count++;
	return __libc_calloc(n, size);
}

void *
realloc(void *p, size_t n)
{
	if (alloc_counting)
		alloc_count++;
	return __libc_realloc(p, n);
}

void
free(void *p)
{
	__libc_free(p);
}

static void *(*volatile malloc_ptr)(size_t) = malloc;

/*
 * Capturing stderr.
 */
static char out[8192];		/* what the last parse printed */
static size_t outlen;

/*
 * parse: kva_options_parse(s, p) with stderr captured into out.
 * => the parser's error count; *lines = lines printed.
 */
static int
parse(const char *s, struct kva_params *p, int *lines)
{
	FILE *tmp = tmpfile();
	int fd, saved, errors;
	ssize_t n;
	size_t i;

	ck_assert_ptr_nonnull(tmp);
	fd = fileno(tmp);
	fflush(stderr);
	saved = dup(2);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_eq(dup2(fd, 2), 2);

	errors = kva_options_parse(s, p);

	dup2(saved, 2);
	close(saved);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	n = read(fd, out, sizeof(out) - 1);
	fclose(tmp);
	ck_assert_int_ge(n, 0);
	outlen = (size_t)n;
	out[outlen] = '\0';

	*lines = 0;
	for (i = 0; i < outlen; i++)
		if (out[i] == '\n')
			(*lines)++;
	if (outlen > 0 && out[outlen - 1] != '\n')
		(*lines)++;	/* an unterminated last line */
	return errors;
}

/* parse_ok: s must parse without an error and without output */
static void
parse_ok(const char *s, struct kva_params *p)
{
	int lines, errors;

	errors = parse(s, p, &lines);
	ck_assert_msg(errors == 0 && lines == 0,
	    "\"%s\": %d errors, output \"%s\"", s, errors, out);
}

static int
is_default(const struct kva_params *p)
{
	struct kva_params d;

	kva_params_default(&d);
	return memcmp(p, &d, sizeof(d)) == 0;
}

#define MiB ((size_t)1 << 20)
#define GiB ((size_t)1 << 30)
#define TiB ((size_t)1 << 40)

/*
 * Defaults.
 */
START_TEST(test_defaults)
{
	struct kva_params p;

	memset(&p, 0xa5, sizeof(p));
	kva_params_default(&p);
	ck_assert_uint_eq(p.physmem, 0);
	ck_assert_uint_eq(p.kva, 0);
	ck_assert_uint_eq(p.kmem, 0);
	ck_assert_str_eq(p.swap, "");
	ck_assert_uint_eq(p.swapsize, 0);
	ck_assert_int_eq(p.max_vmas, 0);
	ck_assert_int_eq(p.stats, 0);
	ck_assert_int_eq(p.debug, 0);
	ck_assert_str_eq(p.hist, "");
	ck_assert_int_eq(p.uring, 1);
	ck_assert_uint_eq(p.freemin, 0);
	ck_assert_uint_eq(p.freetarg, 0);
}
END_TEST

START_TEST(test_null_and_empty)
{
	struct kva_params p;

	kva_params_default(&p);
	parse_ok("", &p);
	parse_ok(",", &p);
	parse_ok(" , ,\t,,", &p);
	ck_assert(is_default(&p));
	ck_assert_int_eq(kva_options_parse(NULL, &p), 0);
	ck_assert(is_default(&p));
}
END_TEST

/*
 * Each key.
 */
START_TEST(test_every_key)
{
	struct kva_params p;

	kva_params_default(&p);
	parse_ok("physmem=64M,kva=16G,kmem=8G,swap=/tmp/kva.swap,"
	    "swapsize=1G,max_vmas=30000,stats=1,debug=3,hist=maphist,"
	    "uring=0,freemin=1M,freetarg=4M", &p);
	ck_assert_uint_eq(p.physmem, 64 * MiB);
	ck_assert_uint_eq(p.kva, 16 * GiB);
	ck_assert_uint_eq(p.kmem, 8 * GiB);
	ck_assert_str_eq(p.swap, "/tmp/kva.swap");
	ck_assert_uint_eq(p.swapsize, GiB);
	ck_assert_int_eq(p.max_vmas, 30000);
	ck_assert_int_eq(p.stats, 1);
	ck_assert_int_eq(p.debug, 3);
	ck_assert_str_eq(p.hist, "maphist");
	ck_assert_int_eq(p.uring, 0);
	ck_assert_uint_eq(p.freemin, MiB);
	ck_assert_uint_eq(p.freetarg, 4 * MiB);

	/* back the other way, and the other end of each range */
	parse_ok("stats=0,uring=1,debug=0,swap=none,max_vmas=0,physmem=0", &p);
	ck_assert_int_eq(p.stats, 0);
	ck_assert_int_eq(p.uring, 1);
	ck_assert_int_eq(p.debug, 0);
	ck_assert_str_eq(p.swap, "none");
	ck_assert_int_eq(p.max_vmas, 0);
	ck_assert_uint_eq(p.physmem, 0);
}
END_TEST

START_TEST(test_last_value_wins)
{
	struct kva_params p;

	kva_params_default(&p);
	parse_ok("physmem=1M,physmem=2M", &p);
	ck_assert_uint_eq(p.physmem, 2 * MiB);
	parse_ok("swap=/a/long/path,swap=/b", &p);
	ck_assert_str_eq(p.swap, "/b");
	/* a shorter string leaves no trace of the longer one */
	ck_assert_uint_eq(p.swap[3], 0);
}
END_TEST

START_TEST(test_debug_levels)
{
	static const char *const ok[] = { "debug=0", "debug=1", "debug=2", "debug=3" };
	struct kva_params p;
	int i;

	for (i = 0; i < 4; i++) {
		kva_params_default(&p);
		parse_ok(ok[i], &p);
		ck_assert_int_eq(p.debug, i);
	}
}
END_TEST

/*
 * Sizes.
 */
START_TEST(test_size_suffixes)
{
	static const struct {
		const char *s;
		size_t v;
	} cases[] = {
		{ "0", 0 }, { "1", 1 }, { "4096", 4096 }, { "007", 7 },
		{ "1k", 1024 }, { "1K", 1024 }, { "3m", 3 * MiB },
		{ "3M", 3 * MiB }, { "5g", 5 * GiB }, { "5G", 5 * GiB },
		{ "2t", 2 * TiB }, { "2T", 2 * TiB }, { "0K", 0 },
		{ "1023T", 1023 * TiB },
	};
	size_t i, v;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = 12345;
		ck_assert_msg(kva_parse_size(cases[i].s, strlen(cases[i].s), &v) == 0,
		    "\"%s\" refused", cases[i].s);
		ck_assert_msg(v == cases[i].v, "\"%s\" gave %zu", cases[i].s, v);
	}
}
END_TEST

START_TEST(test_size_len)
{
	size_t v = 0;

	/* only len bytes count: the rest of the string is not looked at */
	ck_assert_int_eq(kva_parse_size("64Mxyz", 3, &v), 0);
	ck_assert_uint_eq(v, 64 * MiB);
	ck_assert_int_eq(kva_parse_size("12345", 2, &v), 0);
	ck_assert_uint_eq(v, 12);
	ck_assert_int_eq(kva_parse_size("64M", 0, &v), -1);
}
END_TEST

START_TEST(test_size_malformed)
{
	static const char *const bad[] = {
		"", "K", "M", "-1", "+1", " 1", "1 ", "1.5G", "16GB", "16KiB",
		"0x10", "1e6", "12Q", "1KK", "G1", "1,0",
	};
	size_t i, v;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 777;
		ck_assert_msg(kva_parse_size(bad[i], strlen(bad[i]), &v) == -1,
		    "\"%s\" accepted", bad[i]);
		ck_assert_uint_eq(v, 777);
	}
}
END_TEST

START_TEST(test_size_overflow)
{
	size_t v = 777;

#if SIZE_MAX == UINT64_MAX
	ck_assert_int_eq(kva_parse_size("18446744073709551615", 20, &v), 0);
	ck_assert_uint_eq(v, SIZE_MAX);
	ck_assert_int_eq(kva_parse_size("18446744073709551616", 20, &v), -1);
	ck_assert_int_eq(kva_parse_size("99999999999999999999999", 23, &v), -1);
	ck_assert_int_eq(kva_parse_size("16777215T", 9, &v), 0);
	ck_assert_uint_eq(v, 16777215 * TiB);
	ck_assert_int_eq(kva_parse_size("16777216T", 9, &v), -1);
	ck_assert_int_eq(kva_parse_size("17179869184G", 12, &v), -1);
	ck_assert_uint_eq(v, 16777215 * TiB);
#endif
	ck_assert_int_eq(kva_parse_size("99999999999T", 12, &v), -1);
}
END_TEST

/*
 * Syntax: blanks, empty items, lists.
 */
START_TEST(test_blanks)
{
	struct kva_params p;

	kva_params_default(&p);
	parse_ok("  physmem = 64M ,\tstats=1\t,, ,kva=1G,  ", &p);
	ck_assert_uint_eq(p.physmem, 64 * MiB);
	ck_assert_int_eq(p.stats, 1);
	ck_assert_uint_eq(p.kva, GiB);
	parse_ok("swap = /tmp/with space ", &p);
	ck_assert_str_eq(p.swap, "/tmp/with space");
}
END_TEST

START_TEST(test_hist_list)
{
	struct kva_params p;

	kva_params_default(&p);
	parse_ok("hist=maphist,pdhist,stats=1", &p);
	ck_assert_str_eq(p.hist, "maphist,pdhist");
	ck_assert_int_eq(p.stats, 1);
}
END_TEST

START_TEST(test_hist_blanks)
{
	struct kva_params p;

	kva_params_default(&p);
	parse_ok("stats=1, hist = maphist , pdhist ,ubchist", &p);
	ck_assert_str_eq(p.hist, "maphist,pdhist,ubchist");
	ck_assert_int_eq(p.stats, 1);
	/* an empty item ends the list */
	parse_ok("hist=a,,kva=1G", &p);
	ck_assert_str_eq(p.hist, "a");
	ck_assert_uint_eq(p.kva, GiB);
}
END_TEST

/*
 * Errors: each prints one line naming the key and keeps the default.
 */
static const struct {
	const char *opts;
	const char *key;	/* must appear in the message */
} error_cases[] = {
	{ "physmem=12Q", "physmem" },
	{ "physmem=", "physmem" },
	{ "physmem", "physmem" },
	{ "physmem = ", "physmem" },
	{ "kva=-1", "kva" },
	{ "kva=1.5G", "kva" },
	{ "kva=16GB", "kva" },
	{ "kva=0x10", "kva" },
	{ "kmem=lots", "kmem" },
	{ "swapsize=99999999999T", "swapsize" },
	{ "freemin=18446744073709551616", "freemin" },
	{ "freetarg=1 M", "freetarg" },
	{ "max_vmas=-3", "max_vmas" },
	{ "max_vmas=12K", "max_vmas" },
	{ "max_vmas=9223372036854775808", "max_vmas" },
	{ "stats=2", "stats" },
	{ "stats=yes", "stats" },
	{ "stats", "stats" },
	{ "uring=", "uring" },
	{ "uring=true", "uring" },
	{ "debug=4", "debug" },
	{ "debug=-1", "debug" },
	{ "debug=99999999999999999999", "debug" },
	{ "hist=map-hist", "hist" },
	{ "hist=", "hist" },
	{ "hist=maphist,pd%hist", "hist" },
	{ "swap=", "swap" },
	{ "swap=/tmp/a\tb", "swap" },
	{ "foo=1", "foo" },
	{ "bogus", "bogus" },
	{ " Physmem=1M ", "Physmem" },
	{ "=5", "\"\"" },
};
#define NERROR_CASES ((int)(sizeof(error_cases) / sizeof(error_cases[0])))

START_TEST(test_error_case)
{
	struct kva_params p;
	int errors, lines;

	kva_params_default(&p);
	errors = parse(error_cases[_i].opts, &p, &lines);
	ck_assert_msg(errors == 1, "\"%s\": %d errors", error_cases[_i].opts,
	    errors);
	ck_assert_msg(lines == 1, "\"%s\": %d lines: \"%s\"",
	    error_cases[_i].opts, lines, out);
	ck_assert_msg(out[outlen - 1] == '\n', "\"%s\": no newline",
	    error_cases[_i].opts);
	ck_assert_msg(strncmp(out, "kva: KVA_OPTIONS: ", 18) == 0,
	    "\"%s\": message \"%s\"", error_cases[_i].opts, out);
	ck_assert_msg(strstr(out, error_cases[_i].key) != NULL,
	    "\"%s\": message \"%s\" does not name %s", error_cases[_i].opts,
	    out, error_cases[_i].key);
	ck_assert_msg(is_default(&p), "\"%s\" changed the parameters",
	    error_cases[_i].opts);
}
END_TEST

START_TEST(test_error_message)
{
	struct kva_params p;
	int lines;

	kva_params_default(&p);
	ck_assert_int_eq(parse("physmem=12Q", &p, &lines), 1);
	ck_assert_str_eq(out, "kva: KVA_OPTIONS: bad value \"12Q\" for physmem, "
	    "keeping the default\n");
	ck_assert_int_eq(parse("nosuchkey=1", &p, &lines), 1);
	ck_assert_str_eq(out, "kva: KVA_OPTIONS: unknown key \"nosuchkey\", "
	    "ignored\n");
	ck_assert_int_eq(parse("stats", &p, &lines), 1);
	ck_assert_str_eq(out, "kva: KVA_OPTIONS: no value for stats, "
	    "keeping the default\n");
}
END_TEST

START_TEST(test_error_keeps_earlier_value)
{
	struct kva_params p;
	int lines;

	kva_params_default(&p);
	ck_assert_int_eq(parse("physmem=64M,physmem=12Q", &p, &lines), 1);
	ck_assert_int_eq(lines, 1);
	ck_assert_uint_eq(p.physmem, 64 * MiB);
	ck_assert_ptr_nonnull(strstr(out, "keeping the earlier value"));
	ck_assert_int_eq(parse("hist=maphist,hist=x y", &p, &lines), 1);
	ck_assert_str_eq(p.hist, "maphist");
}
END_TEST

START_TEST(test_error_then_go_on)
{
	struct kva_params p;
	int errors, lines;

	kva_params_default(&p);
	errors = parse("physmem=12Q,kva=16G,foo=1,stats=1,debug=7,"
	    "swap=/s", &p, &lines);
	ck_assert_int_eq(errors, 3);
	ck_assert_int_eq(lines, 3);
	ck_assert_uint_eq(p.physmem, 0);
	ck_assert_uint_eq(p.kva, 16 * GiB);
	ck_assert_int_eq(p.stats, 1);
	ck_assert_int_eq(p.debug, 0);
	ck_assert_str_eq(p.swap, "/s");
}
END_TEST

START_TEST(test_error_too_long)
{
	char opts[1024], *q;
	struct kva_params p;
	int i, lines;

	/* a path as long as the field: no room for the NUL */
	q = opts + sprintf(opts, "swap=/");
	for (i = 1; i < KVA_PATH_MAX; i++)
		*q++ = 'p';
	*q = '\0';
	kva_params_default(&p);
	ck_assert_int_eq(parse(opts, &p, &lines), 1);
	ck_assert_int_eq(lines, 1);
	ck_assert(is_default(&p));
	/* the message quotes a shortened value */
	ck_assert_uint_lt(outlen, 200);
	ck_assert_ptr_nonnull(strstr(out, "...\" for swap"));

	/* one byte shorter fits */
	opts[strlen(opts) - 1] = '\0';
	parse_ok(opts, &p);
	ck_assert_uint_eq(strlen(p.swap), KVA_PATH_MAX - 1);

	/* a list that does not fit, built of good names */
	q = opts + sprintf(opts, "hist=");
	for (i = 0; i < KVA_HIST_MAX / 4 + 1; i++)
		q += sprintf(q, "%sabc", i ? "," : "");
	kva_params_default(&p);
	ck_assert_int_eq(parse(opts, &p, &lines), 1);
	ck_assert_int_eq(lines, 1);
	ck_assert(is_default(&p));
}
END_TEST

START_TEST(test_error_unprintable)
{
	struct kva_params p;
	int lines;

	kva_params_default(&p);
	ck_assert_int_eq(parse("kva=1\001\"\n2", &p, &lines), 1);
	ck_assert_int_eq(lines, 1);
	ck_assert_str_eq(out, "kva: KVA_OPTIONS: bad value \"1???2\" for kva, "
	    "keeping the default\n");
}
END_TEST

/*
 * No allocation.
 */
START_TEST(test_no_allocation)
{
	static const char *const inputs[] = {
		"physmem=64M,swap=/x,hist=a,b,c,stats=1",
		"physmem=12Q,bogus,stats,hist=-",	/* the error paths */
	};
	struct kva_params p;
	int devnull, saved, errors[2], lines, i;
	long counted;
	void *probe;

	/*
	 * Valgrind replaces malloc, ours included, so there is nothing to
	 * count under it.  Elsewhere, check that the counter works, calling
	 * through a pointer so that the compiler cannot inline our malloc,
	 * and through libc (strdup), as the parser's callees would.
	 */
	if (kva_track_on_valgrind())
		return;
	alloc_counting = 1;
	probe = malloc_ptr(16);
	free(probe);
	probe = strdup("x");
	alloc_counting = 0;
	free(probe);
	ck_assert_int_eq(alloc_count, 2);

	/* a first run, not counted, in case formatting has lazy set-up */
	kva_params_default(&p);
	ck_assert_int_eq(parse(inputs[1], &p, &lines), 4);

	devnull = open("/dev/null", O_WRONLY);
	ck_assert_int_ge(devnull, 0);
	saved = dup(2);
	ck_assert_int_ge(saved, 0);
	dup2(devnull, 2);
	alloc_count = 0;
	alloc_counting = 1;
	for (i = 0; i < 2; i++) {
		kva_params_default(&p);
		errors[i] = kva_options_parse(inputs[i], &p);
	}
	alloc_counting = 0;
	counted = alloc_count;
	dup2(saved, 2);
	close(saved);
	close(devnull);

	ck_assert_int_eq(errors[0], 0);
	ck_assert_int_eq(errors[1], 4);
	ck_assert_int_eq(counted, 0);
}
END_TEST

static Suite *
options_suite(void)
{
	Suite *s = suite_create("options");
	TCase *tc;

	tc = tcase_create("defaults");
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_null_and_empty);
	suite_add_tcase(s, tc);

	tc = tcase_create("keys");
	tcase_add_test(tc, test_every_key);
	tcase_add_test(tc, test_last_value_wins);
	tcase_add_test(tc, test_debug_levels);
	suite_add_tcase(s, tc);

	tc = tcase_create("sizes");
	tcase_add_test(tc, test_size_suffixes);
	tcase_add_test(tc, test_size_len);
	tcase_add_test(tc, test_size_malformed);
	tcase_add_test(tc, test_size_overflow);
	suite_add_tcase(s, tc);

	tc = tcase_create("syntax");
	tcase_add_test(tc, test_blanks);
	tcase_add_test(tc, test_hist_list);
	tcase_add_test(tc, test_hist_blanks);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, test_error_case, 0, NERROR_CASES);
	tcase_add_test(tc, test_error_message);
	tcase_add_test(tc, test_error_keeps_earlier_value);
	tcase_add_test(tc, test_error_then_go_on);
	tcase_add_test(tc, test_error_too_long);
	tcase_add_test(tc, test_error_unprintable);
	suite_add_tcase(s, tc);

	tc = tcase_create("alloc");
	tcase_add_test(tc, test_no_allocation);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(options_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
