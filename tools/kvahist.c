/*
 * kvahist.c: the UVMHIST entries of a running kva process, formatted,
 * oldest first (kvahist(1)).
 *
 *	kvahist [-f] PID [HIST...]
 *
 * Without HIST, every history that is on.  Entries of several
 * histories are merged by time, as NetBSD's kernhist dump does.  -f
 * keeps reading: every 200 ms the entries logged since are printed,
 * with a note when the ring went round faster than kvahist read it.
 * Entries are read as kva_sfread.c says: a torn or overwritten one is
 * skipped, never misread.
 */
#include "kvatool.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *prog = "kvahist";

struct item {
	struct kva_sf_histent e;
	unsigned h;
};

static int
item_cmp(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	if (x->e.ts != y->e.ts)
		return x->e.ts < y->e.ts ? -1 : 1;
	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	return x->e.seq < y->e.seq ? -1 : x->e.seq > y->e.seq;
}

/* collect: entries [from[h], next) of every selected history; from[h]
 * moves to next.  => items, in *items (malloc'd), or -1 */
static long
collect(const struct kva_statsfile *sf, const int *sel, uint64_t *from,
    struct item **items, int follow)
{
	struct item *v = NULL;
	long n = 0, cap = 0;
	unsigned h;

	for (h = 0; h < KVA_SF_NHIST; h++) {
		uint64_t next, i;

		if (!sel[h])
			continue;
		next = __atomic_load_n(&sf->hist[h].next, __ATOMIC_ACQUIRE);
		i = from[h];
		if (next > KVA_SF_HISTENT && i < next - KVA_SF_HISTENT) {
			if (follow && from[h] != 0)
				printf("%s: %" PRIu64 " entries lost (the ring "
				    "went round)\n", sf->hdr.hist_name[h],
				    next - KVA_SF_HISTENT - i);
			i = next - KVA_SF_HISTENT;
		}
		for (; i < next; i++) {
			if (n == cap) {
				cap = cap ? cap * 2 : 1024;
				v = realloc(v, (size_t)cap * sizeof(*v));
				if (v == NULL) {
					fprintf(stderr, "%s: out of memory\n",
					    prog);
					exit(1);
				}
			}
			if (kva_sf_hist_get(sf, h, i, &v[n].e)) {
				v[n].h = h;
				n++;
			}
		}
		from[h] = next;
	}
	qsort(v, (size_t)n, sizeof(*v), item_cmp);
	*items = v;
	return n;
}

static void
print_items(const struct kva_statsfile *sf, const struct item *v, long n)
{
	char line[512];
	long i;

	for (i = 0; i < n; i++) {
		kva_sf_hist_format(sf, v[i].h, &v[i].e, line, sizeof(line));
		printf("%-9.16s %s\n", sf->hdr.hist_name[v[i].h], line);
	}
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	const struct timespec tick = { 0, 200 * 1000000L };
	int sel[KVA_SF_NHIST] = { 0 };
	uint64_t from[KVA_SF_NHIST] = { 0 };
	struct kt_file f;
	struct item *v;
	int ch, follow = 0, i, any = 0;
	unsigned h, nhist;
	long n;

	while ((ch = getopt(argc, argv, "fh")) != -1) {
		switch (ch) {
		case 'f':
			follow = 1;
			break;
		case 'h':
			printf("usage: kvahist [-f] PID [HIST...]\n");
			return 0;
		default:
			fprintf(stderr, "usage: kvahist [-f] PID [HIST...]\n");
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: kvahist [-f] PID [HIST...]\n");
		return 2;
	}
	if (kt_open(prog, argv[optind], &f) != 0)
		return 1;
	nhist = f.sf->hdr.nhist < KVA_SF_NHIST ? f.sf->hdr.nhist :
	    KVA_SF_NHIST;
	for (i = optind + 1; i < argc; i++) {
		int found = 0;

		for (h = 0; h < nhist; h++)
			if (strcmp(argv[i], "all") == 0 ||
			    strncmp(argv[i], f.sf->hdr.hist_name[h], 16) == 0) {
				sel[h] = 1;
				found = 1;
			}
		if (!found) {
			fprintf(stderr, "%s: process %ld has no history named "
			    "\"%s\"\n", prog, f.pid, argv[i]);
			kt_close(&f);
			return 1;
		}
	}
	if (optind + 1 == argc) {
		uint32_t on = __atomic_load_n(&f.sf->hdr.hist_on,
		    __ATOMIC_ACQUIRE);

		for (h = 0; h < nhist; h++)
			sel[h] = (on >> h) & 1;
	}
	for (h = 0; h < nhist; h++)
		any |= sel[h];
	if (!any) {
		fprintf(stderr, "%s: process %ld records no history (start it "
		    "with KVA_OPTIONS hist=maphist,... or hist=all)\n", prog,
		    f.pid);
		kt_close(&f);
		return 1;
	}
	for (;;) {
		n = collect(f.sf, sel, from, &v, follow);
		print_items(f.sf, v, n);
		free(v);
		if (!follow)
			break;
		if (!kt_alive(f.sf)) {
			printf("process %ld has exited\n", f.pid);
			break;
		}
		nanosleep(&tick, NULL);
	}
	kt_close(&f);
	return 0;
}
