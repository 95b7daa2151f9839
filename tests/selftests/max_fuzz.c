// SPDX-License-Identifier: GPL-2.0
/*
 * max_fuzz - random and mutated writes to a cgroup's rdma.max, each checked
 * against a model of the parser and of the controller's state.
 *
 *   max_fuzz <cgroup dir> <count> <seed> <device>:<index>...
 *
 * The cgroup must be fresh (every limit "max", nothing charged) and the
 * devices are every RDMA device there is, with their ib_device index.  Each
 * write is generated (valid lines, numbers in every form, mutations of valid
 * lines, inputs of a page and more, thousands of lines) and fed to a reference
 * model of Documentation/admin-guide/rdma-cgroup.rst's syntax, which predicts
 * the result: accepted, or the errno (EINVAL for any malformed line, ENODEV
 * for an unknown device, E2BIG above a page).  After every write:
 *
 *  - write() returned what the model predicts;
 *  - rdma.max reads back byte for byte as the model renders it (a rejected
 *    write changes nothing; an accepted one sets exactly the keys written,
 *    normalised: "010" reads "10", "sl=0-15" reads "sl=max");
 *  - after a rejected write, rdma.max is also byte for byte what it was
 *    before, and rdma.current, rdma.peak and rdma.events are unchanged.
 *
 *   max_fuzz -f <file> <count> <seed> [token...]
 *
 * Random writes to any other writable file (module parameters, debugfs):
 * each rejected write must leave what the file reads unchanged; tokens seed
 * the generator's dictionary.
 *
 * Prints "seed=S writes=N accepted=A rejected=R failures=F" and the first
 * failures in full (input in hex); exit status 0 if no failure, 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xorshift.h"

#define NR_RES		14
#define NAME_MAX_LEN	63
#define PAGE		4096
#define BUF		(3 * PAGE)
#define RD		(64 * 1024)
#define MAXDEV		8
#define REPORT_MAX	10
#define U64MAX		UINT64_MAX

static const char *const res_name[NR_RES] = {
	"hca_handle", "hca_object", "pd", "cq", "qp", "srq", "mr", "mw", "ah",
	"xrcd", "wq", "flow", "cm_id", "mr_bytes",
};

struct dev {
	char name[64];
	uint32_t index;
	uint64_t lim[NR_RES];
	uint32_t sl, up;
};

static struct dev devs[MAXDEV];
static int ndev;

/* A number in [0, n). */
static unsigned int rn(unsigned int n)
{
	return n ? rnd() % n : 0;
}

static bool coin(unsigned int one_in)
{
	return rn(one_in) == 0;
}

/* ---- output buffer ---- */

struct sbuf {
	char b[BUF + 64];
	size_t n;
};

static void sput(struct sbuf *s, const void *p, size_t len)
{
	if (s->n + len > BUF)
		len = BUF - s->n;
	memcpy(s->b + s->n, p, len);
	s->n += len;
}

static void sputs(struct sbuf *s, const char *p)
{
	sput(s, p, strlen(p));
}

static void sprintf_(struct sbuf *s, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		sput(s, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* ---- the reference model ---- */

struct req {
	int dev;		/* index in devs[] */
	bool has_lim[NR_RES];
	uint64_t lim[NR_RES];
	bool has_sl, has_up;
	uint32_t sl, up;
};

/* Decimal digits only, no sign, no junk; -1 if malformed or too big. */
static int parse_u64(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	if (!n)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned int d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = s[i] - '0';
		if (x > (U64MAX - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

static int parse_set(const char *s, size_t n, unsigned int hi, uint32_t *mask)
{
	const char *end = s + n;
	uint32_t m = 0;

	if (n == 3 && !memcmp(s, "max", 3)) {
		*mask = (1u << (hi + 1)) - 1;
		return 0;
	}
	if (!n)
		return -1;
	for (;;) {
		const char *comma = memchr(s, ',', end - s);
		const char *ie = comma ? comma : end;
		const char *dash = memchr(s, '-', ie - s);
		uint64_t lo, up, v;

		if (parse_u64(s, (dash ? dash : ie) - s, &lo))
			return -1;
		up = lo;
		if (dash && parse_u64(dash + 1, ie - dash - 1, &up))
			return -1;
		if (lo > up || up > hi)
			return -1;
		for (v = lo; v <= up; v++)
			m |= 1u << v;
		if (!comma)
			break;
		s = comma + 1;
	}
	*mask = m;
	return 0;
}

static bool is_sep(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Parses one non-blank line into r (device not yet looked up: r->dev is
 * the name's position).  0 or -EINVAL.
 */
static int parse_line(const char *l, size_t n, struct req *r,
		      const char **name, size_t *name_len, bool *has_index,
		      uint32_t *index)
{
	const char *end = l + n, *p = l;
	bool first = true;

	memset(r, 0, sizeof(*r));
	*has_index = false;
	for (;;) {
		const char *t, *eq;
		size_t tl;

		while (p < end && is_sep(*p))
			p++;
		if (p == end)
			break;
		t = p;
		while (p < end && !is_sep(*p))
			p++;
		tl = p - t;
		eq = memchr(t, '=', tl);
		if (first) {
			if (eq || tl > NAME_MAX_LEN)
				return -EINVAL;
			*name = t;
			*name_len = tl;
			first = false;
			continue;
		}
		if (!eq)
			return -EINVAL;
		{
			size_t kl = eq - t, vl = tl - kl - 1;
			const char *v = eq + 1;
			uint64_t x;
			int i;

			if (kl == 5 && !memcmp(t, "index", 5)) {
				if (*has_index || parse_u64(v, vl, &x) ||
				    x > UINT32_MAX)
					return -EINVAL;
				*has_index = true;
				*index = x;
				continue;
			}
			if (kl == 2 && !memcmp(t, "sl", 2)) {
				if (r->has_sl || parse_set(v, vl, 15, &r->sl))
					return -EINVAL;
				r->has_sl = true;
				continue;
			}
			if (kl == 2 && !memcmp(t, "up", 2)) {
				if (r->has_up || parse_set(v, vl, 7, &r->up))
					return -EINVAL;
				r->has_up = true;
				continue;
			}
			for (i = 0; i < NR_RES; i++)
				if (strlen(res_name[i]) == kl &&
				    !memcmp(t, res_name[i], kl))
					break;
			if (i == NR_RES || r->has_lim[i])
				return -EINVAL;
			if (vl == 3 && !memcmp(v, "max", 3)) {
				x = U64MAX;
			} else if (parse_u64(v, vl, &x) || x == U64MAX) {
				return -EINVAL;
			}
			r->has_lim[i] = true;
			r->lim[i] = x;
		}
	}
	return first ? -EINVAL : 0;
}

static struct req reqs[BUF];

/*
 * What writing buf[0..n) does: 0 (and the model updated) or a negative
 * errno (the model untouched).  Device names are unique, so ENOTUNIQ
 * cannot happen.
 */
static int model_write(const char *buf, size_t n)
{
	const char *end = buf + n, *l = buf;
	int nreq = 0, i, d;

	if (n > PAGE)
		return -E2BIG;
	/* Every line is parsed first: any bad one is EINVAL. */
	static struct {
		const char *name;
		size_t len;
		bool has_index;
		uint32_t index;
	} keys[BUF];
	while (l <= end) {
		const char *nl = memchr(l, '\n', end - l);
		const char *le = nl ? nl : end;
		const char *c;
		bool blank = true;

		for (c = l; c < le; c++)
			if (!is_sep(*c))
				blank = false;
		if (!blank) {
			int ret = parse_line(l, le - l, &reqs[nreq],
					     &keys[nreq].name, &keys[nreq].len,
					     &keys[nreq].has_index,
					     &keys[nreq].index);
			if (ret)
				return ret;
			nreq++;
		}
		if (!nl)
			break;
		l = nl + 1;
	}
	if (!nreq)
		return -EINVAL;
	/* Then every device is looked up, in order. */
	for (i = 0; i < nreq; i++) {
		for (d = 0; d < ndev; d++)
			if (strlen(devs[d].name) == keys[i].len &&
			    !memcmp(devs[d].name, keys[i].name, keys[i].len) &&
			    (!keys[i].has_index ||
			     keys[i].index == devs[d].index))
				break;
		if (d == ndev)
			return -ENODEV;
		reqs[i].dev = d;
	}
	for (i = 0; i < nreq; i++) {
		struct dev *dv = &devs[reqs[i].dev];
		int k;

		for (k = 0; k < NR_RES; k++)
			if (reqs[i].has_lim[k])
				dv->lim[k] = reqs[i].lim[k];
		if (reqs[i].has_sl)
			dv->sl = reqs[i].sl;
		if (reqs[i].has_up)
			dv->up = reqs[i].up;
	}
	return 0;
}

static void render_set(struct sbuf *s, const char *key, uint32_t mask,
		       unsigned int bits)
{
	uint32_t all = (1u << bits) - 1;
	bool first = true;
	unsigned int v = 0;

	sprintf_(s, " %s=", key);
	if ((mask & all) == all) {
		sputs(s, "max");
		return;
	}
	while (v < bits) {
		unsigned int start;

		if (!(mask & (1u << v))) {
			v++;
			continue;
		}
		start = v;
		while (v + 1 < bits && (mask & (1u << (v + 1))))
			v++;
		if (start == v)
			sprintf_(s, "%s%u", first ? "" : ",", start);
		else
			sprintf_(s, "%s%u-%u", first ? "" : ",", start, v);
		first = false;
		v++;
	}
	if (first)
		sputs(s, "none");
}

static void render(struct sbuf *s)
{
	int d, k;

	s->n = 0;
	for (d = 0; d < ndev; d++) {
		sputs(s, devs[d].name);
		for (k = 0; k < NR_RES; k++) {
			if (devs[d].lim[k] == U64MAX)
				sprintf_(s, " %s=max", res_name[k]);
			else
				sprintf_(s, " %s=%" PRIu64, res_name[k],
					 devs[d].lim[k]);
		}
		render_set(s, "sl", devs[d].sl, 16);
		render_set(s, "up", devs[d].up, 8);
		sputs(s, "\n");
	}
}

/* ---- the generator ---- */

static const char *const interesting_num[] = {
	"0", "1", "2", "7", "8", "15", "16", "00", "010", "0000000000000000000001",
	"+1", "-1", "-0", "+0", "0x10", "0X1f", "0b1", "1e3", "1.5", "10k",
	"1K", "1M", " 1", "1 ", "", "max", "MAX", "Max", "maxx", "ma", "none",
	"4294967295", "4294967296", "2147483647", "2147483648",
	"9223372036854775807", "9223372036854775808",
	"18446744073709551614", "18446744073709551615", "18446744073709551616",
	"18446744073709551617", "99999999999999999999",
	"000000000000000000000000000000018446744073709551614",
	"123456789012345678901234567890123456789012345678901234567890",
	"1\r", "1\0", "\xff", "١", "0,1", "0-1", "1-0", "0--1", ",", "-",
};

static const char *const interesting_set[] = {
	"max", "0", "7", "8", "15", "16", "0-7", "0-15", "0-16", "3-1", "1,", ",1",
	"1-", "-1", "a", "", "0,0", "1,3,5-7", "0-0", "7-7", "15-15", "0-3,7",
	"1-2-3", "0,,1", "0-99999999999999999999", "18446744073709551616",
	"MAX", "none", "+1", "0x1", "00-07", "4294967296", "1 ", "max,1",
	"0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15",
};

static const char *const unknown_keys[] = {
	"QP", "Qp", "qps", "q", "hca", "hca_handles", "index ", "slx", "UP",
	"", "=", "mr-bytes", "mrbytes", "cm", "cm_ids", "rdma", "max",
	"hca_handle\x01", "qp\r", "\tqp", "pd=", "sl=", "up=",
};

static void put_num(struct sbuf *s)
{
	switch (rn(6)) {
	case 0:
		sputs(s, interesting_num[rn(sizeof(interesting_num) /
					    sizeof(interesting_num[0]))]);
		break;
	case 1:
		sputs(s, "max");
		break;
	case 2:
		sprintf_(s, "%" PRIu64, rnd() >> rn(64));
		break;
	case 3: {	/* a long digit string */
		int i, n = 1 + rn(40);

		for (i = 0; i < n; i++)
			sprintf_(s, "%c", '0' + rn(10));
		break;
	}
	default:
		sprintf_(s, "%u", rn(100));
		break;
	}
}

static void put_set(struct sbuf *s, unsigned int hi)
{
	if (coin(3)) {
		sputs(s, interesting_set[rn(sizeof(interesting_set) /
					    sizeof(interesting_set[0]))]);
		return;
	}
	/* A valid list of 1-4 items. */
	{
		int i, n = 1 + rn(4);

		for (i = 0; i < n; i++) {
			unsigned int a = rn(hi + 1), b = a + rn(hi + 1 - a);

			if (i)
				sputs(s, ",");
			if (a == b || coin(2))
				sprintf_(s, "%u", a);
			else
				sprintf_(s, "%u-%u", a, b);
		}
	}
}

static void put_sep(struct sbuf *s)
{
	static const char *const seps[] = { " ", " ", " ", "\t", "  ", " \t " };

	sputs(s, seps[rn(6)]);
}

static void put_name(struct sbuf *s)
{
	static const char *const bad[] = {
		"rxe", "rxe9", "mlx5_0", "RXE_FZ0", "", "rxe_fz0\r", "\0",
		"a234567890123456789012345678901234567890123456789012345678901234",
		"rxe_fz0=", "index=0", "qp=1", "-", "*", "rxe_fz0 rxe_fz1",
	};

	if (ndev && !coin(12)) {
		sputs(s, devs[rn(ndev)].name);
		return;
	}
	if (coin(2)) {	/* exactly 63 or 64 bytes */
		int i, n = 63 + rn(2);

		for (i = 0; i < n; i++)
			sputs(s, "x");
		return;
	}
	sputs(s, bad[rn(sizeof(bad) / sizeof(bad[0]))]);
}

/* A line that is mostly valid: a device, some keys, perhaps index=. */
static void put_line(struct sbuf *s)
{
	int d = ndev ? rn(ndev) : 0;
	int k, nk = rn(5) ? 1 + rn(4) : rn(NR_RES + 3);
	bool valid = coin(2);

	if (coin(8))
		put_sep(s);
	if (valid || !ndev)
		sputs(s, ndev ? devs[d].name : "x");
	else
		put_name(s);
	if (coin(6)) {
		put_sep(s);
		switch (rn(6)) {
		case 0:
			sprintf_(s, "index=%u", ndev ? devs[d].index : 0);
			break;
		case 1:
			sprintf_(s, "index=%u", rn(4));
			break;
		default:
			sputs(s, "index=");
			if (coin(2))
				sputs(s, interesting_num[rn(
					sizeof(interesting_num) /
					sizeof(interesting_num[0]))]);
			else
				sprintf_(s, "%u", ndev ? devs[d].index : 0);
			break;
		}
	}
	for (k = 0; k < nk; k++) {
		unsigned int w = rn(NR_RES + 4);

		put_sep(s);
		if (w < NR_RES) {
			sprintf_(s, "%s=", res_name[w]);
			if (valid && !coin(4)) {
				if (coin(3))
					sputs(s, "max");
				else if (coin(4))
					sprintf_(s, "%" PRIu64,
						 (U64MAX - 1) >> rn(64));
				else
					sprintf_(s, "%u", rn(1000));
			} else {
				put_num(s);
			}
		} else if (w == NR_RES) {
			sputs(s, "sl=");
			put_set(s, 15);
		} else if (w == NR_RES + 1) {
			sputs(s, "up=");
			put_set(s, 7);
		} else if (w == NR_RES + 2 && !valid) {
			const char *u = unknown_keys[rn(sizeof(unknown_keys) /
							sizeof(unknown_keys[0]))];

			sput(s, u, strlen(u) ? strlen(u) : 1);
			sputs(s, "=1");
		} else {
			sprintf_(s, "%s=%u", res_name[rn(NR_RES)], rn(10));
		}
	}
	if (coin(8))
		put_sep(s);
}

static void mutate(struct sbuf *s)
{
	static const char bytes[] = { '\0', '\r', '\n', '=', ' ', '\t', ',',
				      '-', '0', '9', 'x', '+', '\xff', '\x80' };
	int i, n = 1 + rn(4);

	for (i = 0; i < n && s->n; i++) {
		size_t at = rn(s->n), len;

		switch (rn(7)) {
		case 0:		/* flip a bit */
			s->b[at] ^= 1 << rn(8);
			break;
		case 1:		/* replace with an interesting byte */
			s->b[at] = bytes[rn(sizeof(bytes))];
			break;
		case 2:		/* truncate */
			s->n = at;
			break;
		case 3:		/* insert an interesting byte */
			if (s->n < BUF) {
				memmove(s->b + at + 1, s->b + at, s->n - at);
				s->b[at] = bytes[rn(sizeof(bytes))];
				s->n++;
			}
			break;
		case 4:		/* duplicate a range (a key, a line) */
			len = 1 + rn(s->n - at);
			if (s->n + len <= BUF) {
				memmove(s->b + at + len, s->b + at, s->n - at);
				memcpy(s->b + at + len, s->b + at, len);
				s->n += len;
			}
			break;
		case 5:		/* delete a range */
			len = 1 + rn(s->n - at);
			memmove(s->b + at, s->b + at + len, s->n - at - len);
			s->n -= len;
			break;
		default:	/* random byte */
			s->b[at] = rnd();
			break;
		}
	}
}

static void generate(struct sbuf *s)
{
	int i, n;

	s->n = 0;
	switch (rn(20)) {
	case 0: {	/* many lines: up to a page and a bit beyond */
		const char *name = ndev ? devs[rn(ndev)].name : "x";
		size_t target = PAGE - 200 + rn(400);
		bool blank = coin(2);	/* thousands of (mostly blank) lines */

		while (s->n < target && s->n < BUF - 80) {
			if (blank && !coin(500))
				sputs(s, coin(4) ? " \n" : "\n");
			else if (coin(4))
				sputs(s, "\n");
			else if (coin(3))
				sprintf_(s, "%s\n", name);
			else
				sprintf_(s, "%s qp=%u\n", name, rn(10));
		}
		if (coin(3))	/* one bad line at the end */
			sputs(s, "x qp=-1\n");
		break;
	}
	case 1: {	/* exactly a page, a page + 1, or more */
		size_t len = PAGE + (coin(2) ? 0 : rn(3) == 0 ? 1 : rn(PAGE));

		put_line(s);
		sputs(s, "\n");
		while (s->n < len)
			sputs(s, coin(2) ? " " : "\n");
		s->n = len < BUF ? len : BUF;
		break;
	}
	case 2:		/* random bytes */
		n = rn(64);
		for (i = 0; i < n; i++)
			s->b[s->n++] = rnd();
		break;
	case 3: case 4: case 5: case 6: case 7: case 8:
		/* mutated lines */
		n = 1 + (coin(3) ? rn(4) : 0);
		for (i = 0; i < n; i++) {
			put_line(s);
			sputs(s, coin(4) ? "\n\n" : "\n");
		}
		if (coin(3))
			s->n--;
		mutate(s);
		break;
	default:	/* lines as generated */
		n = 1 + (coin(3) ? rn(4) : 0);
		for (i = 0; i < n; i++) {
			if (i || coin(10))
				sputs(s, coin(3) ? "\n \t\n" : "\n");
			put_line(s);
		}
		if (!coin(3))
			sputs(s, "\n");
		break;
	}
}

/* ---- I/O ---- */

/*
 * The whole file: cgroup files are one seq_file record, which one read at
 * offset 0 returns whole (a short read would show as a mismatch).
 */
static ssize_t read_all(int fd, char *buf, size_t len)
{
	ssize_t r = pread(fd, buf, len, 0);

	if (r < 0 || (size_t)r == len)
		return -1;
	return r;
}

static void hexdump(const char *what, const char *p, size_t n)
{
	size_t i;

	printf("#   %s (%zu bytes):", what, n);
	for (i = 0; i < n && i < 512; i++)
		printf("%s%02x", i % 32 ? "" : "\n#     ", (unsigned char)p[i]);
	printf("%s\n", n > 512 ? " ..." : "");
}

static void show_text(const char *what, const char *p, size_t n)
{
	printf("#   %s: ", what);
	fwrite(p, 1, n, stdout);
	if (!n || p[n - 1] != '\n')
		printf("\n");
}

static unsigned long failures;
static uint64_t the_seed;

static bool report(unsigned long it)
{
	failures++;
	if (failures > REPORT_MAX)
		return false;
	printf("# failure at write %lu (seed %" PRIu64 "):\n", it, the_seed);
	return true;
}

static int open_or_die(const char *dir, const char *f, int flags)
{
	char p[4096];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, f);
	fd = open(p, flags);
	if (fd < 0) {
		fprintf(stderr, "max_fuzz: %s: %s\n", p, strerror(errno));
		exit(2);
	}
	return fd;
}

static int cmp_dev(const void *a, const void *b, void *text)
{
	const struct dev *x = a, *y = b;
	char kx[80], ky[80];
	const char *px, *py;

	snprintf(kx, sizeof(kx), "%s ", x->name);
	snprintf(ky, sizeof(ky), "%s ", y->name);
	px = strstr(text, kx);
	py = strstr(text, ky);
	return (px > py) - (px < py);
}

static char *before_max, *after_max, *side0, *side1;

static int fuzz_max(const char *dir, unsigned long count, uint64_t seed)
{
	static const char *const side[] = { "rdma.current", "rdma.peak",
					    "rdma.events" };
	int wfd = open_or_die(dir, "rdma.max", O_WRONLY);
	int rfd = open_or_die(dir, "rdma.max", O_RDONLY);
	int sfd[3], i;
	ssize_t side_len[3], bl, al;
	static struct sbuf in, want;
	unsigned long it, acc = 0, rej = 0, rej_by[4] = { 0 };
	struct timespec t0, t1;
	char *side_ref[3];

	for (i = 0; i < 3; i++) {
		sfd[i] = open_or_die(dir, side[i], O_RDONLY);
		side_ref[i] = malloc(RD);
		side_len[i] = read_all(sfd[i], side_ref[i], RD);
		if (side_len[i] < 0)
			return 2;
	}
	bl = read_all(rfd, before_max, RD);
	if (bl < 0)
		return 2;
	before_max[bl] = 0;
	qsort_r(devs, ndev, sizeof(devs[0]), cmp_dev, before_max);
	render(&want);
	if ((size_t)bl != want.n || memcmp(before_max, want.b, bl)) {
		printf("# rdma.max of the fresh cgroup is not what the model expects\n");
		show_text("read", before_max, bl);
		show_text("model", want.b, want.n);
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (it = 0; it < count; it++) {
		int want_ret, got_ret = 0;
		ssize_t w;

		generate(&in);
		want_ret = model_write(in.b, in.n);
		w = write(wfd, in.b, in.n);
		if (w < 0)
			got_ret = -errno;
		else if ((size_t)w != in.n)
			got_ret = 1;	/* short write: never expected */
		al = read_all(rfd, after_max, RD);
		if (al < 0) {
			printf("# reading rdma.max failed: %s\n", strerror(errno));
			return 2;
		}
		render(&want);
		if (got_ret) {
			rej++;
			rej_by[got_ret == -EINVAL ? 0 : got_ret == -ENODEV ? 1 :
			       got_ret == -E2BIG ? 2 : 3]++;
		} else {
			acc++;
		}
		/* A write of nothing may be refused or ignored. */
		if (!in.n && (got_ret == 0 || got_ret == -EINVAL))
			want_ret = got_ret;
		if (got_ret != want_ret && report(it)) {
			printf("#   write returned %d (%s), model says %d (%s)\n",
			       got_ret, got_ret < 0 ? strerror(-got_ret) : "",
			       want_ret, want_ret < 0 ? strerror(-want_ret) : "");
			hexdump("input", in.b, in.n);
		}
		if (((size_t)al != want.n || memcmp(after_max, want.b, al)) &&
		    report(it)) {
			printf("#   rdma.max differs from the model after a write that returned %d\n",
			       got_ret);
			hexdump("input", in.b, in.n);
			show_text("before", before_max, bl);
			show_text("after", after_max, al);
			show_text("model", want.b, want.n);
		}
		if (got_ret) {
			if ((al != bl || memcmp(before_max, after_max, al)) &&
			    report(it)) {
				printf("#   rejected write (%s) changed rdma.max\n",
				       strerror(-got_ret));
				hexdump("input", in.b, in.n);
				show_text("before", before_max, bl);
				show_text("after", after_max, al);
			}
			for (i = 0; i < 3; i++) {
				ssize_t n = read_all(sfd[i], side0, RD);

				if ((n != side_len[i] ||
				     memcmp(side0, side_ref[i], n)) &&
				    report(it)) {
					printf("#   rejected write changed %s\n",
					       side[i]);
					hexdump("input", in.b, in.n);
					show_text("before", side_ref[i],
						  side_len[i]);
					show_text("after", side0, n);
				}
			}
		}
		/* Resynchronise on what the kernel says, to go on after a failure. */
		memcpy(before_max, after_max, al);
		bl = al;
		if (failures > 100)
			break;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* Accepted writes must not have touched the other files either. */
	for (i = 0; i < 3; i++) {
		ssize_t n = read_all(sfd[i], side1, RD);

		if ((n != side_len[i] || memcmp(side1, side_ref[i], n)) &&
		    report(it)) {
			printf("#   %s changed during the run\n", side[i]);
			show_text("before", side_ref[i], side_len[i]);
			show_text("after", side1, n);
		}
	}
	printf("# final rdma.max:\n");
	show_text("", before_max, bl);
	printf("seed=%" PRIu64 " writes=%lu accepted=%lu rejected=%lu (EINVAL %lu, ENODEV %lu, E2BIG %lu, other %lu) failures=%lu seconds=%.1f rate=%.0f/s\n",
	       seed, it, acc, rej, rej_by[0], rej_by[1], rej_by[2], rej_by[3],
	       failures,
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	       it / ((t1.tv_sec - t0.tv_sec) +
		     (t1.tv_nsec - t0.tv_nsec) / 1e9 + 1e-9));
	return failures ? 1 : 0;
}

/* ---- other files ---- */

static int fuzz_file(const char *path, unsigned long count, uint64_t seed,
		     char **tok, int ntok)
{
	static const char *const dict[] = {
		"0", "1", "Y", "N", "y", "n", "yes", "no", "on", "off", "true",
		"false", "2", "-1", "", "\n", " ", "\0", "\r", "0x1", "11", "YES",
		"req", "sidr", "127.0.0.1", "::1", "0", "0xffffffffffffffff",
	};
	int wfd = open(path, O_WRONLY), rfd = open(path, O_RDONLY);
	unsigned long it, acc = 0, rej = 0;
	static struct sbuf in;
	struct timespec t0, t1;
	ssize_t bl, al;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (wfd < 0) {
		fprintf(stderr, "max_fuzz: %s: %s\n", path, strerror(errno));
		return 2;
	}
	bl = rfd < 0 ? 0 : read_all(rfd, before_max, RD);
	if (bl < 0)
		bl = 0;
	for (it = 0; it < count; it++) {
		int i, n = 1 + rn(4);
		ssize_t w;

		in.n = 0;
		for (i = 0; i < n; i++) {
			if (i)
				sputs(&in, coin(4) ? "\n" : " ");
			if (ntok && coin(2)) {
				sputs(&in, tok[rn(ntok)]);
			} else {
				const char *t = dict[rn(sizeof(dict) /
							sizeof(dict[0]))];

				sput(&in, t, strlen(t) ? strlen(t) : 1);
			}
		}
		if (coin(2))
			sputs(&in, "\n");
		if (coin(3))
			mutate(&in);
		if (coin(50)) {		/* long input */
			size_t len = PAGE - 2 + rn(PAGE);

			memset(in.b + in.n, coin(2) ? '1' : ' ',
			       len > in.n ? len - in.n : 0);
			in.n = len > in.n ? len : in.n;
		}
		w = write(wfd, in.b, in.n);
		al = rfd < 0 ? 0 : read_all(rfd, after_max, RD);
		if (al < 0)
			al = 0;
		if (w < 0) {
			rej++;
			if ((al != bl || memcmp(before_max, after_max, al)) &&
			    report(it)) {
				printf("#   rejected write (%s) changed %s\n",
				       strerror(errno), path);
				hexdump("input", in.b, in.n);
				show_text("before", before_max, bl);
				show_text("after", after_max, al);
			}
		} else {
			acc++;
		}
		memcpy(before_max, after_max, al);
		bl = al;
		if (failures > 100)
			break;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("seed=%" PRIu64 " writes=%lu accepted=%lu rejected=%lu failures=%lu seconds=%.1f\n",
	       seed, it, acc, rej, failures,
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	unsigned long count;
	uint64_t seed;
	int i;

	if (argc < 4) {
		fprintf(stderr,
			"usage: max_fuzz <cgroup> <count> <seed> <dev>:<index>...\n"
			"       max_fuzz -f <file> <count> <seed> [token...]\n");
		return 2;
	}
	before_max = malloc(RD);
	after_max = malloc(RD);
	side0 = malloc(RD);
	side1 = malloc(RD);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[1], "-f")) {
		if (argc < 5)
			return 2;
		count = strtoul(argv[3], NULL, 0);
		seed = strtoull(argv[4], NULL, 0);
		rng_state = seed ? seed : 1;
	the_seed = seed;
		return fuzz_file(argv[2], count, seed, argv + 5, argc - 5);
	}
	count = strtoul(argv[2], NULL, 0);
	seed = strtoull(argv[3], NULL, 0);
	rng_state = seed ? seed : 1;
	the_seed = seed;
	for (i = 4; i < argc && ndev < MAXDEV; i++) {
		char *colon = strrchr(argv[i], ':');
		int k;

		if (!colon || colon - argv[i] > NAME_MAX_LEN)
			return 2;
		memcpy(devs[ndev].name, argv[i], colon - argv[i]);
		devs[ndev].index = strtoul(colon + 1, NULL, 0);
		for (k = 0; k < NR_RES; k++)
			devs[ndev].lim[k] = U64MAX;
		devs[ndev].sl = 0xffff;
		devs[ndev].up = 0xff;
		ndev++;
	}
	return fuzz_max(argv[1], count, seed);
}
