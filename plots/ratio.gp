# plots/ratio.gp — the cost ratio T_grad / T_f (time of one derivative over
# the time of one plain evaluation of f) against the problem size, log-log,
# one line per backend.  The cheap-gradient principle: reverse mode stays
# near a small constant while forward mode and differences grow like n.
#
#   gnuplot -e "datafile='out/data/ratio_rosenbrock.dat'; outfile='ratio.png'; fmt='png'" plots/ratio.gp
#
# Variables: datafile (required); fmt 'png' | 'svg' | 'dumb' (default png);
# outfile; title; xlabel (default 'size n'); lts; cols, rows (dumb); nseries,
# skipped, xmin, xmax, ymin, ymax, keylen (plots/series.gp).
# datafile: one block per backend (two blank lines between blocks), its
# first line the legend entry in double quotes, then rows
#     size  t_grad_median / t_f_median

scriptdir = ''
do for [i = strlen(ARG0):1:-1] { if (scriptdir eq '' && ARG0[i:i] eq '/') { scriptdir = ARG0[1:i] } }
load scriptdir.'style.gp'

if (!exists("datafile")) { print "ratio.gp: set datafile='...'"; exit status 2 }
if (!exists("title")) title = 'cost ratio T_grad / T_f vs size'
if (!exists("xlabel")) xlabel = 'size n'

set title title noenhanced
set xlabel xlabel noenhanced
set ylabel 'T_grad / T_f (evaluations of f)' noenhanced
set format x '%.0s%c'
# every label alike: 1, 10, ..., 1k, 1M as on the x axis when the ratios are
# at least 1 ('%g' wrote 1e+06 among plain numbers); below 1, plain numbers
# for a narrow range and powers of ten for a wide one (only decades then)
if (!exists("ymin")) { stats datafile using 2 nooutput; ymin = STATS_min; ymax = STATS_max }
if (ymin >= 1) {
    set format y '%.0s%c'
} else {
    if (ymax / ymin < 300) { set format y '%g' } else { set format y (is_dumb ? '1e%T' : '10^{%T}') }
}

load scriptdir.'series.gp'
