# plots/time.gp — time of one derivative against the problem size, log-log,
# one line per backend (the median of the repetitions; with bars=1 also
# min..max bars), the fitted slope in each legend entry.
#
#   gnuplot -e "datafile='out/data/time_rosenbrock.dat'; outfile='time.png'; fmt='png'" plots/time.gp
#
# Variables: datafile (required); fmt 'png' | 'svg' | 'dumb' (default png);
# outfile; title; xlabel (default 'size n'); lts (linetype of each block,
# e.g. '3 1 4'); nseries (blocks; counted when not given); bars (1: min..max
# bars; default 0); cols, rows (dumb).
# datafile: one block per backend, blocks separated by two blank lines; the
# first line of a block is its legend entry in double quotes, then rows
#     size  t_median  t_min  t_max          (seconds)
# adscope plot writes these files (DIR/data/time_<function>.dat).

scriptdir = ''
do for [i = strlen(ARG0):1:-1] { if (scriptdir eq '' && ARG0[i:i] eq '/') { scriptdir = ARG0[1:i] } }
load scriptdir.'style.gp'

if (!exists("datafile")) { print "time.gp: set datafile='...'"; exit status 2 }
if (!exists("title")) title = 'time of one derivative vs size'
if (!exists("xlabel")) xlabel = 'size n'
if (!exists("nseries")) { stats datafile every ::1 using 1 nooutput; nseries = STATS_blocks }

set title title noenhanced
set xlabel xlabel noenhanced
set ylabel 'seconds (median of the repetitions)'
set logscale xy
set format x '%.0s%c'
set format y '%.0s %cs'
set offsets graph 0.02, graph 0.02, 0, 0
if (is_dumb) {
    set key inside left top vertical Left reverse
} else {
    eval key_below(nseries)
}

if (!exists("bars")) bars = 0
if (is_dumb || !bars) {
    plot for [i = 0:nseries - 1] datafile index i using 1:2 with linespoints lt lt_of(i) title columnheader(1) noenhanced
} else {
    plot for [i = 0:nseries - 1] datafile index i using 1:2:3:4 with yerrorlines lt lt_of(i) title columnheader(1) noenhanced
}
