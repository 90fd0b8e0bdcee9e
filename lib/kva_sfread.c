/*
 * kva_sfread.c: reading the statistics file without trusting it.
 *
 * The library uses these to dump the history rings on a panic, and
 * kvastat and kvahist compile this file in to read another process's
 * file.  Either way the reader takes no lock, allocates nothing and
 * treats every offset and count in the file as untrusted: a string
 * offset outside the table reads "?", and a history format is used only
 * after it has been checked to take four integers at most
 * (kva_statsfile.h, sections 2 and 3).
 */
#include "kva_statsfile.h"

#include <stdio.h>
#include <string.h>

#define SF_READ_TRIES 1000

int
kva_sf_read(const uint64_t *seqp, const void *sec, void *dst, size_t len)
{
	int i;

	for (i = 0; i < SF_READ_TRIES; i++) {
		uint64_t s1 = __atomic_load_n(seqp, __ATOMIC_ACQUIRE), s2;

		if (s1 & 1)
			continue;
		memcpy(dst, sec, len);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(seqp, __ATOMIC_RELAXED);
		if (s1 == s2)
			return 0;
	}
	return -1;
}

const char *
kva_sf_str(const struct kva_statsfile *sf, uint32_t off)
{
	const char *s = sf->strtab.s;

	if (off >= KVA_SF_STRTAB)
		return "?";
	if (memchr(s + off, '\0', KVA_SF_STRTAB - off) == NULL)
		return "?";
	return s + off;
}

int
kva_sf_hist_get(const struct kva_statsfile *sf, unsigned h, uint64_t n,
    struct kva_sf_histent *out)
{
	const struct kva_sf_histent *e;
	uint64_t want = 2 * n + 2;

	if (h >= KVA_SF_NHIST)
		return 0;
	e = &sf->hist[h].e[n & (KVA_SF_HISTENT - 1)];
	if (__atomic_load_n(&e->seq, __ATOMIC_ACQUIRE) != want)
		return 0;
	memcpy(out, e, sizeof(*out));
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return __atomic_load_n(&e->seq, __ATOMIC_RELAXED) == want &&
	    out->seq == want;
}

/*
 * fmt_one: format the conversion spec[0..len) (from '%' to the
 * conversion letter, length modifier included) with value v, the way
 * the C type the spec names would have printed it.
 * => characters written (as snprintf), or -1 if the spec is not allowed.
 */
static int
fmt_one(char *buf, size_t bufsz, const char *spec, size_t len, uint64_t v)
{
	char s[40], conv = spec[len - 1];
	size_t i = 1, j;
	int lmod = 0;		/* 0 int, 1 short, 2 char, 3 long or wider */

	if (len >= sizeof(s) - 4)
		return -1;
	while (i < len - 1 && strchr("-+ #0", spec[i]) != NULL)
		i++;
	while (i < len - 1 && spec[i] >= '0' && spec[i] <= '9')
		i++;
	if (i < len - 1 && spec[i] == '.') {
		i++;
		while (i < len - 1 && spec[i] >= '0' && spec[i] <= '9')
			i++;
	}
	j = i;			/* the length modifier starts here */
	if (i < len - 1 && spec[i] == 'h')
		lmod = (i + 1 < len - 1 && spec[i + 1] == 'h') ? 2 : 1;
	else if (i < len - 1 && strchr("lzjt", spec[i]) != NULL)
		lmod = 3;
	while (i < len - 1 && strchr("hlzjt", spec[i]) != NULL)
		i++;
	if (i != len - 1)
		return -1;
	memcpy(s, spec, j);
	if (conv == 'c' || conv == 'p') {
		s[j] = conv;
		s[j + 1] = '\0';
		if (conv == 'c')
			return snprintf(buf, bufsz, s, (int)(unsigned char)v);
		return snprintf(buf, bufsz, s, (void *)(uintptr_t)v);
	}
	if (strchr("diouxX", conv) == NULL)
		return -1;
	s[j] = 'l';
	s[j + 1] = 'l';
	s[j + 2] = conv;
	s[j + 3] = '\0';
	if (conv == 'd' || conv == 'i') {
		long long x = lmod == 0 ? (long long)(int)v :
		    lmod == 1 ? (long long)(short)v :
		    lmod == 2 ? (long long)(signed char)v : (long long)v;
		return snprintf(buf, bufsz, s, x);
	} else {
		unsigned long long x = lmod == 0 ? (unsigned long long)(unsigned)v :
		    lmod == 1 ? (unsigned long long)(unsigned short)v :
		    lmod == 2 ? (unsigned long long)(unsigned char)v :
		    (unsigned long long)v;
		return snprintf(buf, bufsz, s, x);
	}
}

/* sf_format: fmt with the four values into buf; -1 if fmt is refused */
static int
sf_format(char *buf, size_t len, const char *fmt, const uint64_t v[4])
{
	size_t n = 0;
	int nv = 0;

	while (*fmt != '\0' && n + 1 < len) {
		const char *p;
		int r;

		if (*fmt != '%') {
			buf[n++] = *fmt++;
			continue;
		}
		if (fmt[1] == '%') {
			buf[n++] = '%';
			fmt += 2;
			continue;
		}
		for (p = fmt + 1; *p != '\0' && strchr("-+ #0123456789.hlzjt",
		    *p) != NULL; p++)
			;
		if (*p == '\0' || nv >= 4)
			return -1;
		r = fmt_one(buf + n, len - n, fmt, (size_t)(p - fmt + 1),
		    v[nv++]);
		if (r < 0)
			return -1;
		n += (size_t)r < len - n ? (size_t)r : len - n - 1;
		fmt = p + 1;
	}
	buf[n] = '\0';
	return 0;
}

void
kva_sf_hist_format(const struct kva_statsfile *sf, unsigned h,
    const struct kva_sf_histent *e, char *buf, size_t len)
{
	char msg[256];
	const char *fmt = kva_sf_str(sf, e->fmt);

	(void)h;
	if (sf_format(msg, sizeof(msg), fmt, e->v) != 0)
		snprintf(msg, sizeof(msg), "%s [%#llx %#llx %#llx %#llx]", fmt,
		    (unsigned long long)e->v[0], (unsigned long long)e->v[1],
		    (unsigned long long)e->v[2], (unsigned long long)e->v[3]);
	snprintf(buf, len, "%llu.%06llu %u %s: %s",
	    (unsigned long long)(e->ts / 1000000000u),
	    (unsigned long long)(e->ts % 1000000000u / 1000u), e->tid,
	    kva_sf_str(sf, e->fn), msg);
}

const char *
kva_sf_check(const struct kva_statsfile *sf, uint64_t filesize)
{
	if (filesize < sizeof(struct kva_sf_header))
		return "too small to be a kva statistics file";
	if (memcmp(sf->hdr.magic, KVA_SF_MAGIC, 8) != 0)
		return "not a kva statistics file (bad magic)";
	if (sf->hdr.endian != KVA_SF_ENDIAN)
		return "written with another byte order";
	if (sf->hdr.version != KVA_SF_VERSION)
		return "written by another version of kva";
	if (sf->hdr.size != sizeof(struct kva_statsfile) ||
	    filesize < sizeof(struct kva_statsfile))
		return "its size does not match its version";
	return NULL;
}
