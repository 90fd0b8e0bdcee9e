/*
 * kvastat.c: kva's counters, maps and malloc size classes, read from a
 * running process's statistics file (kvastat(1)).
 *
 *	kvastat                 the kva processes of this user
 *	kvastat PID             counters (like vmstat -s), map usage, shim
 *	kvastat -w SEC [PID]    one line per interval, like vmstat
 *	kvastat -m PID          a picture of kernel_map and its submaps
 *
 * PID may also be the path of a statistics file.  Every section is
 * copied out of the file with kva_sf_read (kva_statsfile.h, section 2)
 * before it is printed, so the figures of one section belong together.
 */
#include "kvatool.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *prog = "kvastat";

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: kvastat [PID]\n"
	    "       kvastat -w SEC [-c COUNT] PID\n"
	    "       kvastat -m PID\n"
	    "PID may be the path of a statistics file.\n");
}

static void
read_or_die(const uint64_t *seq, const void *sec, void *dst, size_t len,
    const char *what)
{
	if (kva_sf_read(seq, sec, dst, len) != 0) {
		fprintf(stderr, "%s: the %s section never settled (its writer "
		    "died inside it?)\n", prog, what);
		exit(1);
	}
}

static void
print_header(const struct kva_statsfile *sf)
{
	struct kva_sf_header h;
	double ago;
	struct timespec ts;

	read_or_die(&sf->hdr.seq, &sf->hdr, &h, sizeof(h), "header");
	clock_gettime(CLOCK_REALTIME, &ts);
	ago = ((double)ts.tv_sec * 1e9 + (double)ts.tv_nsec -
	    (double)h.publish_ns) / 1e9;
	printf("kva process %" PRId64 " (%.16s), uid %u, up %.1f s; "
	    "published %.2f s ago (%" PRIu64 " times)\n", h.pid, h.comm,
	    h.uid, kt_uptime(sf), ago, h.npublish);
	printf("kernel VA %#" PRIx64 "-%#" PRIx64 " (%" PRIu64 " MiB), "
	    "physmem cap %" PRIu64 " MiB, page %" PRIu64 " bytes\n",
	    h.kva_base, h.kva_base + h.kva_size, h.kva_size >> 20,
	    h.physmem >> 20, h.pagesize);
}

static void
print_counters(const struct kva_statsfile *sf)
{
	struct kva_sf_uvmexp u;

	read_or_die(&sf->uvmexp.seq, &sf->uvmexp, &u, sizeof(u), "uvmexp");
#define KVA_SF_X(f, d) printf("%12" PRId64 " %s\n", u.f, d);
	KVA_SF_UVMEXP_FIELDS(KVA_SF_X)
#undef KVA_SF_X
}

static void
print_maps(const struct kva_sf_maps *m, uint64_t pagesize)
{
	uint32_t i;

	printf("\n%-14s %14s %14s %10s %8s %9s %9s %9s\n", "map", "start",
	    "end", "allocated", "entries", "wired", "pageable", "other");
	for (i = 0; i < m->nmaps && i < KVA_SF_MAXMAPS; i++) {
		const struct kva_sf_map *p = &m->map[i];
		char name[64];

		snprintf(name, sizeof(name), "%*s%.*s", p->depth * 2, "",
		    KVA_SF_NAMELEN, p->name);
		printf("%-14s %#14" PRIx64 " %#14" PRIx64 " %9" PRIu64 "K %8"
		    PRIu64 " %8" PRIu64 "K %8" PRIu64 "K %8" PRIu64 "K\n", name,
		    p->start, p->end, p->size >> 10, p->nentries,
		    p->wired * pagesize >> 10, p->pageable * pagesize >> 10,
		    p->other * pagesize >> 10);
	}
	printf("(resident memory; other: counted by 2 MiB chunk, wired or "
	    "pageable)\n");
}

static void
print_shim(const struct kva_sf_shim *s)
{
	uint32_t c;

	if (!s->present) {
		printf("\nno malloc shim (the program does not run on "
		    "libkvamalloc)\n");
		return;
	}
	printf("\nmalloc shim size classes:\n%10s %10s %10s %10s %8s %12s\n",
	    "size", "in use", "cached", "peak", "slabs", "bytes in use");
	for (c = 0; c < s->nclass && c < KVA_SF_NCLASS; c++) {
		const struct kva_sf_class *k = &s->cls[c];

		if (k->slabs == 0 && k->peak == 0)
			continue;
		printf("%10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64
		    " %8" PRIu64 " %12" PRIu64 "\n", k->size, k->inuse,
		    k->cached, k->peak, k->slabs, k->inuse * k->size);
	}
	printf("small: %" PRIu64 " bytes in use, %" PRIu64 " cached, %" PRIu64
	    " held in slabs, peak %" PRIu64 "; descriptors %" PRIu64 "\n",
	    s->small_inuse, s->cached, s->small_held, s->small_peak, s->meta);
	printf("large: %" PRIu64 " blocks, %" PRIu64 " bytes, peak %" PRIu64
	    "; %" PRIu64 " allocated, %" PRIu64 " grown in place, %" PRIu64
	    " moved; page cache %" PRIu64 ", quarantine %" PRIu64 " bytes\n",
	    s->large_blocks, s->large_bytes, s->large_peak, s->large_nalloc,
	    s->large_inplace, s->large_moved, s->pcache_bytes,
	    s->quarantine_bytes);
	printf("large: parked %" PRIu64 " blocks, %" PRIu64 " bytes, slack %"
	    PRIu64 " bytes; %" PRIu64 " allocations from parked blocks\n",
	    s->parked_blocks, s->parked_bytes, s->slack_bytes, s->park_hits);
}

static int
cmd_show(const struct kva_statsfile *sf)
{
	static struct kva_sf_maps m;
	static struct kva_sf_shim s;

	print_header(sf);
	print_counters(sf);
	read_or_die(&sf->maps.seq, &sf->maps, &m, sizeof(m), "maps");
	print_maps(&m, sf->hdr.pagesize);
	read_or_die(&sf->shim.seq, &sf->shim, &s, sizeof(s), "shim");
	print_shim(&s);
	return 0;
}

/*
 * -m: the map picture.
 */
static const char *
kind_name(const struct kva_sf_entry *e, const struct kva_sf_maps *m)
{
	static const char *const names[] = {
		[KVA_SF_NONE] = "(no object)",
		[KVA_SF_KOBJ] = "kernel_object",
		[KVA_SF_KMEMOBJ] = "kmem_object",
		[KVA_SF_MBOBJ] = "mb_object",
		[KVA_SF_AOBJ] = "aobj",
		[KVA_SF_OBJ] = "object",
		[KVA_SF_SUBMAP] = "submap",
	};

	if (e->kind == KVA_SF_SUBMAP && e->submap < m->nmaps &&
	    e->submap < KVA_SF_MAXMAPS)
		return m->map[e->submap].name;
	return e->kind < sizeof(names) / sizeof(names[0]) ? names[e->kind] : "?";
}

static void
prot_str(unsigned p, char *b)
{
	b[0] = (p & 1) ? 'r' : '-';
	b[1] = (p & 2) ? 'w' : '-';
	b[2] = (p & 4) ? 'x' : '-';
	b[3] = '\0';
}

static int
cmd_maps(const struct kva_statsfile *sf)
{
	static struct kva_sf_maps m;
	static struct kva_sf_entries en;
	uint64_t psz = sf->hdr.pagesize;
	uint32_t i;

	read_or_die(&sf->maps.seq, &sf->maps, &m, sizeof(m), "maps");
	read_or_die(&sf->entries.seq, &sf->entries, &en, sizeof(en),
	    "entries");
	if (m.nmaps == 0) {
		printf("no map published yet\n");
		return 0;
	}
	printf("%s %#" PRIx64 "-%#" PRIx64 " (%" PRIu64 " MiB), %" PRIu64
	    " entries, %" PRIu64 " KiB allocated, resident %" PRIu64
	    " KiB wired + %" PRIu64 " KiB pageable + %" PRIu64 " KiB other\n",
	    m.map[0].name, m.map[0].start, m.map[0].end,
	    (m.map[0].end - m.map[0].start) >> 20, m.map[0].nentries,
	    m.map[0].size >> 10, m.map[0].wired * psz >> 10,
	    m.map[0].pageable * psz >> 10, m.map[0].other * psz >> 10);
	for (i = 0; i < en.n && i < KVA_SF_MAXENT; i++) {
		const struct kva_sf_entry *e = &en.e[i];
		int ind = 2 + 2 * e->depth;
		char pb[4], mb[4], res[64];

		prot_str(e->prot, pb);
		prot_str(e->maxprot, mb);
		if (e->kind == KVA_SF_SUBMAP) {
			const struct kva_sf_map *s = e->submap < KVA_SF_MAXMAPS ?
			    &m.map[e->submap] : NULL;

			printf("%*s%#014" PRIx64 "-%#014" PRIx64 " %10" PRIu64
			    " KiB %s/%s submap %s: %" PRIu64 " entries, %"
			    PRIu64 " KiB allocated, resident pages %" PRIu64
			    " wired + %" PRIu64 " pageable + %" PRIu64
			    " other\n", ind, "", e->start, e->end,
			    (e->end - e->start) >> 10, pb, mb, kind_name(e, &m),
			    s ? s->nentries : 0, s ? s->size >> 10 : 0,
			    s ? s->wired : 0, s ? s->pageable : 0,
			    s ? s->other : 0);
			continue;
		}
		if (e->kind == KVA_SF_NONE && !(e->flags & KVA_SF_E_APPROX))
			snprintf(res, sizeof(res), "-");
		else if (e->flags & KVA_SF_E_APPROX)
			snprintf(res, sizeof(res), "<=%" PRIu64 " resident "
			    "pages", e->resident);
		else
			snprintf(res, sizeof(res), "%" PRIu64 " resident "
			    "pages", e->resident);
		printf("%*s%#014" PRIx64 "-%#014" PRIx64 " %10" PRIu64
		    " KiB %s/%s %-14s %-8s %s\n", ind, "", e->start, e->end,
		    (e->end - e->start) >> 10, pb, mb, kind_name(e, &m),
		    e->kind == KVA_SF_NONE && !(e->flags & KVA_SF_E_APPROX) ? "" :
		    (e->flags & KVA_SF_E_APPROX) ? "?" :
		    e->resident != 0 && e->wired == e->resident ? "wired" :
		    e->wired != 0 ? "mixed" : "pageable", res);
	}
	if (en.total > en.n)
		printf("  ... %u more entries not in the picture (it holds "
		    "%d)\n", en.total - en.n, KVA_SF_MAXENT);
	return 0;
}

/*
 * -w: one line per interval.
 */
static int
cmd_watch(struct kt_file *f, double sec, long count)
{
	struct kva_sf_uvmexp prev, u;
	static struct kva_sf_maps m;
	static struct kva_sf_shim s;
	struct timespec ts;
	long line;

	read_or_die(&f->sf->uvmexp.seq, &f->sf->uvmexp, &prev, sizeof(prev),
	    "uvmexp");
	ts.tv_sec = (time_t)sec;
	ts.tv_nsec = (long)((sec - (double)ts.tv_sec) * 1e9);
	for (line = 0; count <= 0 || line < count; line++) {
		uint64_t used = 0;
		uint32_t i;

		if (line % 20 == 0)
			printf("%8s %8s %8s %8s %9s %9s %8s %9s %10s %11s\n",
			    "free", "wired", "active", "inactive", "faults/s",
			    "pgin/s", "hostmaps", "hcalls/s", "kmem KiB",
			    "malloc KiB");
		nanosleep(&ts, NULL);
		if (!kt_alive(f->sf)) {
			printf("process %ld has exited\n", f->pid);
			return 0;
		}
		read_or_die(&f->sf->uvmexp.seq, &f->sf->uvmexp, &u, sizeof(u),
		    "uvmexp");
		read_or_die(&f->sf->maps.seq, &f->sf->maps, &m, sizeof(m),
		    "maps");
		read_or_die(&f->sf->shim.seq, &f->sf->shim, &s, sizeof(s),
		    "shim");
		for (i = 1; i < m.nmaps && i < KVA_SF_MAXMAPS; i++)
			if (m.map[i].depth == 1)
				used += m.map[i].size;
		printf("%8" PRId64 " %8" PRId64 " %8" PRId64 " %8" PRId64
		    " %9.0f %9.0f %8" PRId64 " %9.0f %10" PRIu64 " %11" PRIu64
		    "\n", u.free, u.wired, u.active, u.inactive,
		    (double)(u.faults - prev.faults) / sec,
		    (double)(u.pageins - prev.pageins) / sec, u.hostmaps,
		    (double)(u.hostcalls - prev.hostcalls) / sec, used >> 10,
		    s.present ? (s.small_inuse + s.large_bytes) >> 10 : 0);
		fflush(stdout);
		prev = u;
	}
	return 0;
}

/*
 * No PID: the list.
 */
static void
list_one(struct kt_file *f, void *arg)
{
	struct kva_sf_header h;
	struct kva_sf_uvmexp u;

	(void)arg;
	if (kva_sf_read(&f->sf->hdr.seq, &f->sf->hdr, &h, sizeof(h)) != 0 ||
	    KVA_SF_READ(&f->sf->uvmexp, &u) != 0)
		return;
	printf("%8" PRId64 " %-16.16s %9.1f %10" PRId64 " %10" PRId64
	    " %10" PRId64 "\n", h.pid, h.comm, kt_uptime(f->sf), u.npages,
	    u.free, u.faults);
}

int
main(int argc, char **argv)
{
	struct kt_file f;
	double sec = 0;
	long count = 0;
	int ch, maps = 0, rv;

	while ((ch = getopt(argc, argv, "w:c:mh")) != -1) {
		switch (ch) {
		case 'w':
			sec = strtod(optarg, NULL);
			if (!(sec > 0)) {
				fprintf(stderr, "%s: -w: a positive number of "
				    "seconds\n", prog);
				return 2;
			}
			break;
		case 'c':
			count = strtol(optarg, NULL, 10);
			break;
		case 'm':
			maps = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind == argc) {
		if (maps || sec > 0) {
			usage(stderr);
			return 2;
		}
		printf("%8s %-16s %9s %10s %10s %10s\n", "PID", "COMMAND",
		    "UP (s)", "PAGES", "FREE", "FAULTS");
		if (kt_list(prog, list_one, NULL) == 0)
			printf("(no kva process of uid %u is running)\n",
			    (unsigned)getuid());
		return 0;
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return 2;
	}
	if (kt_open(prog, argv[optind], &f) != 0)
		return 1;
	if (maps)
		rv = cmd_maps(f.sf);
	else if (sec > 0)
		rv = cmd_watch(&f, sec, count);
	else
		rv = cmd_show(f.sf);
	kt_close(&f);
	return rv;
}
