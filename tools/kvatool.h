/*
 * kvatool.h: what kvastat and kvahist share: finding, checking and
 * mapping a kva process's statistics file, read-only.
 */
#ifndef KVATOOL_H
#define KVATOOL_H

#include <stddef.h>
#include <sys/types.h>

#include "kva_statsfile.h"

struct kt_file {
	const struct kva_statsfile *sf;	/* mapped PROT_READ */
	size_t size;
	char path[4096];
	long pid;
};

/* kt_dirs: the directories where this user's files may be (the
 * library's rule: $XDG_RUNTIME_DIR/kva-<uid>, /tmp/kva-<uid>).
 * => how many (0..2) */
int kt_dirs(char dirs[2][4096]);

/*
 * kt_open: map the file of process pid, or the file at path when
 * arg has a '/'.  Refuses a file that is not a regular file of the
 * caller's uid, in a directory that is not the caller's with mode 0700
 * (for the pid form), or whose header this reader does not understand.
 * => 0, or -1 after printing one line "prog: ..." on stderr.
 */
int kt_open(const char *prog, const char *arg, struct kt_file *f);
void kt_close(struct kt_file *f);

/* kt_alive: the process that wrote the file is still running (same pid
 * and same start time) */
int kt_alive(const struct kva_statsfile *sf);

/*
 * kt_list: call fn for each live process's file of this user; stale
 * files (their process is gone) are removed.  => files listed.
 */
int kt_list(const char *prog, void (*fn)(struct kt_file *, void *),
    void *arg);

/* kt_uptime: seconds since the process made the file */
double kt_uptime(const struct kva_statsfile *sf);

#endif /* KVATOOL_H */
