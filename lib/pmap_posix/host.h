/*
 * host.h: thin wrappers over the host's system calls, private to
 * lib/pmap_posix/.
 *
 * Every wrapper returns 0 (or a value) on success and -errno on failure,
 * and leaves errno as it found it: the malloc shim calls through here and
 * must not disturb the program's errno.  hostcalls counts every call, for
 * the statistics.
 */
#ifndef KVA_HOST_H
#define KVA_HOST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* reserve len bytes of PROT_NONE, MAP_NORESERVE address space; at va if
 * va != 0 (MAP_FIXED).  => address, or 0 with *err = -errno */
uintptr_t host_reserve(uintptr_t va, size_t len, int *err);
/* anonymous read-write memory at va (MAP_FIXED, NORESERVE) */
int host_map_anon_rw(uintptr_t va, size_t len);
/* map len bytes of fd at offset off to va, shared, fixed; prot is a
 * VM_PROT_* mask; populate pre-faults the pages */
int host_map_file(uintptr_t va, size_t len, int prot, int fd, off_t off,
    int populate);
int host_protect(uintptr_t va, size_t len, int prot);
/* move the mapping at [from, from + len) to to, page tables and all;
 * the old range stays mapped, with no pages (host.c) */
int host_move(uintptr_t from, size_t len, uintptr_t to);
int host_unmap(uintptr_t va, size_t len);
int host_dontneed(uintptr_t va, size_t len);
int host_memfd(const char *name);
int host_ftruncate(int fd, off_t len);
int host_punch(int fd, off_t off, off_t len);
int host_pwrite(int fd, const void *buf, size_t len, off_t off);
int host_close(int fd);
long host_max_map_count(void);
long host_count_maps(void);	/* lines of /proc/self/maps, or -errno */

extern long host_ncalls;	/* system calls made through here */

#endif /* KVA_HOST_H */

/* copy len bytes at off from fd_in to fd_out (same offset);
 * copy_file_range, falling back to pwrite from src when the host lacks it,
 * or, with src NULL, to pread from fd_in through a buffer */
int host_copy_range(int fd_in, int fd_out, off_t off, size_t len,
    const void *src);

/*
 * pmap.c's side of the background zeroer (pmap_async.c).
 */
/* the memfd that holds pa (at offset pa), and in *span the bytes from pa
 * on that it holds contiguously (pmap.c, section 8) */
int pmap_physmem_fd(paddr_t pa, size_t *span);
uintptr_t pmap_dmap_va(paddr_t pa);	/* direct-map address, no side effect */
/* pmap_zero_prepare: frames [pa, pa + len), free and in transit, are
 * about to be zeroed (punch 0) or punched (punch 1): their deferred
 * zeroing is dropped, and so is PMD_DMAP.  => true if some were PMD_DMAP
 * (populated in the direct map: the caller drops those entries). */
int pmap_zero_prepare(paddr_t pa, size_t len, int punch);
