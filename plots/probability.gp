# plots/probability.gp — the law of large numbers on a fair die (D2L 2.6):
# the estimated probability of each face after each group of draws, and
# 1/faces dashed.
#
#   gnuplot -e "datafile='probability.dat'; outfile='probability.png'; fmt='png'" plots/probability.gp
#
# Variables: datafile (required); fmt 'png' | 'svg' | 'dumb' (default png);
# outfile; title; faces (the number of face blocks, default 6); groups (the
# last group: the x range is [1, groups]); cols, rows (dumb).
# datafile (written by adscope dice next to its chart): one block per face,
# then the reference, separated by two blank lines, each starting with its
# legend in double quotes:
#   0 .. faces-1: group, estimated probability of the face after it
#   faces:        the two ends of the line y = 1/faces

scriptdir = ''
do for [i = strlen(ARG0):1:-1] { if (scriptdir eq '' && ARG0[i:i] eq '/') { scriptdir = ARG0[1:i] } }
load scriptdir.'style.gp'

if (!exists("datafile")) { print "probability.gp: set datafile='...'"; exit status 2 }
if (!exists("title")) title = 'Estimated probabilities of a fair die'
if (!exists("faces")) faces = 6

set title title noenhanced
set xlabel 'groups of experiments' noenhanced
if (!is_dumb) { set ylabel 'estimated probability' noenhanced }
if (exists("groups")) { set xrange [1:groups] }
set format y '%.2f'
set key autotitle columnheader
# one row of entries under the plot (key_below of style.gp leaves room for several)
set key below center horizontal Left reverse width 1
set bmargin 6.5

plot for [i = 0:faces - 1] datafile index i using 1:2 with lines lt (i % 8) + 1 lw 1.6 title columnheader(1) noenhanced, \
     datafile index faces using 1:2 with lines lt 7 lw 2 dt 2 title columnheader(1) noenhanced
