/* Rows of a kernel's work cut into parts, one per core, run by helper threads that live in
 * C (``parallel.c``): a hand-off costs a few microseconds, where Python's threads cost tens
 * to a hundred (``accel/threads.py``'s ``in_parts``). */

#ifndef VISIONGRAD_PARALLEL_H
#define VISIONGRAD_PARALLEL_H

#include <stddef.h>

/* The work on rows [start, stop), as part ``part`` of ``parts``. */
typedef void (*rows_work)(void *context, ptrdiff_t start, ptrdiff_t stop, int part);

/* Run ``work`` over ``rows`` rows in ``parts`` contiguous parts (at most MAX_PARTS), part 0
 * on the calling thread, and return when every part is done. */
void parallel_rows(rows_work work, void *context, ptrdiff_t rows, int parts);

#define MAX_PARTS 64

#endif
