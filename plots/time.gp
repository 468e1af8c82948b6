# plots/time.gp — time of one derivative against the problem size, log-log,
# one line per backend (the median of the repetitions; with bars=1 also
# min..max bars), the fitted slope in each legend entry.
#
#   gnuplot -e "datafile='out/data/time_rosenbrock.dat'; outfile='time.png'; fmt='png'" plots/time.gp
#
# Variables: datafile (required); fmt 'png' | 'svg' | 'dumb' (default png);
# outfile; title; xlabel (default 'size n'); lts (linetype of each block,
# e.g. '3 1 4'); bars (1: min..max bars; default 0); cols, rows (dumb);
# nseries, skipped, xmin, xmax, ymin, ymax, keylen (plots/series.gp).
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

set title title noenhanced
set xlabel xlabel noenhanced
set ylabel 'seconds (median of the repetitions)'
set format x '%.0s%c'
set format y '%.0s %cs'

if (!exists("bars")) bars = 0
if (!is_dumb && bars) { series_using = '1:2:3:4'; series_style = 'yerrorlines' }
load scriptdir.'series.gp'
