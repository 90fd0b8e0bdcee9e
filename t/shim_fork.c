/*
 * shim_fork.c: fork under the malloc shim (linked in, as check_shim).
 *
 *  1. isolation: after fork, neither process sees the other's writes to
 *     heap blocks, and both heaps stay sound;
 *  2. fork while another thread allocates, many times;
 *  3. vfork and posix_spawn of a program.
 *
 * Exit status 0 when all hold.
 */
#ifdef HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int failures;

#define CHECK(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "shim_fork: %s:%d: ", __FILE__, __LINE__); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		failures++; \
	} \
} while (0)

/* churn: allocate and free, checking patterns; 0 when all was sound */
static int
churn(unsigned seed, int rounds)
{
	void *slot[256] = { 0 };
	unsigned char tag[256];
	int i, bad = 0;

	for (i = 0; i < rounds; i++) {
		unsigned s;
		size_t n;

		seed = seed * 1103515245 + 12345;
		s = (seed >> 8) % 256;
		if (slot[s] != NULL) {
			if (*(unsigned char *)slot[s] != tag[s])
				bad = 1;
			free(slot[s]);
		}
		n = ((seed >> 16) % 4 == 0) ? (seed >> 12) % 300000 + 1 :
		    (seed >> 12) % 600 + 1;
		slot[s] = malloc(n);
		if (slot[s] == NULL)
			return 1;
		tag[s] = (unsigned char)seed;
		memset(slot[s], tag[s], n);
	}
	for (i = 0; i < 256; i++) {
		if (slot[i] != NULL && *(unsigned char *)slot[i] != tag[i])
			bad = 1;
		free(slot[i]);
	}
	return bad;
}

static void
test_isolation(void)
{
	char *small = malloc(64), *large = malloc(1 << 20);
	int to_child[2], to_parent[2], st;
	char c;
	pid_t pid;

	strcpy(small, "parent");
	memset(large, 'P', 1 << 20);
	if (pipe(to_child) != 0 || pipe(to_parent) != 0)
		abort();
	pid = fork();
	if (pid == 0) {
		int bad = 0;

		/* the child writes, allocates, then looks for the parent's
		 * later writes */
		strcpy(small, "child");
		memset(large, 'C', 1 << 20);
		bad |= churn(7, 20000);
		if (write(to_parent[1], "x", 1) != 1 ||
		    read(to_child[0], &c, 1) != 1)
			_exit(3);
		if (strcmp(small, "child") != 0 || large[12345] != 'C')
			bad = 1;
		bad |= churn(11, 20000);
		_exit(bad ? 1 : 0);
	}
	if (read(to_parent[0], &c, 1) != 1)
		abort();
	CHECK(strcmp(small, "parent") == 0, "the child's write to a small "
	    "block shows in the parent: \"%s\"", small);
	CHECK(large[12345] == 'P', "the child's write to a large block shows "
	    "in the parent: '%c'", large[12345]);
	strcpy(small, "parent2");
	memset(large, 'Q', 1 << 20);
	CHECK(churn(13, 20000) == 0, "the parent's heap is unsound after fork");
	if (write(to_child[1], "x", 1) != 1)
		abort();
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0, "child status %#x (1: it saw the parent's "
	    "writes or its heap was unsound)", st);
	free(small);
	free(large);
}

static volatile int stop;

static void *
allocator(void *arg)
{
	unsigned seed = 99;

	(void)arg;
	while (!stop)
		(void)churn(seed++, 2000);
	return NULL;
}

static void
test_fork_while_allocating(void)
{
	pthread_t t;
	int i, st;

	stop = 0;
	if (pthread_create(&t, NULL, allocator, NULL) != 0)
		abort();
	for (i = 0; i < 8; i++) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(churn((unsigned)i, 5000) ? 1 : 0);
		CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
		    WEXITSTATUS(st) == 0, "child %d: status %#x", i, st);
		CHECK(churn((unsigned)i + 1000, 2000) == 0, "parent heap after "
		    "fork %d", i);
	}
	stop = 1;
	pthread_join(t, NULL);
}

static void
test_spawn(void)
{
	char *argv[] = { "true", NULL };
	pid_t pid;
	int st;

	CHECK(posix_spawnp(&pid, "true", NULL, NULL, argv, environ) == 0 &&
	    waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0, "posix_spawn of true");
	pid = vfork();
	if (pid == 0) {
		execlp("true", "true", (char *)NULL);
		_exit(127);
	}
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0, "vfork + exec of true");
}

int
main(void)
{
	/* under memcheck, valgrind's own malloc replaces the shim's (its
	 * preload comes first): nothing here would test the shim.  The
	 * shim's annotations for memcheck are its kva_track calls. */
	if (RUNNING_ON_VALGRIND) {
		puts("skipped under valgrind: its malloc replaces the shim's");
		return 77;
	}
	alarm(60);		/* a heap shared with a child can hang us */
	test_spawn();
	test_fork_while_allocating();
	test_isolation();
	if (failures == 0)
		printf("shim_fork: all passed\n");
	return failures == 0 ? 0 : 1;
}
