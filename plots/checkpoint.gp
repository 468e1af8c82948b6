# plots/checkpoint.gp — checkpointed reverse mode against its snapshot
# budget: peak tape+values bytes (left axis, log) and the time of a
# gradient (right axis) of reverse-checkpoint, with plain reverse mode's
# memory and time as dashed lines of the same colours.
#
#   gnuplot -e "datafile='checkpoint.dat'; outfile='checkpoint.png'; fmt='png'" plots/checkpoint.gp
#
# Variables: datafile (required); fmt 'png' | 'svg' | 'dumb' (default png);
# outfile; title; cols, rows (dumb).
# datafile (written by adscope checkpoint next to its chart), two blocks
# separated by two blank lines, each headed by a legend line:
#   0: rows  snaps  memory_MB  time_ms  forward_steps   (reverse-checkpoint)
#   1: two rows  snaps  memory_MB  time_ms  steps       (plain reverse, flat)

scriptdir = ''
do for [i = strlen(ARG0):1:-1] { if (scriptdir eq '' && ARG0[i:i] eq '/') { scriptdir = ARG0[1:i] } }
load scriptdir.'style.gp'

if (!exists("datafile")) { print "checkpoint.gp: set datafile='...'"; exit status 2 }
if (!exists("title")) title = 'checkpointed reverse mode: memory and time vs snapshots'

set title title noenhanced
set xlabel 'snapshot budget (states stored)'
set ylabel 'peak tape + values (MB)'
set y2label 'time of a gradient (ms)'
set logscale x
set logscale y
set ytics nomirror
set y2tics
set y2range [0:*]
set key autotitle columnheader
if (is_dumb) { set key below left vertical Left reverse } else { set key outside below center horizontal; set bmargin 7 }

plot datafile index 0 using 1:2 with linespoints lc rgb '#D55E00' pt 9 lw 2 title 'memory: reverse-checkpoint', \
     datafile index 1 using 1:2 with lines lc rgb '#D55E00' dt 2 lw 2 title 'memory: reverse (tapes every step)', \
     datafile index 0 using 1:3 axes x1y2 with linespoints lc rgb '#0072B2' pt 7 lw 2 title 'time: reverse-checkpoint', \
     datafile index 1 using 1:3 axes x1y2 with lines lc rgb '#0072B2' dt 2 lw 2 title 'time: reverse'
