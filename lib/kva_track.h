/*
 * kva_track.h: the one place where kva talks to valgrind.
 *
 * Valgrind's memcheck keeps, for every byte, whether it may be accessed
 * and whether its value is defined.  It learns this from malloc, mmap and
 * munmap, which it sees; it cannot see what kva does with a page of the
 * memfd, because to the host every kernel page is the same shared file
 * mapping.  The client requests below tell it, and they are the only ones
 * kva makes (ARCHITECTURE.md, Valgrind).  Outside valgrind each costs a
 * few instructions that do nothing; built without <valgrind/memcheck.h>
 * (configure defines HAVE_VALGRIND_MEMCHECK_H when it is there) they
 * compile to nothing at all.
 *
 * When each is used:
 *
 *  kva_track_defined(addr, len)
 *	a page has been mapped at a kernel VA and its contents are known:
 *	a zero-filled page (zero fill on fault, uvm_km_zalloc, a page that
 *	was PG_ZERO), or a page read back from swap or copied from another.
 *	Also after a page is zeroed in place through the direct map.
 *
 *  kva_track_undefined(addr, len)
 *	a page has been mapped whose contents are whatever its last user
 *	left: a reused page handed out without zeroing (uvm_km_alloc1 with
 *	zeroit FALSE, pool pages).  Reading it before writing is then
 *	reported, as reading fresh malloc memory is.
 *
 *  kva_track_noaccess(addr, len)
 *	a range has been given back (uvm_km_free, uvm_unmap, the free side
 *	of a pool page) or is a guard.  Any access to it is reported with
 *	the stack of the access, even where the host would not fault (the
 *	direct map, a page that is still mapped until pmap_update runs).
 *
 *  kva_track_malloclike(addr, size, redzone, zeroed)
 *  kva_track_freelike(addr, redzone)
 *  kva_track_resizeinplace(addr, oldsize, newsize, redzone)
 *	for allocators built on kva (the kernel malloc, pools, the malloc
 *	shim): a block handed out, given back, or grown or shrunk where it
 *	stands.  Memcheck then treats the block as a heap block: leaks of it
 *	are reported by the leak check, accesses after the free or in the
 *	redzone (bytes on each side that the allocator keeps unused) are
 *	errors, and reports name the allocating and freeing stacks.  A block
 *	announced by malloclike must be withdrawn by freelike before its
 *	memory is reused or its pages freed; after freelike, the range is
 *	NOACCESS.  zeroed: the block's contents are zero (calloc, PG_ZERO
 *	pages) and so defined.
 *
 *  kva_track_on_valgrind()
 *	non-zero when the program runs under valgrind: kva_init picks a
 *	smaller default kernel VA then, because valgrind refuses a 64 GiB
 *	reservation.
 *
 * Rules: the page-level calls (defined, undefined, noaccess) belong to the
 * layer that maps and unmaps, the pmap and uvm_km; the block-level calls
 * belong to the allocator that hands out the block.  A block's calls are
 * made with the allocator's lock held, so that valgrind sees them in the
 * same order as the allocator's own state changes.
 */
#ifndef KVA_TRACK_H
#define KVA_TRACK_H

#include <stddef.h>

#if defined(HAVE_VALGRIND_MEMCHECK_H) && !defined(KVA_NO_VALGRIND)
#include <valgrind/memcheck.h>	/* and, through it, valgrind.h */
#define KVA_TRACK_VALGRIND 1
#else
#define KVA_TRACK_VALGRIND 0
#endif

#if KVA_TRACK_VALGRIND

static inline int
kva_track_on_valgrind(void)
{
	return RUNNING_ON_VALGRIND != 0;
}

static inline void
kva_track_defined(const void *addr, size_t len)
{
	(void)VALGRIND_MAKE_MEM_DEFINED(addr, len);
}

static inline void
kva_track_undefined(const void *addr, size_t len)
{
	(void)VALGRIND_MAKE_MEM_UNDEFINED(addr, len);
}

static inline void
kva_track_noaccess(const void *addr, size_t len)
{
	(void)VALGRIND_MAKE_MEM_NOACCESS(addr, len);
}

static inline void
kva_track_malloclike(const void *addr, size_t size, size_t redzone,
    int zeroed)
{
	VALGRIND_MALLOCLIKE_BLOCK(addr, size, redzone, zeroed);
}

static inline void
kva_track_freelike(const void *addr, size_t redzone)
{
	VALGRIND_FREELIKE_BLOCK(addr, redzone);
}

static inline void
kva_track_resizeinplace(const void *addr, size_t oldsize, size_t newsize,
    size_t redzone)
{
	VALGRIND_RESIZEINPLACE_BLOCK(addr, oldsize, newsize, redzone);
}

#else /* !KVA_TRACK_VALGRIND */

static inline int
kva_track_on_valgrind(void)
{
	return 0;
}

static inline void
kva_track_defined(const void *addr, size_t len)
{
	(void)addr;
	(void)len;
}

static inline void
kva_track_undefined(const void *addr, size_t len)
{
	(void)addr;
	(void)len;
}

static inline void
kva_track_noaccess(const void *addr, size_t len)
{
	(void)addr;
	(void)len;
}

static inline void
kva_track_malloclike(const void *addr, size_t size, size_t redzone,
    int zeroed)
{
	(void)addr;
	(void)size;
	(void)redzone;
	(void)zeroed;
}

static inline void
kva_track_freelike(const void *addr, size_t redzone)
{
	(void)addr;
	(void)redzone;
}

static inline void
kva_track_resizeinplace(const void *addr, size_t oldsize, size_t newsize,
    size_t redzone)
{
	(void)addr;
	(void)oldsize;
	(void)newsize;
	(void)redzone;
}

#endif /* KVA_TRACK_VALGRIND */

#endif /* KVA_TRACK_H */
