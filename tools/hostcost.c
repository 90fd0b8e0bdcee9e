/*
 * hostcost: what the host charges for the page-table events kva is built
 * on, measured with plain system calls and no kva, so that a benchmark's
 * ratio can be read against what this machine allows.
 *
 * Each row touches NPAGES pages (one write each) of a memfd or anonymous
 * mapping after one kind of change and prints the median nanoseconds per
 * page over ROUNDS rounds, and its ratio to the same touch of pages
 * already touched at that VA (nothing changed: the floor).  On a host with
 * hardware nested paging the rows are close to one another; on a
 * shadow-paging host (PVM) every page whose host page-table entry is new,
 * or was made PROT_NONE, exits to the hypervisor on its first touch,
 * while mremap of whole aligned 2 MiB page tables keeps the host's
 * entries (what the shim's chunk pool relies on, lib/malloc/large.c).
 *
 * Usage: hostcost [npages]   (default 4096, a multiple of 512)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

#define PS	4096UL
#define SPAN	(2UL << 20)
#define ROUNDS	7

static size_t npages = 4096;
static int memfd;
static char *area;		/* 4 spans of room per size, 2 MiB aligned */

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

/* touch: one write to every page; => ns per page */
static double
touch(char *p)
{
	uint64_t t0 = now_ns();
	size_t i;

	for (i = 0; i < npages; i++)
		((volatile char *)p)[i * PS] = (char)i;
	return (double)(now_ns() - t0) / (double)npages;
}

static char *
map_memfd(char *at)
{
	char *p = mmap(at, npages * PS, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_FIXED | MAP_POPULATE, memfd, 0);

	if (p == MAP_FAILED)
		die("mmap memfd");
	return p;
}

static void
reserve(char *at)
{
	if (mmap(at, npages * PS, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
	    MAP_FIXED | MAP_NORESERVE, -1, 0) == MAP_FAILED)
		die("mmap reserve");
}

static void
xprotect(char *p, int prot)
{
	if (mprotect(p, npages * PS, prot) != 0)
		die("mprotect");
}

/* one round of each case; => ns per page */
static double
c_again(void)
{
	char *p = map_memfd(area);
	double ns;

	touch(p);
	ns = touch(p);
	reserve(p);
	return ns;
}

static double
c_fresh(void)
{
	char *p = map_memfd(area);
	double ns = touch(p);

	reserve(p);
	return ns;
}

/* made prot, then read-write again */
static double
reprotected(int prot)
{
	char *p = map_memfd(area);
	double ns;

	touch(p);
	xprotect(p, prot);
	xprotect(p, PROT_READ | PROT_WRITE);
	ns = touch(p);
	reserve(p);
	return ns;
}

static double c_none_rw(void) { return reprotected(PROT_NONE); }
static double c_read_rw(void) { return reprotected(PROT_READ); }

/* mremap to another 2 MiB-aligned VA; off shifts the destination by a
 * page, so that no page table can move whole */
static double
moved(size_t off)
{
	char *p = map_memfd(area), *q = area + 2 * npages * PS + off;
	double ns;

	touch(p);
	if (mremap(p, npages * PS, npages * PS, MREMAP_MAYMOVE | MREMAP_FIXED |
	    MREMAP_DONTUNMAP, q) == MAP_FAILED)
		die("mremap");
	reserve(p);
	ns = touch(q);
	reserve(q);
	return ns;
}

static double c_moved(void) { return moved(0); }
static double c_moved_unaligned(void) { return moved(PS); }

static double
c_anon(void)
{
	char *p = mmap(area, npages * PS, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	double ns;

	if (p == MAP_FAILED)
		die("mmap anon");
	ns = touch(p);
	reserve(p);
	return ns;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static const struct {
	const char *name;
	double (*fn)(void);
} cases[] = {
	{ "touched again, nothing changed (floor)", c_again },
	{ "memfd, fresh populated mapping", c_fresh },
	{ "memfd, after PROT_NONE and back", c_none_rw },
	{ "memfd, after PROT_READ and back", c_read_rw },
	{ "memfd, mremap'd, 2 MiB aligned", c_moved },
	{ "memfd, mremap'd, page aligned", c_moved_unaligned },
	{ "anonymous, first touch", c_anon },
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

int
main(int argc, char **argv)
{
	double ns[NCASES][ROUNDS], med[NCASES];
	char *res;
	size_t c;
	int r;

	if (argc > 1)
		npages = strtoul(argv[1], NULL, 0);
	if (npages == 0 || npages % 512 != 0 || npages > (1UL << 20)) {
		fprintf(stderr, "usage: hostcost [npages, a multiple of 512]\n");
		return 2;
	}
	if ((memfd = memfd_create("hostcost", MFD_CLOEXEC)) < 0)
		die("memfd_create");
	if (ftruncate(memfd, (off_t)(npages * PS)) != 0)
		die("ftruncate");
	res = mmap(NULL, 4 * npages * PS + SPAN, PROT_NONE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED)
		die("mmap");
	area = (char *)(((uintptr_t)res + SPAN - 1) & ~(uintptr_t)(SPAN - 1));
	/* rounds interleave the cases, so that load shifts hit them alike */
	for (r = 0; r < ROUNDS; r++)
		for (c = 0; c < NCASES; c++)
			ns[c][r] = cases[c].fn();
	printf("hostcost: %zu pages a round, median of %d rounds\n", npages,
	    ROUNDS);
	printf("%-42s %10s %8s\n", "touch of a page", "ns/page", "x floor");
	for (c = 0; c < NCASES; c++) {
		qsort(ns[c], ROUNDS, sizeof(double), cmp);
		med[c] = ns[c][ROUNDS / 2];
	}
	for (c = 0; c < NCASES; c++)
		printf("%-42s %10.0f %8.1f\n", cases[c].name, med[c],
		    med[c] / med[0]);
	return 0;
}
