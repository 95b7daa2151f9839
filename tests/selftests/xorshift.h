/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small seeded pseudo-random generator (xorshift64*) for the selftest
 * helpers, so that a printed seed replays a run.
 */
#ifndef RDMAISO_XORSHIFT_H
#define RDMAISO_XORSHIFT_H

#include <stdint.h>

/* The state; never 0 (set it from the seed, 1 if the seed is 0). */
static uint64_t rng_state = 1;

static inline uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

#endif /* RDMAISO_XORSHIFT_H */
