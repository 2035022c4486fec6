/* mem.c — growable arrays */
#include <stdint.h>
#include <stdlib.h>

#include "evc.h"

int
evc_grow(void **p, size_t *cap, size_t need, size_t elsize)
{
	if (need <= *cap)
		return 0;
	size_t nc = *cap ? *cap : 64;
	while (nc < need)
		nc *= 2;
	if (nc > SIZE_MAX / elsize)
		return EVC_ENOMEM;
	void *q = realloc(*p, nc * elsize);
	if (q == NULL)
		return EVC_ENOMEM;
	*p = q;
	*cap = nc;
	return 0;
}
