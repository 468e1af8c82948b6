/* cli/cmd_data.c — adscope data: a CSV file made into a tensor (D2L 2.2,
 * data preprocessing) through the library's tables (adscope/data.h):
 * missing values filled, categorical columns one-hot encoded, the tensor
 * printed with its column names. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define CMD "data"

static const char HELP[] =
    "NAME\n"
    "    adscope data - read a CSV file into a tensor (data preprocessing)\n"
    "\n"
    "SYNOPSIS\n"
    "    adscope data FILE.csv [--fillna mean|VALUE] [--one-hot] [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "    Reads FILE.csv (RFC 4180; the first line names the columns), fills its\n"
    "    missing values, encodes its categorical columns and prints the table as a\n"
    "    [rows, columns] tensor with the names of its columns: pandas' read_csv,\n"
    "    fillna, get_dummies(dummy_na=True) and torch.tensor(df.values).\n"
    "\n"
    "    A field that is empty, NA, N/A, NaN or nan is missing.  A column whose\n"
    "    present values are all numbers is numeric; any other is categorical.\n"
    "    Without --fillna a missing number is an error, and without --one-hot a\n"
    "    categorical column is: both errors name the column and the row (counted\n"
    "    from 0 after the header) with its line in the file.\n"
    "\n"
    "OPTIONS\n"
    "    --fillna mean|VALUE  fill the missing values of numeric columns with the\n"
    "                         mean of the column's other values, or with VALUE.\n"
    "    --one-hot            replace each categorical column C by one 0/1 column\n"
    "                         C_V per value V (sorted) and C_nan marking missing\n"
    "                         values, after the numeric columns (get_dummies).\n"
    "    --json               {\"file\": F, \"columns\": [names], \"shape\": [rows, cols],\n"
    "                         \"tensor\": [[...]]}.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 success; 2 usage or input error (unreadable file, malformed CSV, a row\n"
    "    with the wrong number of fields, a missing or categorical value left).\n"
    "\n"
    "EXAMPLES\n"
    "    adscope data examples/data/house_tiny.csv --fillna mean --one-hot\n"
    "        columns = ['NumRooms', 'Price', 'Alley_Pave', 'Alley_nan']\n"
    "        X = tensor([[3.0000e+00, 1.2750e+05, 1.0000e+00, 0.0000e+00],\n"
    "                    ...\n"
    "    adscope data measurements.csv --fillna 0 --json\n";

static const cli_opt OPTS[] = {{"fillna", CLI_VALUE, "mean|VALUE"}, {"one-hot", CLI_FLAG, NULL},
                               {"json", CLI_FLAG, NULL}, {"help", CLI_FLAG, NULL}};

typedef struct {
    bool fill, mean, one_hot, json;
    double value;
} data_opts;

static int options(const cli_args *a, void *opts)
{
    data_opts *d = opts;
    if (a->npos != 1) {
        fprintf(stderr, "adscope %s: %s (usage: adscope data FILE.csv [--fillna mean|VALUE] [--one-hot] [--json])\n",
                CMD, a->npos == 0 ? "missing FILE.csv" : "one file at a time");
        return CLI_USAGE;
    }
    const char *fill = cli_get(a, "fillna");
    d->fill = fill != NULL;
    d->mean = fill && strcmp(fill, "mean") == 0;
    if (fill && !d->mean) {
        char *end;
        d->value = strtod(fill, &end);
        if (end == fill || *end || !isfinite(d->value)) {
            fprintf(stderr, "adscope %s: --fillna '%s' is neither 'mean' nor a finite number\n", CMD, fill);
            return CLI_USAGE;
        }
    }
    d->one_hot = cli_has(a, "one-hot");
    d->json = cli_has(a, "json");
    return CLI_OK;
}

/* The table of the file, filled and encoded as asked; NULL with the error
 * in the context. */
static ad_frame *load(ad_ctx *ctx, const char *path, const data_opts *d)
{
    ad_frame *f = ad_frame_read_csv(ctx, path);
    int rc = f ? AD_OK : AD_EINVAL;
    if (rc == AD_OK && d->fill) rc = d->mean ? ad_frame_fillna_mean(f) : ad_frame_fillna(f, d->value);
    if (rc == AD_OK && d->one_hot) {
        ad_frame *g = ad_frame_get_dummies(f, true);
        ad_frame_free(f);
        f = g;
        rc = g ? AD_OK : AD_EINVAL;
    }
    if (rc == AD_OK) return f;
    ad_frame_free(f);
    return NULL;
}

static void print_json(const char *path, const ad_frame *f, ad_tensor *x)
{
    printf("{\"file\": ");
    cli_json_string(stdout, path);
    printf(", \"columns\": [");
    for (int j = 0; j < ad_frame_ncols(f); j++) {
        printf("%s", j ? ", " : "");
        cli_json_string(stdout, ad_frame_name(f, j));
    }
    printf("], \"shape\": [%lld, %d], \"tensor\": ", (long long)ad_frame_nrows(f), ad_frame_ncols(f));
    cli_json_tensor(stdout, x);
    printf("}\n");
}

static void print_text(const ad_frame *f, ad_tensor *x)
{
    printf("columns = [");
    for (int j = 0; j < ad_frame_ncols(f); j++) printf("%s'%s'", j ? ", " : "", ad_frame_name(f, j));
    printf("]\n");
    cli_print_tensor(stdout, "X = ", x);
}

static int run(cli_call *c)
{
    const data_opts *d = c->opts;
    const char *path = c->args->pos[0];
    ad_frame *f = load(c->ctx, path, d);
    ad_tensor *x = f ? ad_frame_tensor(f) : NULL;
    if (!x) {
        fprintf(stderr, "adscope %s: %s\n", CMD, ad_errmsg(c->ctx));
        if (f) fprintf(stderr, "  (--fillna mean|VALUE fills missing numbers; --one-hot encodes categorical columns)\n");
        ad_frame_free(f);
        return CLI_USAGE;
    }
    if (d->json) print_json(path, f, x);
    else print_text(f, x);
    ad_frame_free(f);
    return CLI_OK;
}

const cli_command cli_cmd_data = {
    .name = CMD,
    .summary = "read a CSV file into a tensor: fill missing values, one-hot encode (D2L 2.2)",
    .help = HELP,
    .opts = OPTS,
    .nopts = CLI_NOPTS(OPTS),
    .needs = CLI_NEEDS_CTX,
    .opts_size = sizeof(data_opts),
    .options = options,
    .run = run,
};
