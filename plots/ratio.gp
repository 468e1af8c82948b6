# plots/ratio.gp — the cost ratio T_grad / T_f (time of one derivative over
# the time of one plain evaluation of f) against the problem size, log-log,
# one line per backend.  The cheap-gradient principle: reverse mode stays
# near a small constant while forward mode and differences grow like n.
#
#   gnuplot -e "datafile='out/data/ratio_rosenbrock.dat'; outfile='ratio.png'; fmt='png'" plots/ratio.gp
#
# Variables: datafile (required); fmt 'png' | 'svg' | 'dumb' (default png);
# outfile; title; xlabel (default 'size n'); lts; nseries; cols, rows (dumb).
# datafile: one block per backend (two blank lines between blocks), its
# first line the legend entry in double quotes, then rows
#     size  t_grad_median / t_f_median

scriptdir = ''
do for [i = strlen(ARG0):1:-1] { if (scriptdir eq '' && ARG0[i:i] eq '/') { scriptdir = ARG0[1:i] } }
load scriptdir.'style.gp'

if (!exists("datafile")) { print "ratio.gp: set datafile='...'"; exit status 2 }
if (!exists("title")) title = 'cost ratio T_grad / T_f vs size'
if (!exists("xlabel")) xlabel = 'size n'
if (!exists("nseries")) { stats datafile every ::1 using 1 nooutput; nseries = STATS_blocks }

set title title noenhanced
set xlabel xlabel noenhanced
set ylabel 'T_grad / T_f (evaluations of f)' noenhanced
set logscale xy
set format x '%.0s%c'
set format y '%g'
set offsets graph 0.02, graph 0.02, 0, 0
if (is_dumb) {
    set key inside left top vertical Left reverse
} else {
    eval key_below(nseries)
}

plot for [i = 0:nseries - 1] datafile index i using 1:2 with linespoints lt lt_of(i) title columnheader(1) noenhanced
