# plots/memory.gp — peak memory of one derivative (bytes above what was live
# before the call: values + tangents + tape + bookkeeping) against the
# problem size (or the chain length k), log-log, one line per backend with
# the fitted slope in each legend entry.
#
#   gnuplot -e "datafile='out/data/memory_chain.dat'; outfile='memory_chain.png'; fmt='png'" plots/memory.gp
#
# Variables: datafile (required); fmt 'png' | 'svg' | 'dumb' (default png);
# outfile; title; xlabel (default 'size n'); lts; nseries; cols, rows (dumb).
# datafile: one block per backend (two blank lines between blocks), its
# first line the legend entry in double quotes, then rows
#     size  peak_total_bytes

scriptdir = ''
do for [i = strlen(ARG0):1:-1] { if (scriptdir eq '' && ARG0[i:i] eq '/') { scriptdir = ARG0[1:i] } }
load scriptdir.'style.gp'

if (!exists("datafile")) { print "memory.gp: set datafile='...'"; exit status 2 }
if (!exists("title")) title = 'peak memory of one derivative vs size'
if (!exists("xlabel")) xlabel = 'size n'
if (!exists("nseries")) { stats datafile every ::1 using 1 nooutput; nseries = STATS_blocks }

set title title noenhanced
set xlabel xlabel noenhanced
set ylabel 'peak bytes above the start (B)'
set logscale xy
set format x '%.0s%c'
set format y '%.0s %cB'
set offsets graph 0.02, graph 0.02, 0, 0
if (is_dumb) {
    set key inside left top vertical Left reverse
} else {
    eval key_below(nseries)
}

plot for [i = 0:nseries - 1] datafile index i using 1:2 with linespoints lt lt_of(i) title columnheader(1) noenhanced
