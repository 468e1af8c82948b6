/* tests/th_graph.h — what the tests read of a recorded graph (internal:
 * these tests link the static library and see the tape's layout). */
#ifndef ADSCOPE_TH_GRAPH_H
#define ADSCOPE_TH_GRAPH_H

#include "ops/op.h"
#include "tape.h"

/* Whether the graph behind y holds a record of op opid.  Iterative, with a
 * bounded stack: the graphs of the tests are small. */
static inline bool th_graph_has(const ad_tensor *y, int opid)
{
    ad_node *stack[256];
    int n = 0;
    if (y && y->grad_fn) stack[n++] = y->grad_fn;
    while (n > 0) {
        ad_node *node = stack[--n];
        if (node->op == &ad_ops[opid]) return true;
        for (int i = 0; i < node->nin && n < 256; i++)
            if (node->edges[i].node) stack[n++] = node->edges[i].node;
    }
    return false;
}

#endif
