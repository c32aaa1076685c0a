/*
 * attempt limits per client address: a token bucket per address in a
 * bounded table (open addressing over a short probe window; a full window
 * gives the least recently seen address's place up), so no address list
 * grows with what an attacker sends. In memory: each server its own.
 */
#include "iss.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 4096
#define PROBE 16
#define KEY_MAX 64

typedef struct slot {
	char key[KEY_MAX];	/* "" free */
	double tokens;
	int64_t last;		/* when tokens was computed */
} slot;

struct iss_limiter {
	pthread_mutex_t mu;
	unsigned burst;
	unsigned period;
	slot s[SLOTS];
};

int
iss_limiter_new(unsigned burst, unsigned period, iss_limiter **out)
{
	iss_limiter *l;

	*out = NULL;
	if (burst == 0 || period == 0 || (l = calloc(1, sizeof(*l))) == NULL)
		return -1;
	if (pthread_mutex_init(&l->mu, NULL) != 0) {
		free(l);
		return -1;
	}
	l->burst = burst;
	l->period = period;
	*out = l;
	return 0;
}

void
iss_limiter_free(iss_limiter **lp)
{
	iss_limiter *l = *lp;

	if (l == NULL)
		return;
	pthread_mutex_destroy(&l->mu);
	free(l);
	*lp = NULL;
}

static uint32_t
fnv(const char *k)
{
	uint32_t h = 2166136261u;

	for (; *k != '\0'; k++)
		h = (h ^ (uint8_t)*k) * 16777619u;
	return h;
}

/* the key's slot, made (full) when new; NULL for an empty key */
static slot *
find(iss_limiter *l, const char *key, int64_t now)
{
	uint32_t h = fnv(key);
	slot *empty = NULL, *oldest = NULL, *victim, *s;

	if (key[0] == '\0' || strlen(key) >= KEY_MAX)
		return NULL;
	for (unsigned i = 0; i < PROBE; i++) {
		s = &l->s[(h + i) % SLOTS];
		if (strcmp(s->key, key) == 0)
			return s;
		if (s->key[0] == '\0') {
			if (empty == NULL)
				empty = s;
		} else if (oldest == NULL || s->last < oldest->last) {
			oldest = s;
		}
	}
	victim = empty != NULL ? empty : oldest;
	memset(victim, 0, sizeof(*victim));
	memcpy(victim->key, key, strlen(key) + 1);
	victim->tokens = l->burst;
	victim->last = now;
	return victim;
}

static void
refill(const iss_limiter *l, slot *s, int64_t now)
{
	if (now > s->last) {
		s->tokens += (double)(now - s->last) / l->period;
		if (s->tokens > l->burst)
			s->tokens = l->burst;
	}
	s->last = now;
}

int64_t
iss_limiter_take(iss_limiter *l, const char *key, int64_t now)
{
	int64_t wait = 0;
	slot *s;

	if (l == NULL || key == NULL)
		return 0;
	pthread_mutex_lock(&l->mu);
	if ((s = find(l, key, now)) != NULL) {
		refill(l, s, now);
		if (s->tokens >= 1.0)
			s->tokens -= 1.0;
		else
			wait = (int64_t)((1.0 - s->tokens) * l->period) + 1;
	}
	pthread_mutex_unlock(&l->mu);
	return wait;
}

void
iss_limiter_give(iss_limiter *l, const char *key, int64_t now)
{
	slot *s;

	if (l == NULL || key == NULL)
		return;
	pthread_mutex_lock(&l->mu);
	if ((s = find(l, key, now)) != NULL) {
		refill(l, s, now);
		if (s->tokens + 1.0 <= l->burst)
			s->tokens += 1.0;
	}
	pthread_mutex_unlock(&l->mu);
}
