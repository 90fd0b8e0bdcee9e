/*
 * kva_sdt.h: USDT probes of kva, for perf, bpftrace and SystemTap.
 *
 * 1. What a probe is.  A probe is a single nop instruction plus a note in
 *    the ELF section .note.stapsdt naming the provider ("kva"), the probe
 *    and where its arguments are (<sys/sdt.h>, Debian's
 *    systemtap-sdt-dev).  Nothing is evaluated unless a tracer has put a
 *    breakpoint on it, so a probe left in a hot path costs nothing
 *    measurable.  Without <sys/sdt.h> (configure defines HAVE_SYS_SDT_H
 *    when it finds it) every probe compiles to nothing.
 *
 * 2. Using them.  perf finds the notes of a library it has cached:
 *        perf buildid-cache --add /usr/local/lib/libkva.so.0
 *        perf list 'sdt_kva:*'
 *        perf probe sdt_kva:fault
 *        perf record -e sdt_kva:fault -- prog
 *    tools/kvaperf does all of that (kvaperf(1)).
 *
 * 3. The probes and their arguments (all integers; addresses as
 *    unsigned long):
 *        fault        va, access (VM_PROT_*)        uvm_fault entry
 *        fault_done   va, result (KERN_*)           kva_fault (trap.c)
 *        page_alloc   pa, object, offset            uvm_pagealloc
 *        page_free    pa                            uvm_pagefree
 *        pageout      pa, object, offset            the page daemon
 *        pagein       pa, object, offset            a pager's read
 *        km_alloc     map, va, size                 uvm_km allocations
 *        km_free      map, va, size                 uvm_km_free
 *        large_alloc  va, size                      the shim's large blocks
 *        large_free   va, size
 *    Each caller writes one line, KVA_PROBE_<NAME>(...), so that the
 *    files others work on carry only that line.
 */
#ifndef KVA_SDT_H
#define KVA_SDT_H

#if defined(HAVE_SYS_SDT_H) && !defined(KVA_NO_SDT)
#include <sys/sdt.h>
#define KVA_PROBE1(n, a)	DTRACE_PROBE1(kva, n, a)
#define KVA_PROBE2(n, a, b)	DTRACE_PROBE2(kva, n, a, b)
#define KVA_PROBE3(n, a, b, c)	DTRACE_PROBE3(kva, n, a, b, c)
#define KVA_SDT_ENABLED 1
#else
#define KVA_PROBE1(n, a)	do { (void)(a); } while (0)
#define KVA_PROBE2(n, a, b)	do { (void)(a); (void)(b); } while (0)
#define KVA_PROBE3(n, a, b, c) \
	do { (void)(a); (void)(b); (void)(c); } while (0)
#define KVA_SDT_ENABLED 0
#endif

#define KVA_SDT_UL(x)	((unsigned long)(x))

#define KVA_PROBE_FAULT(va, access) \
	KVA_PROBE2(fault, KVA_SDT_UL(va), (int)(access))
#define KVA_PROBE_FAULT_DONE(va, rv) \
	KVA_PROBE2(fault_done, KVA_SDT_UL(va), (int)(rv))
#define KVA_PROBE_PAGE_ALLOC(pa, obj, off) \
	KVA_PROBE3(page_alloc, KVA_SDT_UL(pa), KVA_SDT_UL(obj), (long)(off))
#define KVA_PROBE_PAGE_FREE(pa) \
	KVA_PROBE1(page_free, KVA_SDT_UL(pa))
#define KVA_PROBE_PAGEOUT(pa, obj, off) \
	KVA_PROBE3(pageout, KVA_SDT_UL(pa), KVA_SDT_UL(obj), (long)(off))
#define KVA_PROBE_PAGEIN(pa, obj, off) \
	KVA_PROBE3(pagein, KVA_SDT_UL(pa), KVA_SDT_UL(obj), (long)(off))
#define KVA_PROBE_KM_ALLOC(map, va, size) \
	KVA_PROBE3(km_alloc, KVA_SDT_UL(map), KVA_SDT_UL(va), KVA_SDT_UL(size))
#define KVA_PROBE_KM_FREE(map, va, size) \
	KVA_PROBE3(km_free, KVA_SDT_UL(map), KVA_SDT_UL(va), KVA_SDT_UL(size))
#define KVA_PROBE_LARGE_ALLOC(va, size) \
	KVA_PROBE2(large_alloc, KVA_SDT_UL(va), KVA_SDT_UL(size))
#define KVA_PROBE_LARGE_FREE(va, size) \
	KVA_PROBE2(large_free, KVA_SDT_UL(va), KVA_SDT_UL(size))

#endif /* KVA_SDT_H */
