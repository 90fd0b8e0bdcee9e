/*
 * uvm_hist.h: UVMHIST, NetBSD's history rings of what the VM did.
 *
 *	UVMHIST_FUNC("uvm_km_alloc1"); UVMHIST_CALLED(maphist);
 *	UVMHIST_LOG(maphist, "<- done (kva=%#lx)", kva, 0, 0, 0);
 *
 * An entry records the time, the thread, the function, the format and
 * four 64-bit values; nothing is formatted when it is logged (kvahist
 * and a panic do that), no lock is taken and nothing is allocated.
 * The rings live in the statistics file (kva_statsfile.h), so kvahist
 * reads them from outside.  KVA_OPTIONS hist=maphist,pdhist (or
 * hist=all) turns histories on; a log into a history that is off costs
 * one load and one branch predicted not taken.
 *
 * The format is a printf format taking up to four integers (d i o u x X
 * c, with h, hh, l, ll, z, j, t) or %p; %s cannot be used, since only
 * the value would be recorded, not the string.
 */
#ifndef UVM_HIST_H
#define UVM_HIST_H

#include <stdint.h>

struct kern_history {
	int enabled;		/* hot: read by every UVMHIST_LOG */
	unsigned idx;		/* (C) its ring in the statistics file */
	const char *name;	/* (C) */
};

extern struct kern_history maphist;	/* uvm_km, uvm_map */
extern struct kern_history pdhist;	/* the page daemon */
extern struct kern_history pmaphist;	/* pmap(9) */
extern struct kern_history faulthist;	/* uvm_fault */
extern struct kern_history swaphist;	/* swap */

#define UVMHIST_FUNC(fname) \
	static const char uvmhist_func_[] __attribute__((unused)) = fname

#define UVMHIST_CALLED(h) UVMHIST_LOG(h, "called!", 0, 0, 0, 0)

/*
 * The call site's strings are interned into the statistics file the
 * first time it logs with its history on; uvmhist_site_ keeps their
 * offsets (0 until then).
 */
#define UVMHIST_LOG(h, fmt, a, b, c, d) do { \
	if (__builtin_expect((h).enabled, 0)) { \
		static uint64_t uvmhist_site_; \
		uvmhist_log(&(h), &uvmhist_site_, uvmhist_func_, (fmt), \
		    (uint64_t)(a), (uint64_t)(b), (uint64_t)(c), \
		    (uint64_t)(d)); \
	} \
} while (0)

/*
 * uvmhist_log: record one entry in h's ring (the slow half of
 * UVMHIST_LOG; call it through the macro).
 * => no lock, no allocation; safe in the fault handler.
 */
void uvmhist_log(struct kern_history *h, uint64_t *site, const char *fn,
    const char *fmt, uint64_t a, uint64_t b, uint64_t c, uint64_t d);

/*
 * uvmhist_set: turn history name ("all" for every one) on or off.
 * => 0, or -1 if there is no such history or no ring to record in.
 */
int uvmhist_set(const char *name, int on);

/*
 * Inside the library (uvm_hist.c, kva_statsfile.c, kern_synch.c).
 */
struct kva_statsfile;
/* uvm_hist_init: histories named in list (KVA_OPTIONS hist=) record
 * into the rings of sf; unknown names get one warning each. */
void uvm_hist_init(struct kva_statsfile *sf, const char *list);
/* uvm_hist_fini: every history off; the rings are no longer used */
void uvm_hist_fini(void);
/* uvm_hist_rebase: the rings move to sf (a forked child's new file) */
void uvm_hist_rebase(struct kva_statsfile *sf);
/* uvm_hist_dump: every history that is on, formatted, oldest first, to
 * fd, with no allocation (panic calls this). */
void uvm_hist_dump(int fd);
/* uvm_hist_fork_child: the calling thread is a new one */
void uvm_hist_fork_child(void);

#endif /* UVM_HIST_H */
