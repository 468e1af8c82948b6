# plots/memory.gp — peak memory of one derivative (bytes above what was live
# before the call: values + tangents + tape + bookkeeping) against the
# problem size (or the chain length k), log-log, one line per backend with
# the fitted slope in each legend entry.
#
#   gnuplot -e "datafile='out/data/memory_chain.dat'; outfile='memory_chain.png'; fmt='png'" plots/memory.gp
#
# Variables: datafile (required); fmt 'png' | 'svg' | 'dumb' (default png);
# outfile; title; xlabel (default 'size n'); lts; cols, rows (dumb); nseries,
# skipped, xmin, xmax, ymin, ymax, keylen (plots/series.gp).
# datafile: one block per backend (two blank lines between blocks), its
# first line the legend entry in double quotes, then rows
#     size  peak_total_bytes

scriptdir = ''
do for [i = strlen(ARG0):1:-1] { if (scriptdir eq '' && ARG0[i:i] eq '/') { scriptdir = ARG0[1:i] } }
load scriptdir.'style.gp'

if (!exists("datafile")) { print "memory.gp: set datafile='...'"; exit status 2 }
if (!exists("title")) title = 'peak memory of one derivative vs size'
if (!exists("xlabel")) xlabel = 'size n'

set title title noenhanced
set xlabel xlabel noenhanced
set ylabel 'peak bytes above the start (B)'
set format x '%.0s%c'
set format y '%.0s %cB'

load scriptdir.'series.gp'
