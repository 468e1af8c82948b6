/* tests/test_cli_bad_input.c — the reproductions of issue 12's crashes
 * and undefined behaviour, each as the user typed it: one row per command
 * line with the exit it must give (2 with a message, or 0 where the input
 * is legitimate, such as an empty tensor), a piece of stderr or stdout,
 * and what must not appear (a NaN for an empty comparison).  The faulty
 * plugins are tests/plugins/plugin_faulty.c.  A sanitizer build runs the
 * program under ASan and UBSan, so a report there fails the row too. */
#include <string.h>

#include "helpers.h"
#include "th_cli.h"
#include "th_params.h"

#define FAULTY ADSCOPE_BINARY_DIR "/plugin_faulty.so"
#define CSV_HEAD "function,backend,size,status,t_f_median,t_grad_median,peak_total\n"
#define CSV_ROWS(last) CSV_HEAD "expsin,reverse,100,ok,1e-5,2e-5,800\nexpsin,reverse,1000,ok,1e-4,2e-4,900\n" \
                                "expsin,reverse," last ",ok,1e-3,2e-3,1000\n"
#define X12 "x=reshape(arange(2),1,1,1,1,1,1,1,1,1,1,1,2)"
#define Y12 "reshape(sum(x),1,1,1,1,1,1,1,1,1,1,1,1)"

typedef struct {
    const char *args[16]; /* "@CSV" is replaced by the file holding csv, "@OUT" by a path to write */
    int exit;
    const char *err;      /* in stderr (exit 2) */
    const char *out;      /* in stdout (exit 0) */
    const char *not_out;  /* never in stdout */
    const char *csv;
} bad_case;

static const bad_case CASES[] = {
    /* zero-element inputs: legitimate, an empty gradient (PyTorch) */
    {{"grad", "sum(x)", "--var", "x=zeros(0)", "--mode", "forward"}, 0, NULL, "x.grad = tensor([])"},
    {{"grad", "sum(x)", "--var", "x=zeros(0)", "--mode", "forward-vector"}, 0, NULL, "x.grad = tensor([])"},
    {{"grad", "sum(x)", "--var", "x=zeros(0)", "--mode", "central"}, 0, NULL, "x.grad = tensor([])"},
    {{"grad", "sum(x)", "--var", "x=zeros(0)", "--mode", "gsl-deriv"}, 0, NULL, "x.grad = tensor([])"},
    {{"grad", "sum(x)", "--var", "x=zeros(0)", "--mode", "reverse"}, 0, NULL, "x.grad = tensor([])"},
    {{"grad", "sum(x)", "--var", "x=zeros(0)", "--mode", "all"}, 0, NULL, "max |grad - ref| = 0", "nan"},
    {{"compare", "sum(x)", "--var", "x=zeros(0)", "--min-time", "0", "--reps", "1"}, 0, NULL, "forward-vector", "nan"},
    {{"jacobian", "x", "--var", "x=zeros(0)"}, 0, NULL, "d/dx = tensor([], size=(0, 0))"},
    {{"hessian", "sum(x)", "--var", "x=zeros(0)"}, 0, NULL, "H[x,x] = tensor([], size=(0, 0))"},
    {{"check", "sum(x)", "--var", "x=zeros(0)"}, 0, NULL, "reverse"},
    /* jacobian in auto mode when f fails */
    {{"jacobian", "x + [1,2,3]", "--var", "x=[1,2]"}, 2, "cannot broadcast"},
    {{"jacobian", "x[5]", "--var", "x=[1,2]"}, 2, "out of range"},
    {{"jacobian", "--plugin", FAULTY ":silent", "--var", "x=[1,2]"}, 2, "returned NULL without recording an error"},
    /* 12 axes: derivatives would need a 13th; refused, or by rows where none is needed */
    {{"grad", "sum(x)", "--var", X12}, 2, "12 axes cannot be differentiated"},
    {{"grad", "sum(x)", "--var", X12, "--mode", "central"}, 2, "reshape or flatten"},
    {{"jacobian", Y12, "--var", "x=[1,2,3]"}, 0, NULL, "d/dx = tensor([[1., 1., 1.]])"},
    {{"jacobian", Y12, "--var", "x=[1,2,3]", "--mode", "central"}, 2, "12 axes cannot be differentiated"},
    {{"jacobian", Y12, "--var", "x=[1,2,3]", "--mode", "five-point"}, 2, "12 axes cannot be differentiated"},
    {{"jacobian", Y12, "--var", "x=[1,2,3]", "--mode", "gsl-deriv"}, 2, "12 axes cannot be differentiated"},
    {{"jacobian", Y12, "--var", "x=[1,2,3]", "--mode", "forward"}, 2, "12 axes"},
    /* plugins breaking the contract */
    {{"grad", "--plugin", FAULTY ":twice", "--var", "x=[1,2]"}, 2, "declares its input 'x' twice"},
    {{"grad", "--plugin", FAULTY ":foreign", "--var", "x=[1,2]"}, 2, "another context"},
    {{"check", "--plugin", FAULTY ":foreign", "--var", "x=[1,2]"}, 2, "another context"},
    {{"graph", "--plugin", FAULTY ":foreign", "--var", "x=[1,2]"}, 2, "another context"},
    {{"grad", "--plugin", FAULTY ":silent", "--var", "x=[1,2]"}, 2, "returned NULL without recording an error"},
    {{"check", "--plugin", FAULTY ":silent", "--var", "x=[1,2]"}, 2, "returned NULL without recording an error"},
    /* sizes that do not fit an integer */
    {{"merge", "@CSV", "-o", "@OUT"}, 2, "size '1e300' is not a size", NULL, NULL, CSV_ROWS("1e300")},
    {{"merge", "@CSV", "-o", "@OUT"}, 2, "size 'inf' is not a size", NULL, NULL, CSV_ROWS("inf")},
    {{"merge", "@CSV", "-o", "@OUT"}, 2, "size '-1' is not a size", NULL, NULL, CSV_ROWS("-1")},
    {{"plot", "@CSV", "--out", "@OUT"}, 2, "size '1e300' must be a positive number", NULL, NULL, CSV_ROWS("1e300")},
    {{"plot", "@CSV", "--out", "@OUT"}, 2, "size 'inf'", NULL, NULL, CSV_ROWS("inf")},
    /* an empty shape whose other axes multiply past INT64_MAX */
    {{"grad", "sum(x)", "--var", "x=zeros(100000,10100000,100000,0,10000,1000)"}, 0, NULL,
     "x.grad = tensor([], size=(100000, 10100000, 100000, 0, 10000, 1000))"},
    {{"grad", "sum(x)", "--var", "x=zeros(0,1e10,1e10)"}, 0, NULL, "x.grad = tensor([], size=(0, 10000000000"},
};

ParameterizedTestParameters(cli_bad_input, each_reproduction) { TH_INDEX_PARAMS(TH_NELEMS(CASES)); }

ParameterizedTest(int *i, cli_bad_input, each_reproduction, .fini = th_tmp_remove,
                  .description = "exit 2 with the message, or 0 with the right output; never a crash or a "
                                 "sanitizer report")
{
    const bad_case *c = &CASES[*i];
    const char *argv[17] = {0};
    for (int a = 0; a < 16 && c->args[a]; a++) {
        argv[a] = c->args[a];
        if (strcmp(argv[a], "@CSV") == 0) {
            argv[a] = th_tmp_path("in.csv");
            FILE *f = fopen(argv[a], "w");
            cr_assert_not_null(f);
            fputs(c->csv, f);
            fclose(f);
        }
        if (strcmp(argv[a], "@OUT") == 0) argv[a] = th_tmp_path("out");
    }
    result *r = run_argv(argv);
    cr_expect_eq(r->status, c->exit, "case %d (%s %s): exit %d\nstderr: %s", *i, argv[0], argv[1], r->status, r->err);
    if (c->err) expect_err(r, c->err);
    if (c->out) expect_out(r, c->out);
    if (c->not_out) cr_expect_null(strstr(r->out, c->not_out), "case %d: '%s' in stdout:\n%s", *i, c->not_out, r->out);
    cr_expect_null(strstr(r->err, "runtime error"), "case %d: UBSan:\n%s", *i, r->err);
    cr_expect_null(strstr(r->err, "Sanitizer"), "case %d: ASan:\n%s", *i, r->err);
    if (c->exit == 2) cr_expect_gt(strlen(r->err), strlen("adscope x: ") + 10, "case %d: a message", *i);
}
