/* bench/gradbench/protocol.h — the GradBench protocol, tool side: JSON lines
 * from the eval on one stream, one answer line per message on the other.
 *
 *   {"id": 0, "kind": "start"}          -> {"id": 0, "tool": "adscope", "config": {"backend": ...}}
 *   {"id": 1, "kind": "define", ...}    -> {"id": 1, "success": true} or false with an "error"
 *   {"id": 2, "kind": "evaluate", ...}  -> {"id": 2, "success": true, "output": ..., "timings": [...]}
 *   anything else with an id            -> {"id": N}
 *   {"kind": "end"}                     -> no answer; the session is over
 *
 * An evaluate runs the function min_runs times and until min_seconds have
 * passed (whichever is longer), one "evaluate" timing per run, after one
 * "prepare" timing (parsing the input).  A malformed message (no id, no
 * kind, an unknown module or function, a bad input) gets success: false and
 * an error naming what was wrong; only a line that is not JSON at all ends
 * the session (exit status 2), since it has no id to answer. */
#ifndef ADSCOPE_GB_PROTOCOL_H
#define ADSCOPE_GB_PROTOCOL_H

#include <stdbool.h>
#include <stdio.h>

#include "gradbench.h"

/* Limits on what one evaluate may ask, so that a bad message cannot make
 * the tool run for ever. */
#define GB_MAX_RUNS 1000000
#define GB_MAX_SECONDS 3600.0

typedef struct gb_session {
    const ad_backend *backend; /* the derivatives' backend (--mode) */
    ad_options opts;           /* --width, --h */
} gb_session;

/* The answer to one message (a new reference), or NULL when none is due
 * (*end set for "end").  Never fails for a bad message: the answer says so. */
json_t *gb_respond(ad_ctx *ctx, const gb_session *s, const json_t *msg, bool *end);

/* Serves messages from in until EOF or "end", each answer one compact line
 * on out, flushed.  Returns 0 at a clean end, 2 when a line is not JSON or
 * an answer cannot be written (the reason printed on err). */
int gb_serve(ad_ctx *ctx, const gb_session *s, FILE *in, FILE *out, FILE *err);

#endif
